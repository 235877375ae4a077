"""`AudioFileSource`: an audio file played as if it were a microphone, in real-time blocks."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator

import numpy as np

from assistant.capture.base import AUDIO_QUEUE_SIZE, CaptureSource, Clock, Run, Sleep, block_samples, pacing
from assistant.frames import AudioChunk
from models import DEFAULT_LIMITS, MediaLimits, read_audio


class AudioFileSource(CaptureSource):
    """The first audio track of a file as mono float32 `AudioChunk`s of ``block_ms``, like a microphone.

    Every chunk has the same length (the last one is filled up with zeros), as a microphone's would.
    ``realtime=True`` emits each chunk once its last sample is due, on a monotonic schedule (``clock``
    and ``sleep``) so that drift does not build up; ``realtime=False`` emits as fast as the consumer
    takes them (waiting for it rather than dropping). ``lead_silence_s`` and ``tail_silence_s`` add
    zeros around each pass over the file, so a voice detector sees speech begin and end.
    Timestamps are seconds from the start of the stream and keep growing across loops.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: int = 16000,
        block_ms: int = 32,
        loop: bool = False,
        realtime: bool = True,
        *,
        lead_silence_s: float = 0.0,
        tail_silence_s: float = 0.0,
        name: str = "audio file",
        queue_size: int = AUDIO_QUEUE_SIZE,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        limits: MediaLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(name, queue_size)
        self.block = block_samples(rate, block_ms)
        for label, value in (("lead_silence_s", lead_silence_s), ("tail_silence_s", tail_silence_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{label} must be a non-negative number of seconds, got {value!r}")
        self.path = os.fspath(path)
        self.rate = rate
        self.block_ms = block_ms
        self.loop = loop
        self.realtime = realtime
        self.lead_silence_s = float(lead_silence_s)
        self.tail_silence_s = float(tail_silence_s)
        self.drops_when_behind = realtime
        self._clock = clock
        self._sleep = sleep
        self._limits = limits

    def _read(self, run: Run) -> str:
        audio = read_audio(self.path, rate=self.rate, limits=self._limits)
        lead = np.zeros(round(self.lead_silence_s * self.rate), dtype=np.float32)
        tail = np.zeros(round(self.tail_silence_s * self.rate), dtype=np.float32)
        samples = np.concatenate([lead, audio.samples, tail])
        run.started(f"{self.path}, {audio.seconds:.2f} s at {self.rate} Hz")
        pacer = pacing(self._clock, self._sleep, run) if self.realtime else None
        if pacer is not None:
            pacer.start()
        position = 0
        for chunk in _blocks(samples, self.block, self.loop):
            if pacer is not None:
                pacer.wait_until((position + self.block) / self.rate)  # a block exists once it was "recorded"
            if run.stopping or not run.emit(AudioChunk(chunk, self.rate, position / self.rate)):
                return "stopped"
            position += self.block
        return f"end of {self.path}"


def _blocks(samples: np.ndarray, block: int, loop: bool) -> Iterator[np.ndarray]:
    """Consecutive ``block``-sample slices of ``samples`` (wrapping around forever when ``loop``)."""
    n = samples.shape[0]
    position = 0
    while loop or position < n:
        if loop:
            chunk = np.take(samples, np.arange(position, position + block), mode="wrap")
            position = (position + block) % n
        else:
            chunk = np.zeros(block, dtype=np.float32)
            piece = samples[position:position + block]
            chunk[: piece.shape[0]] = piece
            position += block
        yield chunk
