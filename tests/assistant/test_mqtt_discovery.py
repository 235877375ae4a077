"""Home Assistant device discovery payloads: their keys, ids and topics, removal, and a retained round trip
through a real mosquitto."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from assistant.mqtt.discovery import (
    discovery_config,
    discovery_messages,
    last_text_message,
    object_id,
    removal_messages,
)

from .mqtt_broker import client, running_broker

DEVICES = ["kitchen", "frame", "hall/door"]


def _config() -> dict[str, Any]:
    [(topic, payload, retain)] = discovery_messages("nextgpt", "nextgpt_live", DEVICES, "0.1.0")
    assert topic == "homeassistant/device/nextgpt_live/config" and retain
    return json.loads(payload)


def test_the_device_and_origin_blocks_have_the_required_keys():
    config = _config()
    assert {"identifiers", "name", "manufacturer", "model", "sw_version"} <= set(config["dev"])
    assert config["dev"]["identifiers"] == ["nextgpt_live"] and config["dev"]["sw_version"] == "0.1.0"
    assert config["o"] == {"name": "nextgpt-live", "sw": "0.1.0", "url": config["o"]["url"]}
    assert config["o"]["url"].startswith("https://")


def test_each_component_has_its_platform_keys():
    components = _config()["cmps"]
    by_platform: dict[str, list[dict[str, Any]]] = {}
    for key, component in components.items():
        assert component["unique_id"] == key and component["name"]
        by_platform.setdefault(component["p"], []).append(component)
    [status] = by_platform["binary_sensor"]
    assert (status["state_topic"], status["payload_on"], status["payload_off"]) == ("nextgpt/status", "online",
                                                                                     "offline")
    assert status["device_class"] == "connectivity" and "availability_topic" not in status
    [last_text] = by_platform["sensor"]
    assert last_text["state_topic"] == "nextgpt/nextgpt_live/last_text"
    [ask] = by_platform["text"]
    assert (ask["name"], ask["command_topic"], ask["max"]) == ("Ask", "nextgpt/nextgpt_live/ask", 255)
    images = by_platform["image"]
    assert [i["image_topic"] for i in images] == [f"nextgpt/{d}/image" for d in DEVICES]
    assert {i["content_type"] for i in images} == {"image/png"}
    for component in [last_text, ask, *images]:
        assert (component["availability_topic"], component["payload_available"],
                component["payload_not_available"]) == ("nextgpt/status", "online", "offline")


def test_unique_ids_are_unique_and_safe():
    config = discovery_config("nextgpt", "nextgpt_live", [*DEVICES, "kitchen"], "0.1.0")
    ids = [c["unique_id"] for c in config["cmps"].values()]
    assert len(ids) == len(set(ids)) == 3 + len(DEVICES)  # the repeated device counted once
    assert all(object_id(i) == i for i in ids)
    other = discovery_config("nextgpt", "second node", DEVICES, "0.1.0")
    assert not set(ids) & {c["unique_id"] for c in other["cmps"].values()}  # two assistants do not collide


def test_device_ids_that_collide_once_made_safe_are_refused():
    with pytest.raises(ValueError):
        discovery_config("nextgpt", "n", ["a/b", "a+b"], "0.1.0")


def test_topics_follow_the_bridge_prefix():
    config = discovery_config("/home/ai/", "node", ["cam"], "1")
    topics = [v for c in config["cmps"].values() for k, v in c.items() if k.endswith("topic")]
    assert topics and all(t.startswith("home/ai/") for t in topics)


def test_removal_messages_are_empty_and_retained_on_the_same_topics():
    published = discovery_messages("nextgpt", "nextgpt_live", DEVICES, "0.1.0")
    removal = removal_messages("nextgpt", "nextgpt_live", DEVICES)
    assert [t for t, _, _ in removal] == [t for t, _, _ in published]
    assert all(payload == b"" and retain for _, payload, retain in removal)


def test_last_text_is_cut_to_255_characters():
    topic, payload, retain = last_text_message("nextgpt", "nextgpt_live", "é" * 300)
    assert topic == "nextgpt/nextgpt_live/last_text" and retain
    assert payload.decode() == "é" * 255


async def _retained(port: int, topic: str) -> list[bytes]:
    """The retained payloads on `topic` a new subscriber gets within a second."""
    got: list[bytes] = []
    async with client(port) as c:
        await c.subscribe(topic, qos=1)
        try:
            async with asyncio.timeout(1):
                async for message in c.messages:
                    assert message.retain
                    got.append(message.payload)
        except TimeoutError:
            pass
    return got


@pytest.mark.asyncio
async def test_published_configs_are_read_back_retained_and_removed_cleanly(tmp_path: Path):
    messages = discovery_messages("nextgpt", "nextgpt_live", DEVICES, "0.1.0")
    with running_broker(tmp_path) as broker:
        async with client(broker.port) as c:
            for topic, payload, retain in messages:
                await c.publish(topic, payload, qos=1, retain=retain)
        got = await _retained(broker.port, "homeassistant/#")
        assert sorted(got) == sorted(payload for _, payload, _ in messages)
        assert json.loads(got[0])["cmps"]
        async with client(broker.port) as c:
            for topic, payload, retain in removal_messages("nextgpt", "nextgpt_live", DEVICES):
                await c.publish(topic, payload, qos=1, retain=retain)
        assert await _retained(broker.port, "homeassistant/#") == []
