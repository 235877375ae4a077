"""MQTT request payloads: parsed and checked into an `MqttRequest`, or refused with a `RequestError`.

A JSON request is `{"id", "text", "media": [{"modality", "mime", "data": base64}], "want", "session"}`;
raw media bytes on `<prefix>/<device>/request/<modality>` ask for a description of that media.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from models import READERS, WANTABLE, Media, MediaError

from ..frames import new_id

MB = 1024 * 1024
DEFAULT_MAX_PAYLOAD = 16 * MB
DEFAULT_MAX_MEDIA = 4
MAX_DEPTH = 8
MAX_ID = 64
MAX_SESSION = 128
MAX_MIME = 255  # RFC 6838: a type and a subtype of up to 127 characters each
DEFAULT_WANT = frozenset({"text"})
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


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


class MediumBody(BaseModel):
    """One item of a request's `media`, as sent: base64 `data` of an image, a sound or a video."""

    model_config = ConfigDict(extra="forbid", strict=True)

    modality: Literal["image", "audio", "video"]
    mime: str = Field("", max_length=MAX_MIME)
    data: Annotated[bytes, BeforeValidator(_base64)]


class RequestBody(BaseModel):
    """A JSON request as sent; validated with the context `{"max_media": n}`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str | None = Field(None, max_length=MAX_ID)  # "" or none: one is made up
    text: str | None = None
    media: list[MediumBody] = []
    want: list[Literal[WANTABLE]] | None = None  # type: ignore[valid-type]  # WANTABLE is a tuple of names
    session: str | None = Field(None, max_length=MAX_SESSION)

    @field_validator("media", mode="before")
    @classmethod
    def _not_too_many(cls, items: Any, info: ValidationInfo) -> Any:  # counted before any item is checked
        limit = (info.context or {}).get("max_media", DEFAULT_MAX_MEDIA)
        if isinstance(items, list) and len(items) > limit:
            raise ValueError(f"has {len(items)} items, over the limit of {limit}")
        return items

    @model_validator(mode="after")
    def _something_to_answer(self) -> RequestBody:
        if not (self.text or "").strip() and not self.media:
            raise ValueError("nothing to answer: give `text` or `media`")
        return self


def _explain(error: ValidationError) -> str:
    """A short message for a refused request that names each offending field and what it allows."""
    problems = [_problem(detail) for detail in error.errors(include_url=False)]
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


def _problem(detail: Any) -> str:
    parents = detail["loc"][:-1]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in detail["loc"]).lstrip(".")
    kind, ctx = detail["type"], detail.get("ctx", {})
    if kind == "extra_forbidden":
        body = MediumBody if parents else RequestBody
        allowed = ", ".join(body.model_fields)
        return f"unknown field `{_shown(where)}`: {'a medium' if parents else 'a request'} has only {allowed}"
    if kind == "value_error":  # our own validators: the message says what is wrong
        message = str(ctx["error"])
        return f"`{where}` {message}" if where else message
    if kind == "literal_error":
        return f"`{where}` is {_shown(repr(detail['input']))}: choose from {ctx['expected']}"
    if kind == "string_too_long":
        return f"`{where}` is {len(detail['input'])} characters, over the limit of {ctx['max_length']}"
    if kind == "missing":
        return f"`{where}` is missing"
    expected = {"string_type": "a string", "list_type": "a list", "model_type": "an object",
                "dict_type": "an object"}.get(kind)
    return f"`{where}` must be {expected}" if expected else f"`{where}`: {detail['msg']}"


def _shown(text: str, limit: int = 40) -> str:
    """`text` cut to `limit` characters: a hostile field name or value is not echoed back whole."""
    return text if len(text) <= limit else text[:limit] + "…"


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
    try:
        body = RequestBody.model_validate(data, context={"max_media": max_media})
    except ValidationError as error:
        raise RequestError("bad_request", _explain(error)) from None
    media = tuple(_decode(item.modality, item.data, f"media[{index}]") for index, item in enumerate(body.media))
    return MqttRequest(body.id or new_id(), body.text or "", media, frozenset(body.want or ()) or DEFAULT_WANT,
                       body.session)


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


def _decode(modality: str, raw: bytes, label: str) -> Media:
    try:
        return READERS[modality](raw, name=label)
    except MediaError as error:
        raise RequestError("bad_request", f"{label} is not a {modality} this app can read: {error}") from None
