"""Speech to text: `transcribe`, `audio-start`, `audio-chunk`s, `audio-stop` → the words.

The audio is kept as mono float samples at the client's rate as it arrives (no more than the
connection's `max_audio_seconds`), then resampled to the recognizer's rate and transcribed on the
device thread. The words stream back segment by segment as Whisper decodes them:
`transcript-start`, `transcript-chunk`s (they join into the transcript), `transcript` (the whole,
for clients that do not stream), `transcript-stop`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import numpy as np
from wyoming.asr import Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.event import Event

from models import AudioData, resample

from ..engine import Engine
from .pcm import AudioFormatError, PcmFormat, pcm_to_samples
from .reader import ProtocolError

ASR_RATE = 16_000  # Whisper hears 16 kHz
Write = Callable[[Event], Awaitable[None]]


class Transcription:
    """The audio of one request, as it arrives. Audio in another format is converted chunk by
    chunk; a stream whose rate changes half way is refused (say it in an audio-start)."""

    def __init__(self, pcm: PcmFormat, max_seconds: float, language: str | None = None) -> None:
        self.pcm = pcm
        self.language = language
        self.max_samples = int(max_seconds * pcm.rate)
        self.max_seconds = max_seconds
        self._parts: list[np.ndarray] = []
        self._samples = 0

    def add(self, audio: bytes, pcm: PcmFormat) -> None:
        """One chunk; ProtocolError when it cannot be read or the request would run over its seconds."""
        if pcm.rate != self.pcm.rate:
            raise ProtocolError("bad_audio", f"audio-chunk at {pcm.rate} Hz in a stream started at {self.pcm.rate} Hz")
        if self._samples + len(audio) // pcm.frame_bytes > self.max_samples:
            raise ProtocolError("too_large", f"more than {self.max_seconds:g} s of audio in one transcription")
        try:
            samples = pcm_to_samples(audio, pcm)
        except AudioFormatError as error:
            raise ProtocolError("bad_audio", str(error)) from None
        self._parts.append(samples)
        self._samples += len(samples)

    @property
    def seconds(self) -> float:
        return self._samples / self.pcm.rate

    def audio(self) -> AudioData:
        samples = np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32)
        return AudioData(samples, self.pcm.rate)


async def transcribe(engine: Engine, transcription: Transcription, write: Write) -> str:
    """Transcribes the request's audio and streams its words back; returns the transcript."""
    model = engine.model
    audio = transcription.audio()
    if audio.rate != ASR_RATE:  # a few milliseconds of work for a command; off the loop all the same
        audio = await asyncio.to_thread(resample, audio, ASR_RATE)
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[str | None] = asyncio.Queue()
    stopped = threading.Event()  # the client left: the device thread stops decoding

    def decode() -> None:
        try:
            if len(audio.samples) == 0:
                return
            for piece in model.transcribe_pieces(audio, transcription.language):
                if stopped.is_set():
                    return
                loop.call_soon_threadsafe(pieces.put_nowait, piece)
        finally:
            if not stopped.is_set():
                loop.call_soon_threadsafe(pieces.put_nowait, None)

    decoding = asyncio.ensure_future(engine.run_on_device(decode))
    text = ""
    try:
        await write(TranscriptStart(language=transcription.language).event())
        while (piece := await pieces.get()) is not None:
            chunk = piece if not text else " " + piece
            text += chunk
            await write(TranscriptChunk(text=chunk).event())
        await decoding  # raises what the recognizer raised
    finally:
        stopped.set()
        if not decoding.done():  # the client left mid-way: what the thread ends with is not news
            decoding.add_done_callback(lambda done: done.cancelled() or done.exception())
    await write(Transcript(text=text, language=transcription.language).event())
    await write(TranscriptStop().event())
    return text
