"""One Wyoming connection: reads the client's events within its limits and answers them in order.

Two tasks per connection. The reader takes events as they arrive, answers the quick ones at once
(`describe`, `ping`), keeps the state of requests still arriving (audio of a transcription, text
of a synthesize stream) and queues each request; the worker answers the queued requests one at a
time, so one connection's replies never interleave. The reader keeps reading while an answer is
written, so a synthesize stream's later sentences arrive while its first is spoken, and a client
that leaves is noticed at once: what it asked for stops (its engine turn is cancelled).

Anything wrong with what a client sent gets an `error` event (`code`, `text`), and then the
connection ends (after a malformed event the byte stream cannot be trusted, and a client waiting
for a reply learns at once that none is coming); only an event type this server does not know is
answered with an `error` and the connection carries on (newer clients send optional events). The
server never crashes on a client, and holds no more than `WyomingLimits` allow.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Describe, SelectProgram
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from .pcm import AudioFormatError, PcmFormat
from .reader import ProtocolError, read_event, shown
from .synthesis import SpeechStream, Voice
from .transcription import Transcription, transcribe

if TYPE_CHECKING:
    from .server import WyomingServer

log = logging.getLogger(__name__)
LINGER_S = 1.0  # after refusing a client, how long its unread bytes are drained before the socket closes
_numbers = itertools.count(1)
Job = Callable[[], Awaitable[Any]]


class _Gone(Exception):
    """The client is gone (or stopped reading): nothing more can be sent to it."""


class WyomingHandler(AsyncEventHandler):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: WyomingServer) -> None:
        super().__init__(reader, writer)
        self.server = server
        self.limits = server.config.limits
        self.name = f"connection-{next(_numbers)}"
        self.voice = Voice(server.engine, server.voice_rate, self.write_event) if server.voice_rate else None
        self._jobs: asyncio.Queue[Job] = asyncio.Queue(self.limits.max_pending)
        self._language: str | None = None
        self._transcription: Transcription | None = None
        self._stream: SpeechStream | None = None
        self._ended = asyncio.Event()
        self._refused = False
        self._busy = False  # the worker is answering a request
        self._speaking: SpeechStream | None = None  # the synthesize stream the worker is speaking

    # the connection ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serves the connection until the client leaves, is refused, or the server stops."""
        self.server.opened(self)
        try:
            if self.server.connections > self.limits.max_clients:
                await self._refuse(ProtocolError("busy", f"{self.limits.max_clients} clients are connected; "
                                                         "try again later"))
                return
            tasks = [asyncio.create_task(self._read_all(), name=f"{self.name} reader"),
                     asyncio.create_task(self._work(), name=f"{self.name} worker")]
            try:
                await self._ended.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await self._close()
            self.server.closed(self)

    async def write_event(self, event: Event) -> None:
        """Sends one event; raises _Gone when the client has left or has not read for `write_timeout_s`."""
        if self.writer.is_closing():
            raise _Gone
        try:
            async with asyncio.timeout(self.limits.write_timeout_s):
                await async_write_event(event, self.writer)
        except (ConnectionError, TimeoutError) as error:
            raise _Gone from error

    async def _read_all(self) -> None:
        try:
            while (event := await self._next_event()) is not None:
                await self.handle_event(event)
            log.debug("%s: the client closed the connection", self.name)
        except ProtocolError as error:
            await self._refuse(error)
        except (_Gone, ConnectionError):
            pass
        finally:
            self._ended.set()

    async def _next_event(self) -> Event | None:
        """The next event. A client may be silent for `idle_timeout_s` while the server waits for it
        (nothing asked, or a synthesize stream all spoken); while an answer is being made, for as
        long as that takes."""
        reading = asyncio.ensure_future(read_event(self.reader, self.limits))
        try:
            while True:
                done, _ = await asyncio.wait({reading}, timeout=self.limits.idle_timeout_s)
                if done:
                    return reading.result()
                if not self._answering():
                    raise ProtocolError("timeout", f"nothing came for {self.limits.idle_timeout_s:g} s")
        finally:
            reading.cancel()

    def _answering(self) -> bool:
        """Whether the server is making an answer (rather than waiting for the client)."""
        if not self._jobs.empty():
            return True
        return self._busy and not (self._speaking is not None and self._speaking.waiting)

    async def _speak(self, stream: SpeechStream, voice: Voice) -> None:
        self._speaking = stream
        try:
            await stream.speak(voice)
        finally:
            self._speaking = None

    async def _work(self) -> None:
        try:
            while True:
                job = await self._jobs.get()
                self._busy = True
                await job()
                self._busy = False
        except ProtocolError as error:
            await self._refuse(error)
        except _Gone:
            pass
        except Exception as error:  # a failing model call ends this request, never the server
            log.exception("%s: a request failed", self.name)
            await self._refuse(ProtocolError("internal", f"{type(error).__name__}: {error}"))
        finally:
            self._ended.set()

    async def _refuse(self, error: ProtocolError) -> None:
        """Tells the client what was wrong; the connection then ends."""
        log.info("%s: refused (%s): %s", self.name, error.code, error.message)
        self._refused = True
        try:
            await self.write_event(Error(text=error.message, code=error.code).event())
        except _Gone:
            pass
        finally:
            self._ended.set()

    async def _close(self) -> None:
        """Closes the socket. After a refusal the close lingers: the server says it is done writing,
        then drains what the client still sends for a moment, so the client reads the error before
        the connection goes (closing with bytes unread would reset the connection and lose it). What
        a client has not taken within `LINGER_S` is dropped with the connection."""
        if self._refused and not self.writer.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                self.writer.write_eof()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(LINGER_S):
                    while await self.reader.read(64 * 1024):
                        pass
        self.writer.close()
        try:
            async with asyncio.timeout(LINGER_S):
                await self.writer.wait_closed()
        except Exception:  # a client that does not take what is left: drop it rather than keep the socket
            self.writer.transport.abort()

    def _queue(self, job: Job) -> None:
        try:
            self._jobs.put_nowait(job)
        except asyncio.QueueFull:
            raise ProtocolError("busy", f"more than {self.limits.max_pending} requests wait on this connection") \
                from None

    # the events ------------------------------------------------------------------------------------

    async def handle_event(self, event: Event) -> bool:
        kind, data = event.type, event.data
        if Describe.is_type(kind):
            await self.write_event(self.server.info.event())
        elif Ping.is_type(kind):
            await self.write_event(Pong(text=data.get("text") if isinstance(data.get("text"), str) else None).event())
        elif SelectProgram.is_type(kind):
            name = data.get("name")
            if name not in self.server.program_names:
                raise ProtocolError("unknown_program", f"this server has no program {shown(name)}")
        elif Transcribe.is_type(kind):
            self._language = self.server.asr_language(data.get("language"))
        elif AudioStart.is_type(kind):
            self._transcription = Transcription(_pcm(data, kind), self.limits.max_audio_seconds, self._language)
        elif AudioChunk.is_type(kind):
            pcm = _pcm(data, kind)
            if self._transcription is None:  # a client that skips audio-start: its chunks say the format
                self._transcription = Transcription(pcm, self.limits.max_audio_seconds, self._language)
            self._transcription.add(event.payload or b"", pcm)
        elif AudioStop.is_type(kind):
            self._stop_audio()
        elif Synthesize.is_type(kind):
            if self._stream is None:  # inside a stream it repeats the streamed text (for older servers)
                text = self._text(data, kind)
                voice = self._voice(data, kind)
                self._queue(lambda: voice.say(text))
        elif SynthesizeStart.is_type(kind):
            if self._stream is not None:
                raise ProtocolError("bad_event", "synthesize-start inside a synthesize stream")
            voice = self._voice(data, kind)
            stream = self._stream = SpeechStream(self.limits.max_text_chars)
            self._queue(lambda: self._speak(stream, voice))
        elif SynthesizeChunk.is_type(kind):
            if self._stream is None:
                raise ProtocolError("bad_event", "synthesize-chunk outside a synthesize-start … synthesize-stop stream")
            self._stream.feed(self._text(data, kind))
        elif SynthesizeStop.is_type(kind):
            if self._stream is None:
                raise ProtocolError("bad_event", "synthesize-stop without a synthesize-start")
            self._stream.finish()
            self._stream = None
        elif Transcript.is_type(kind):
            self._ask(self._text(data, kind), _context(data, kind))
        else:
            log.info("%s: unknown event type %s", self.name, shown(kind))
            await self.write_event(Error(text=f"this server does not know {shown(kind)} events",
                                         code="unknown_event").event())
        return True

    def _stop_audio(self) -> None:
        transcription, self._transcription = self._transcription, None
        language, self._language = self._language, None
        if transcription is None:  # nothing was heard: an empty transcript
            transcription = Transcription(PcmFormat(16_000, 2, 1), self.limits.max_audio_seconds, language)
        if not self.server.info.asr:
            raise ProtocolError("unsupported", "this server's profile has no speech recognition")
        log.info("%s: transcribing %.1f s of audio", self.name, transcription.seconds)
        self._queue(lambda: transcribe(self.server.engine, transcription, self.write_event))

    def _ask(self, text: str, context: dict[str, Any] | None) -> None:
        self._queue(lambda: self.server.agent.answer(text, context, self.name, self.write_event))

    def _text(self, data: dict[str, Any], kind: str) -> str:
        text = data.get("text")
        if not isinstance(text, str):
            raise ProtocolError("bad_event", f"{kind}: \"text\" must be a string")
        if len(text) > self.limits.max_text_chars:
            raise ProtocolError("too_large", f"{kind}: text of {len(text)} characters; "
                                             f"at most {self.limits.max_text_chars}")
        return text

    def _voice(self, data: dict[str, Any], kind: str) -> Voice:
        if self.voice is None:
            raise ProtocolError("unsupported", "this server's profile has no voice")
        wanted = data.get("voice")
        if wanted is not None and not isinstance(wanted, dict):
            raise ProtocolError("bad_event", f"{kind}: \"voice\" must be a JSON object")
        name = (wanted or {}).get("name")
        if name is not None and name not in self.server.voice_names:
            raise ProtocolError("unknown_voice", f"{kind}: no voice {shown(name)}; this server has "
                                                 f"{', '.join(sorted(self.server.voice_names))}")
        return self.voice

    async def disconnect(self) -> None:
        """Nothing to do: `run` stops the connection's requests (and their engine turns) as it ends."""


def _pcm(data: dict[str, Any], kind: str) -> PcmFormat:
    try:
        return PcmFormat.of(data, kind)
    except AudioFormatError as error:
        raise ProtocolError("bad_audio", str(error)) from None


def _context(data: dict[str, Any], kind: str) -> dict[str, Any] | None:
    context = data.get("context")
    if context is not None and not isinstance(context, dict):
        raise ProtocolError("bad_event", f"{kind}: \"context\" must be a JSON object")
    return context
