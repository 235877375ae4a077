"""Turns each finished utterance into the user's words, and ends a turn early when the words heard
before a short pause already look finished.

Transcription runs in the background, in order, so the microphone never waits for Whisper: speech
that starts while the models are still loading (right after "Start live") is cut and kept, and
transcribed once Whisper is up.

After a short silence (`SpeechPaused`) the words so far are transcribed in the background while
the microphone goes on. If they look finished ("What is the capital of France?") and the user has
not gone on talking, the turn ends once the pause is long enough (at once, if it already is), its
transcript already made; if they look unfinished ("... and", "so", "the"), the segmenter waits a
longer silence, as it does after a short interjection over the answer ("Stop.", see
`VadSettings.interjection_ms`; not after a short whole question, "What time?"); until the pause is
long enough, `LikelyTurn` lets the model ready itself for them. An utterance that ends in that
same pause after the usual silence takes the pause's transcript too (Whisper costs about the same
for any short clip); one with words after the pause is transcribed whole.
"""

from __future__ import annotations

import asyncio
import logging
import re

from models import AudioData

from ..engine import Engine
from ..frames import EndOfStream, Frame, LikelyTurn, NotATurn, SourceStatus, SpeechPaused, Transcript, Utterance
from ..processor import Processor
from ..utterances import UtteranceSegmenter

log = logging.getLogger(__name__)

# a sentence does not end on these: the user is still going
UNFINISHED = frozenset(
    "and or but so because then the a an to of in on at for with if that my your his her their our is are was "
    "were what which who whose how when where like um uh er".split())


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def looks_finished(text: str) -> bool:
    """Whether `text` reads as a whole sentence: something said, not ending on a word that leads on."""
    words = _words(text)
    return bool(words) and words[-1] not in UNFINISHED and not text.rstrip().endswith((",", "-", "…", "..."))


def asks(text: str) -> bool:
    """Whether `text` is a whole question of two words or more ("What time?"), not an exclamation
    ("Stop."), nor a word alone ("What?", which often leads on)."""
    return text.rstrip().endswith("?") and len(_words(text)) >= 2


class Transcriber(Processor):
    def __init__(self, engine: Engine, segmenter: UtteranceSegmenter | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.segmenter = segmenter  # given: turns may end early at a pause
        self._pending: set[asyncio.Task[None]] = set()  # transcriptions in flight
        self._last: asyncio.Task[None] | None = None  # the latest utterance's: transcripts go out in order
        self._paused: dict[int, asyncio.Task[str | None]] = {}  # the words at each recent pause

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, SpeechPaused):
            if self.segmenter is not None:
                words = asyncio.ensure_future(self._words(frame.audio))
                self._paused = {frame.pause: words}  # an earlier pause's words are no longer wanted
                self._start(self._at_pause(frame, words))
            return
        if isinstance(frame, EndOfStream):
            await self.settle()
        await self.push(frame)
        if isinstance(frame, Utterance):
            self._last = self._start(self._transcribe(frame, self._last))

    def _start(self, work) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def _transcribe(self, utterance: Utterance, before: asyncio.Task[None] | None) -> None:
        at_pause = self._paused.pop(utterance.pause, None) if utterance.pause else None
        text = await at_pause if at_pause is not None else await self._words(utterance.audio)
        if text is None:
            await self.push(NotATurn("transcription failed"))
            return
        if before is not None:
            await asyncio.gather(before, return_exceptions=True)
        await self.push(Transcript(text=text, utterance=utterance))

    async def _words(self, audio: AudioData) -> str | None:
        """What Whisper hears in `audio`; None, and a status, when it fails (the session goes on)."""
        try:
            return await self.engine.run_on_ear(self.engine.model.transcribe, audio)
        except Exception as error:
            log.exception("transcription failed")
            await self.push(SourceStatus("transcriber", "error", f"{type(error).__name__}: {error}"))
            return None

    async def settle(self) -> None:
        """Waits for the transcriptions in flight, if any."""
        while self._pending:
            await asyncio.wait(set(self._pending))

    async def _at_pause(self, pause: SpeechPaused, words: asyncio.Future[str | None]) -> None:
        assert self.segmenter is not None
        text = await words
        if text is None:
            return
        if not looks_finished(text):
            self.segmenter.wait_longer(pause.pause)
            return
        if self.segmenter.waits_longer(pause.pause):
            if not asks(text):  # "Stop." over the answer: more is likely to come
                return
            self.segmenter.hear_out(pause.pause)  # "What time?": a whole question, answered at the pause
        utterance = self.segmenter.end_at_pause(pause.pause)
        if isinstance(utterance, Utterance):  # the pause is long enough: this is the turn, already transcribed
            await self.push(utterance)
            await self.push(Transcript(text=text, utterance=utterance))
        elif utterance is not None:  # no turn after all (the echo's residue)
            await self.push(utterance)
        else:  # the turn ends once the pause is long enough, most likely with these words
            await self.push(LikelyTurn(text))
