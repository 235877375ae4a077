"""Malformed and hostile Wyoming clients against the real server: each gets a clear `error` event
and its connection ends (an unknown event type gets an error and the connection carries on);
nothing is read beyond the limits; too many clients, silent clients and half-sent events; and
after all of it the server still answers."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import numpy as np
import psutil
import pytest
import pytest_asyncio
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, SelectProgram
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeVoice

from .wyoming_client import client, exchange_raw, frame, read_until, running_server

pytestmark = pytest.mark.asyncio
SECOND = np.zeros(16000 * 2, np.uint8).tobytes()  # one second of 16 kHz 16-bit silence


@pytest_asyncio.fixture
async def server(tiny_model, tmp_path: Path):
    async with running_server(tiny_model, tmp_path, max_audio_seconds=3.0, max_clients=4,
                              idle_timeout_s=1.0) as running:
        yield running


def audio_chunk(payload: bytes, rate: int = 16000, width: int = 2, channels: int = 1) -> Event:
    return AudioChunk(rate=rate, width=width, channels=channels, audio=payload).event()


def header(**fields: object) -> bytes:
    return json.dumps(fields).encode() + b"\n"


FORMAT = {"rate": 16000, "width": 2, "channels": 1}
MALFORMED: list[tuple[str, bytes, str]] = [
    # framing: the stream cannot be trusted after these
    ("header not JSON", b"{not json\n", "bad_event"),
    ("header not UTF-8", b"\xff\xfe{}\n", "bad_event"),
    ("header not an object", b"[1, 2]\n", "bad_event"),
    ("header without a type", header(data={}), "bad_event"),
    ("type not a string", header(type=5), "bad_event"),
    ("data not an object", header(type="describe", data=[1]), "bad_event"),
    ("header nested too deep", b"[" * 5000 + b"]" * 5000 + b"\n", "bad_event"),
    ("header over the limit", header(type="x" * 40_000), "too_large"),
    ("header with no line end", b"x" * 100_000, "too_large"),
    ("negative payload length", header(type="audio-chunk", payload_length=-5), "bad_event"),
    ("payload length not a number", header(type="audio-chunk", payload_length="10"), "bad_event"),
    ("a 1 GB payload", header(type="audio-chunk", data=FORMAT, payload_length=10**9) + b"\0" * 65536,
     "too_large"),
    ("a 1 GB data", header(type="synthesize", data_length=10**9) + b"{" * 65536, "too_large"),
    ("data not JSON", header(type="synthesize", data_length=5) + b"nope!", "bad_event"),
    ("data not an object", header(type="synthesize", data_length=2) + b"[]", "bad_event"),
    # audio the server cannot read
    ("5-byte samples", frame(AudioStart(rate=16000, width=5, channels=1).event()), "bad_audio"),
    ("a rate of 0", frame(audio_chunk(b"\0\0", rate=0)), "bad_audio"),
    ("a rate that is text", frame(Event("audio-start", {"rate": "fast", "width": 2, "channels": 1})), "bad_audio"),
    ("no channels", frame(audio_chunk(b"", channels=0)), "bad_audio"),
    ("300 channels", frame(audio_chunk(b"\0\0" * 300, channels=300)), "bad_audio"),
    ("half a sample", frame(audio_chunk(b"\0\0\0")), "bad_audio"),
    ("rate changes mid-stream", frame(AudioStart(**FORMAT).event()) + frame(audio_chunk(b"\0\0", rate=22050)),
     "bad_audio"),
    ("over the seconds of one transcription", frame(AudioStart(**FORMAT).event())
     + b"".join(frame(audio_chunk(SECOND)) for _ in range(4)), "too_large"),
    # requests the server will not take
    ("100 kB to speak", frame(Synthesize(text="a" * 100_000).event()), "too_large"),
    ("a 100 kB question", frame(Transcript(text="why " * 25_000).event()), "too_large"),
    ("a 100 kB stream", frame(SynthesizeStart().event())
     + b"".join(frame(SynthesizeChunk(text="w" * 5000).event()) for _ in range(20)), "too_large"),
    ("text not a string", frame(Event("synthesize", {"text": 5})), "bad_event"),
    ("question without text", frame(Event("transcript", {})), "bad_event"),
    ("context not an object", frame(Event("transcript", {"text": "hi", "context": "x"})), "bad_event"),
    ("chunk outside a stream", frame(SynthesizeChunk(text="hello").event()), "bad_event"),
    ("stop outside a stream", frame(Event("synthesize-stop")), "bad_event"),
    ("a stream inside a stream", frame(SynthesizeStart().event()) * 2, "bad_event"),
    ("a voice it does not have", frame(Synthesize(text="hi", voice=SynthesizeVoice(name="nope")).event()),
     "unknown_voice"),
    ("a voice that is a string", frame(Event("synthesize", {"text": "hi", "voice": "joe"})), "bad_event"),
    ("a language it does not hear", frame(Transcribe(language="de").event()), "unsupported_language"),
    ("a program it does not have", frame(SelectProgram(name="nope").event()), "unknown_program"),
]


@pytest.mark.parametrize(("name", "data", "code"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_each_malformed_event_gets_its_error_and_the_connection_ends(server, name: str, data: bytes,
                                                                          code: str):
    events = await exchange_raw(server.port, data, timeout=10)
    assert [e.type for e in events] == ["error"], name
    error = Error.from_event(events[0])
    assert error.code == code and error.text, name


async def test_a_payload_shorter_than_announced_ends_the_connection(server):
    data = header(type="audio-chunk", data=FORMAT, payload_length=100) + b"\0" * 10
    events = await exchange_raw(server.port, data, close_write=True)
    assert [(e.type, e.data["code"]) for e in events] == [("error", "bad_event")]
    assert "10 of the 100 bytes" in events[0].data["text"]


async def test_a_client_gone_silent_inside_an_event_is_let_go(server):
    data = header(type="audio-chunk", data=FORMAT, payload_length=100) + b"\0" * 10  # and then nothing
    events = await exchange_raw(server.port, data)
    assert [(e.type, e.data["code"]) for e in events] == [("error", "timeout")]


async def test_an_idle_client_is_let_go_but_not_one_waiting_for_its_answer(server):
    async with client(server) as idle:
        [event] = await read_until(idle, ["error"], timeout=10)
        assert event.data["code"] == "timeout"
        assert await idle.read_event() is None
    async with client(server) as unfinished:  # a synthesize stream whose text stops coming
        await unfinished.write_event(SynthesizeStart().event())
        await unfinished.write_event(SynthesizeChunk(text="Hello there, this is spoken. And then").event())
        events = await read_until(unfinished, ["error"], timeout=20)
        assert events[0].type == "audio-start" and events[-1].data["code"] == "timeout"
    async with client(server) as waiting:  # speaking this takes longer than the idle timeout (1 s)
        await waiting.write_event(Synthesize(text="The weather today is sunny with a light breeze. " * 12).event())
        events = await read_until(waiting, ["audio-stop", "error"])
    assert events[-1].type == "audio-stop" and not [e for e in events if e.type == "error"]


async def test_a_client_that_does_not_read_its_answers_is_let_go(tiny_model, tmp_path: Path):
    """Thousands of describes asked for and none of the infos read: once the socket's buffers are full the
    server waits `write_timeout_s` for the client, then closes the connection instead of queueing more."""
    async with running_server(tiny_model, tmp_path, write_timeout_s=0.5) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        _, writer = await asyncio.open_connection(sock=sock)
        try:
            writer.write(frame(Describe().event()) * 20_000)  # about 30 MB of info asked for
            async with asyncio.timeout(10):
                while server.connections == 0:
                    await asyncio.sleep(0.01)
            await asyncio.wait_for(server.idle.wait(), 30)
            held = [c for c in psutil.Process().net_connections("tcp") if c.laddr.port == server.port
                    and c.status == psutil.CONN_ESTABLISHED]
        finally:
            writer.close()
        assert server.connections == 0 and held == []  # the server's end of the socket is closed, not kept


async def test_an_unknown_event_type_is_an_error_and_the_connection_carries_on(server):
    async with client(server) as c:
        await c.write_event(Event("frobnicate", {"x": 1}, payload=b"abc"))
        [error] = await read_until(c, ["error"])
        assert Error.from_event(error).code == "unknown_event" and "frobnicate" in error.data["text"]
        await c.write_event(Describe().event())
        assert (await read_until(c, ["info"]))[-1].type == "info"


async def test_a_client_beyond_the_limit_is_told_the_server_is_busy(server):
    clients = [client(server) for _ in range(4)]
    for c in clients:
        await c.connect()
        await c.write_event(Describe().event())  # answered: the connection is being served
        await read_until(c, ["info"])
    try:
        extra = await exchange_raw(server.port, frame(Describe().event()))
        assert [(e.type, e.data["code"]) for e in extra] == [("error", "busy")]
    finally:
        await clients.pop().disconnect()
    async with asyncio.timeout(10):
        while server.connections > 3:
            await asyncio.sleep(0.01)
    assert [e.type for e in await exchange_raw(server.port, frame(Describe().event()), close_write=True)] == ["info"]
    for c in clients:
        await c.disconnect()


async def test_the_server_still_answers_after_every_malformed_client(server):
    await asyncio.gather(*(exchange_raw(server.port, data, timeout=10) for _, data, _ in MALFORMED[:4]))
    for _, data, _ in MALFORMED:
        await exchange_raw(server.port, data, timeout=10)
    async with client(server) as c:
        await c.write_event(Synthesize(text="All is well.").event())
        assert (await read_until(c, ["audio-stop"]))[-1].type == "audio-stop"
        for event in (AudioStart(**FORMAT).event(), audio_chunk(SECOND), AudioStop().event()):
            await c.write_event(event)
        assert (await read_until(c, ["transcript-stop"]))[-1].type == "transcript-stop"
    await asyncio.wait_for(server.idle.wait(), 10)
