"""MQTT request payloads: parsed and checked into an `MqttRequest`, or refused with a `RequestError`.

A JSON request is `{"id", "text", "media": [{"modality", "mime", "data": base64}], "want", "session"}`;
raw media bytes on `<prefix>/<device>/request/<modality>` ask for a description of that media.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from models import WANTABLE, MediaError, read_audio, read_image, read_video

from ..frames import Media, new_id

MB = 1024 * 1024
DEFAULT_MAX_PAYLOAD = 16 * MB
DEFAULT_MAX_MEDIA = 4
MAX_DEPTH = 8
MAX_ID = 64
MAX_SESSION = 128
DEFAULT_WANT = frozenset({"text"})
READERS: dict[str, Callable[..., Media]] = {"image": read_image, "audio": read_audio, "video": read_video}
DESCRIBE = {
    "image": "Describe this image.",
    "audio": "Describe this sound.",
    "video": "Describe this video.",
}


class RequestError(Exception):
    """A request the bridge refuses; `code` is the reply's error code (bad_request, too_large, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MqttRequest:
    """One checked request: the client's id (or a made-up one), words, decoded media, wanted outputs."""

    id: str = field(default_factory=new_id)
    text: str = ""
    media: tuple[Media, ...] = ()
    want: frozenset[str] = DEFAULT_WANT
    session: str | None = None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def _nested_too_deep(payload: bytes) -> bool:
    """Whether brackets outside strings nest deeper than MAX_DEPTH: checked before json.loads, so a
    hostile payload never makes the parser recurse (CPython 3.11 is left unsteady after a RecursionError)."""
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub(b'""', payload)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_DEPTH:
            return True
    return False


def request_id_of(payload: bytes) -> str | None:
    """The client's `id` of a payload, when one can be read (for error replies to refused requests)."""
    if _nested_too_deep(payload):
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str) and 0 < len(data["id"]) <= MAX_ID:
        return data["id"]
    return None


def parse_request(payload: bytes, *, max_payload: int = DEFAULT_MAX_PAYLOAD,
                  max_media: int = DEFAULT_MAX_MEDIA) -> MqttRequest:
    """The JSON request in `payload`, checked and with its media decoded; raises RequestError."""
    if len(payload) > max_payload:
        raise RequestError("too_large", f"the request is {len(payload)} bytes, over the {max_payload} byte limit")
    if _nested_too_deep(payload):
        raise RequestError("bad_request", f"the JSON is nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(payload)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise RequestError("bad_request", f"the request is not JSON: {error}") from None
    if _depth(data) > MAX_DEPTH:
        raise RequestError("bad_request", f"the JSON is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise RequestError("bad_request", "the request must be a JSON object")
    unknown = set(data) - {"id", "text", "media", "want", "session"}
    if unknown:
        raise RequestError("bad_request", f"unknown fields {sorted(unknown)}")

    request_id = _optional_str(data, "id", MAX_ID) or new_id()
    text = _optional_str(data, "text") or ""
    session = _optional_str(data, "session", MAX_SESSION)
    want = _want(data.get("want", None))

    items = data.get("media", [])
    if not isinstance(items, list):
        raise RequestError("bad_request", "`media` must be a list")
    if len(items) > max_media:
        raise RequestError("bad_request", f"{len(items)} media items, over the limit of {max_media}")
    if not text.strip() and not items:
        raise RequestError("bad_request", "nothing to answer: give `text` or `media`")
    media = tuple(_medium(item, index) for index, item in enumerate(items))
    return MqttRequest(request_id, text, media, want, session)


def parse_raw_media(payload: bytes, modality: str, *, max_payload: int = DEFAULT_MAX_PAYLOAD) -> MqttRequest:
    """Raw media bytes published to `.../request/<modality>`: a request for a description of them."""
    if not isinstance(modality, str) or modality not in READERS:  # a list or object is unhashable
        raise RequestError("bad_request", f"unknown modality {modality!r}: choose from {', '.join(READERS)}")
    if len(payload) > max_payload:
        raise RequestError("too_large", f"the media is {len(payload)} bytes, over the {max_payload} byte limit")
    return MqttRequest(text=DESCRIBE[modality], media=(_decode(modality, payload, f"raw {modality}"),))


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _optional_str(data: dict[str, Any], key: str, limit: int | None = None) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError("bad_request", f"`{key}` must be a string")
    if limit is not None and len(value) > limit:
        raise RequestError("bad_request", f"`{key}` is {len(value)} characters, over the limit of {limit}")
    return value


def _want(value: Any) -> frozenset[str]:
    if value is None:
        return DEFAULT_WANT
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RequestError("bad_request", "`want` must be a list of strings")
    unknown = set(value) - set(WANTABLE)
    if unknown:
        raise RequestError("bad_request", f"unknown want {sorted(unknown)}: choose from {', '.join(WANTABLE)}")
    return frozenset(value) or DEFAULT_WANT


def _medium(item: Any, index: int) -> Media:
    label = f"media[{index}]"
    if not isinstance(item, dict):
        raise RequestError("bad_request", f"{label} must be an object")
    modality = item.get("modality")
    if not isinstance(modality, str) or modality not in READERS:  # a list or object is unhashable
        raise RequestError("bad_request", f"{label}: unknown modality {modality!r}: choose from {', '.join(READERS)}")
    if "mime" in item and not isinstance(item["mime"], str):
        raise RequestError("bad_request", f"{label}: `mime` must be a string")
    data = item.get("data")
    if not isinstance(data, str):
        raise RequestError("bad_request", f"{label}: `data` must be a base64 string")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("bad_request", f"{label}: `data` is not valid base64") from None
    return _decode(modality, raw, label)


def _decode(modality: str, raw: bytes, label: str) -> Media:
    try:
        return READERS[modality](raw, name=label)
    except MediaError as error:
        raise RequestError("bad_request", f"{label} is not a {modality} this app can read: {error}") from None
