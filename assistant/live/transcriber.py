"""Turns each finished utterance into the user's words, and ends a turn early when the words heard
before a short pause already look finished.

At a pause (`SpeechPaused`) the words so far are transcribed in the background while the
microphone goes on. If the user has not gone on talking by the time they are known and they look
finished ("What is the capital of France?"), the turn ends there, its transcript already made; if
they look unfinished ("... and", "so", "the"), the segmenter waits a longer silence. Otherwise the
utterance ends after the usual silence and is transcribed whole.
"""

from __future__ import annotations

import asyncio
import re

from ..engine import Engine
from ..frames import EndOfStream, Frame, SpeechPaused, Transcript, Utterance
from ..processor import Processor
from ..utterances import UtteranceSegmenter

# a sentence does not end on these: the user is still going
UNFINISHED = frozenset(
    "and or but so because then the a an to of in on at for with if that my your his her their our is are was "
    "were what which who whose how when where like um uh er".split())


def looks_finished(text: str) -> bool:
    """Whether `text` reads as a whole sentence: something said, not ending on a word that leads on."""
    words = re.findall(r"[a-z']+", text.lower())
    return bool(words) and words[-1] not in UNFINISHED and not text.rstrip().endswith((",", "-", "…", "..."))


class Transcriber(Processor):
    def __init__(self, engine: Engine, segmenter: UtteranceSegmenter | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.segmenter = segmenter  # given: turns may end early at a pause
        self._early: set[asyncio.Task[None]] = set()
        self.early_ends = 0

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, SpeechPaused):
            if self.segmenter is not None:
                task = asyncio.create_task(self._at_pause(frame))
                self._early.add(task)
                task.add_done_callback(self._early.discard)
            return
        if isinstance(frame, EndOfStream):
            await self.settle()
        await self.push(frame)
        if isinstance(frame, Utterance):
            text = await self.engine.run_on_device(self.engine.model.transcribe, frame.audio)
            await self.push(Transcript(text=text, utterance=frame))

    async def settle(self) -> None:
        """Waits for the pauses being transcribed, if any."""
        if self._early:
            await asyncio.wait(self._early)

    async def _at_pause(self, pause: SpeechPaused) -> None:
        assert self.segmenter is not None
        text = await self.engine.run_on_device(self.engine.model.transcribe, pause.audio)
        if not looks_finished(text):
            self.segmenter.wait_longer(pause.pause)
            return
        utterance = self.segmenter.end_at_pause(pause.pause)
        if utterance is not None:  # the user did not go on: this is the turn, already transcribed
            self.early_ends += 1
            await self.push(utterance)
            await self.push(Transcript(text=text, utterance=utterance))
