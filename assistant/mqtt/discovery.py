"""Home Assistant MQTT discovery for the bridge (opt-in): one retained "device discovery" message.

Home Assistant's device-based discovery puts one HA device and all its entities in one config message on
`<discovery_prefix>/device/<object_id>/config`: `dev` (the device), `o` (origin: this app), `cmps` (a map of
components, each with `p` = platform and its own `unique_id`). The assistant, node id `node_id`, shows as:

- `binary_sensor` (connectivity) "Status": on/off from the bridge's retained `<prefix>/status` online/offline;
- `sensor` "Last answer": the last answer's text on `<prefix>/<node_id>/last_text` (at most 255 characters,
  HA's state limit; see `last_text_message`);
- `text` "Ask": a question typed in a dashboard or set by an automation goes to `<prefix>/<node_id>/ask`; the
  bridge answers it, and the answer shows in "Last answer";
- one `image` per exposed device id: that device's last generated image, the retained PNG the bridge
  publishes on `<prefix>/<device>/image`.

Availability (`<prefix>/status`) is set per component, on every one but the status entity, which stays
available to show "off". An empty retained payload on the same topic removes the device and its entities.
Home Assistant says `online` on `homeassistant/status` when it starts; the bridge then publishes the config
again (`birth_topic`), so a Home Assistant that lost its retained configs finds the assistant anyway.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

DISCOVERY_PREFIX = "homeassistant"
DEFAULT_NODE_ID = "nextgpt_live"
ORIGIN_URL = "https://github.com/NExT-GPT/NExT-GPT"
MAX_STATE = 255  # Home Assistant refuses sensor states longer than this
ONLINE = "online"
OFFLINE = "offline"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def object_id(name: str) -> str:
    """`name` as a Home Assistant object id / unique-id part: characters outside [a-zA-Z0-9_-] become `_`."""
    return _UNSAFE.sub("_", name) or "_"


def discovery_topic(node_id: str, discovery_prefix: str = DISCOVERY_PREFIX) -> str:
    """Where the device discovery config of assistant `node_id` is published."""
    return f"{discovery_prefix.strip('/')}/device/{object_id(node_id)}/config"


def birth_topic(discovery_prefix: str = DISCOVERY_PREFIX) -> str:
    """Where Home Assistant says `online` when it starts (its MQTT integration's birth message)."""
    return f"{discovery_prefix.strip('/')}/status"


def ask_topic(prefix: str, node_id: str) -> str:
    """The command topic of the "Ask" text entity: a question to answer."""
    return f"{prefix.strip('/')}/{node_id}/ask"


def last_text_topic(prefix: str, node_id: str) -> str:
    """The state topic of the "last answer" sensor."""
    return f"{prefix.strip('/')}/{node_id}/last_text"


def last_text_message(prefix: str, node_id: str, text: str) -> tuple[str, bytes, bool]:
    """The retained state message for the "last answer" sensor: the text cut to 255 characters."""
    return last_text_topic(prefix, node_id), text[:MAX_STATE].encode(), True


def discovery_config(prefix: str, node_id: str, devices: Sequence[str], version: str) -> dict[str, Any]:
    """The device discovery config (a JSON-able dict) of assistant `node_id`, exposing `devices`' images."""
    prefix = prefix.strip("/")
    node = object_id(node_id)
    status_topic = f"{prefix}/status"
    availability = {"availability_topic": status_topic, "payload_available": ONLINE,
                     "payload_not_available": OFFLINE}
    components: dict[str, dict[str, Any]] = {
        f"{node}_status": {
            "p": "binary_sensor",
            "unique_id": f"{node}_status",
            "name": "Status",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
            "state_topic": status_topic,
            "payload_on": ONLINE,
            "payload_off": OFFLINE,
        },
        f"{node}_last_text": {
            "p": "sensor",
            "unique_id": f"{node}_last_text",
            "name": "Last answer",
            "icon": "mdi:message-text",
            "state_topic": last_text_topic(prefix, node_id),
            **availability,
        },
        f"{node}_ask": {
            "p": "text",
            "unique_id": f"{node}_ask",
            "name": "Ask",
            "icon": "mdi:chat-question",
            "command_topic": ask_topic(prefix, node_id),
            "mode": "text",
            "max": MAX_STATE,
            **availability,
        },
    }
    for device in dict.fromkeys(devices):  # unique, in order
        key = f"{node}_image_{object_id(device)}"
        if key in components:
            raise ValueError(f"device ids {device!r} and another map to the same entity id {key!r}")
        components[key] = {
            "p": "image",
            "unique_id": key,
            "name": f"{device} last image",
            "image_topic": f"{prefix}/{device}/image",
            "content_type": "image/png",
            **availability,
        }
    return {
        "dev": {
            "identifiers": [node],
            "name": "NExT-GPT Live",
            "manufacturer": "NExT-GPT Live",
            "model": "any-to-any multimodal assistant",
            "sw_version": version,
        },
        "o": {"name": "nextgpt-live", "sw": version, "url": ORIGIN_URL},
        "cmps": components,
        "qos": 1,
    }


def discovery_messages(prefix: str, node_id: str, devices: list[str], version: str,
                       discovery_prefix: str = DISCOVERY_PREFIX) -> list[tuple[str, bytes, bool]]:
    """(topic, JSON payload, retain) to publish so Home Assistant discovers the assistant."""
    config = discovery_config(prefix, node_id, devices, version)
    return [(discovery_topic(node_id, discovery_prefix), json.dumps(config).encode(), True)]


def removal_messages(prefix: str, node_id: str, devices: list[str] | None = None, version: str = "",
                     discovery_prefix: str = DISCOVERY_PREFIX) -> list[tuple[str, bytes, bool]]:
    """(topic, empty payload, retain): Home Assistant removes the device and its entities, and the
    broker forgets the retained config. Same arguments as `discovery_messages` (only the topics matter)."""
    return [(topic, b"", True) for topic, _, _ in discovery_messages(prefix, node_id, devices or [], version,
                                                                       discovery_prefix)]
