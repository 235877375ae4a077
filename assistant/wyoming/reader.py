"""Reads one Wyoming event from a client within the connection's limits.

The `wyoming` package's own `async_read_event` reads as many bytes as a header claims, so one
header claiming a gigabyte would have the server wait for, and keep, a gigabyte. This reader
checks the header's size and the lengths it claims first, and says what was wrong with a
`ProtocolError` (which ends the connection: after a bad header the byte stream cannot be trusted).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event

from .limits import WyomingLimits


def shown(value: object, limit: int = 60) -> str:
    """A client's value as an error message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


class ProtocolError(Exception):
    """A client sent something the server will not take; `code` is the Wyoming error code sent back."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def read_event(reader: asyncio.StreamReader, limits: WyomingLimits) -> Event | None:
    """The next event, or None when the client closed the connection between events."""
    header = await _read_header(reader, limits)
    if header is None:
        return None
    event_type = header.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise ProtocolError("bad_event", "an event header needs a \"type\" string")
    data = header.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError("bad_event", f"{event_type}: \"data\" must be a JSON object")
    data_length = _length(header, "data_length", limits.max_data_bytes, event_type)
    payload_length = _length(header, "payload_length", limits.max_payload_bytes, event_type)
    if data_length:
        more = _json(await _read_exactly(reader, data_length, event_type), f"{event_type}: its data")
        if not isinstance(more, dict):
            raise ProtocolError("bad_event", f"{event_type}: its data must be a JSON object")
        data.update(more)
    payload = await _read_exactly(reader, payload_length, event_type) if payload_length else None
    return Event(type=event_type, data=data, payload=payload)


async def _read_header(reader: asyncio.StreamReader, limits: WyomingLimits) -> dict[str, Any] | None:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as ended:
        if not ended.partial.strip():
            return None  # closed between events
        raise ProtocolError("bad_event", "the connection ended inside an event header") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError("too_large", f"an event header is over {limits.max_header_bytes} bytes") from None
    if len(line) > limits.max_header_bytes:
        raise ProtocolError("too_large", f"an event header of {len(line)} bytes; at most {limits.max_header_bytes}")
    header = _json(line, "an event header")
    if not isinstance(header, dict):
        raise ProtocolError("bad_event", "an event header must be a JSON object")
    return header


def _length(header: dict[str, Any], key: str, limit: int, event_type: str) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError("bad_event", f"{event_type}: {key} must be a whole number of bytes, got {shown(value)}")
    if value > limit:
        raise ProtocolError("too_large", f"{event_type}: {key} of {value} bytes; at most {limit}")
    return value


async def _read_exactly(reader: asyncio.StreamReader, count: int, event_type: str) -> bytes:
    try:
        return await reader.readexactly(count)
    except asyncio.IncompleteReadError as ended:
        raise ProtocolError("bad_event", f"{event_type}: the connection ended after {len(ended.partial)} of the "
                                         f"{count} bytes its header announced") from None


def _json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deep to parse
        raise ProtocolError("bad_event", f"{what} is not JSON") from None
