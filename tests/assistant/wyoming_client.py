"""Test helpers for the Wyoming server: servers on a real engine, clients that speak Wyoming (the
`wyoming` package's own `AsyncTcpClient`) or raw bytes, and speech as Wyoming audio events.

The Wyoming tests and bench/wyoming.py share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event, async_read_event

from assistant.engine import Engine, EngineConfig
from assistant.history import History
from assistant.wyoming import WyomingConfig, WyomingLimits, WyomingServer
from models import AudioData, resample
from tests.assistant.mqtt_broker import free_port


@contextlib.asynccontextmanager
async def running_server(model: Any, history_dir: Path | None = None, max_queued: int = 64,
                         **limits: Any) -> AsyncIterator[WyomingServer]:
    """A Wyoming server on 127.0.0.1 with its own engine on `model` (and a history in `history_dir`);
    `limits` override `WyomingLimits`. Stopped, with its engine, on exit."""
    history = History(history_dir) if history_dir is not None else None
    engine = Engine(model, EngineConfig(max_queued=max_queued), history)
    await engine.start()
    config = WyomingConfig(uri=f"tcp://127.0.0.1:{free_port()}", limits=WyomingLimits(**limits))
    server = WyomingServer(engine, config)
    try:
        await server.start()
        yield server
    finally:
        await server.stop()
        await engine.close()
        if history is not None:
            history.close()


def client(server: WyomingServer) -> AsyncTcpClient:
    assert server.port is not None
    return AsyncTcpClient("127.0.0.1", server.port)


async def read_until(c: AsyncTcpClient, last: Iterable[str], timeout: float = 60) -> list[Event]:
    """Events until one of type in `last` (included) or the server closes the connection."""
    ends = set(last)
    events: list[Event] = []
    async with asyncio.timeout(timeout):
        while (event := await c.read_event()) is not None:
            events.append(event)
            if event.type in ends:
                break
    return events


def frame(event: Event) -> bytes:
    """`event` as the bytes a Wyoming client sends (what `async_write_event` writes)."""
    header: dict[str, Any] = {"type": event.type}
    data = json.dumps(event.data).encode() if event.data else b""
    if data:
        header["data_length"] = len(data)
    if event.payload:
        header["payload_length"] = len(event.payload)
    return json.dumps(header).encode() + b"\n" + data + (event.payload or b"")


async def exchange_raw(port: int, data: bytes, close_write: bool = False, timeout: float = 30) -> list[Event]:
    """Sends `data` as it is on a new connection (then closes our side when `close_write`); every
    event the server sends until it closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    events: list[Event] = []
    try:
        writer.write(data)
        await writer.drain()
        if close_write:
            writer.write_eof()
        async with asyncio.timeout(timeout):
            while (event := await async_read_event(reader)) is not None:
                events.append(event)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return events


def pcm(samples: np.ndarray, width: int = 2, channels: int = 1) -> bytes:
    """Mono float samples as interleaved little-endian PCM (8-bit unsigned, wider signed)."""
    samples = np.repeat(np.clip(samples, -1.0, 1.0)[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        return np.rint(samples * 127.0 + 128.0).astype(np.uint8).tobytes()
    full = np.rint(samples * (2 ** (8 * width - 1) - 1)).astype("<i4")
    if width == 3:
        return full.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    return full.astype("<i2" if width == 2 else "<i4").tobytes()


def speech_events(audio: AudioData, rate: int | None = None, width: int = 2, channels: int = 1,
                  samples_per_chunk: int = 1024) -> list[Event]:
    """`audio` as audio-start, audio-chunks and audio-stop, at `rate` (resampled) in the given format."""
    if rate is not None and rate != audio.rate:
        audio = resample(audio, rate)
    start = AudioStart(rate=audio.rate, width=width, channels=channels)
    events = [start.event()]
    for at in range(0, len(audio.samples), samples_per_chunk):
        chunk = pcm(audio.samples[at:at + samples_per_chunk], width, channels)
        events.append(AudioChunk(rate=audio.rate, width=width, channels=channels, audio=chunk).event())
    events.append(AudioStop().event())
    return events


def audio_of(events: Iterable[Event]) -> AudioData:
    """The 16-bit mono speech in the audio-chunk events, as one clip."""
    chunks = [AudioChunk.from_event(e) for e in events if AudioChunk.is_type(e.type)]
    assert chunks and {(c.width, c.channels) for c in chunks} == {(2, 1)} and len({c.rate for c in chunks}) == 1
    samples = np.frombuffer(b"".join(c.audio for c in chunks), "<i2").astype(np.float32) / 32768.0
    return AudioData(samples, chunks[0].rate)
