"""Speaks an answer sentence by sentence while its text still streams.

A processor in each turn's reply pipeline: text deltas are cut into sentences (`SentenceSplitter`),
each sentence is synthesised on the voice executor as soon as it is complete, and SpeechOutput
frames follow in order. While the first piece is synthesised the model waits between steps
(`model_may_run`): the user is waiting for that sound, and the model is ahead of the voice.
TurnDone waits for the last sentence, so a turn's stream ends after its speech. Once the turn is
stopped (barge-in), nothing more is synthesised.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor

from models import AudioData

from .frames import ErrorEvent, FinalText, Frame, SpeechOutput, TextDelta, TurnDone
from .processor import Processor
from .speech_queue import SentenceSplitter

log = logging.getLogger(__name__)


class SpeechSynthesis(Processor):
    def __init__(self, synthesize: Callable[[str], AudioData], voice: Executor, stopped: Callable[[], bool],
                 timings: dict[str, float], model_may_run: threading.Event | None = None) -> None:
        super().__init__()
        self.model_may_run = model_may_run  # cleared while the first piece is synthesised
        self.synthesize = synthesize
        self.voice = voice  # one thread: sentences are spoken in order
        self.stopped = stopped
        self.timings = timings  # the turn's: synthesis time is added as tts_ms
        self._splitter = SentenceSplitter()
        self._sentences: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()
        self._speaker: asyncio.Task[None] | None = None
        self._spoken = 0

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, TextDelta):
            for sentence in self._splitter.feed(frame.text):
                self._say(frame.turn_id, sentence)
        elif isinstance(frame, FinalText):
            rest = self._splitter.flush()
            if rest:
                self._say(frame.turn_id, rest)
        elif isinstance(frame, TurnDone) and self._speaker is not None:
            self._sentences.put_nowait(None)
            await self._speaker
        await self.push(frame)

    def _say(self, turn_id: str, sentence: str) -> None:
        self._sentences.put_nowait((turn_id, sentence))
        if self._speaker is None:
            self._speaker = asyncio.create_task(self._speak())

    async def _speak(self) -> None:
        loop = asyncio.get_running_loop()
        while (item := await self._sentences.get()) is not None:
            turn_id, sentence = item
            if self.stopped():
                continue
            started = time.perf_counter()
            first = self._spoken == 0 and self.model_may_run is not None
            try:
                audio = await loop.run_in_executor(self.voice, self._first_piece if first else self.synthesize,
                                                   sentence)
            except Exception as error:
                log.exception("speech synthesis failed")
                await self.push(ErrorEvent(turn_id, "internal", f"speech synthesis failed: {error}"))
                continue
            self.timings["tts_ms"] = round(self.timings.get("tts_ms", 0.0) + (time.perf_counter() - started) * 1000, 1)
            if not self.stopped():
                await self.push(SpeechOutput(turn_id, audio, self._spoken, sentence))
                self._spoken += 1

    def _first_piece(self, sentence: str) -> AudioData:
        """The first piece, synthesised while the model waits (voice thread)."""
        assert self.model_may_run is not None
        self.model_may_run.clear()
        try:
            return self.synthesize(sentence)
        finally:
            self.model_may_run.set()
