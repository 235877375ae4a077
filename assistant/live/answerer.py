"""Submits each turn to the engine and pushes its reply events on. A likely turn readies the model
while the pause grows.

Barge-in is confirmed before it costs the answer, as LiveKit's agents do with false
interruptions. When the user may start talking over an answer (SpeechStarted once it has said
something, while it is written or still sounding), its voice pauses (`BargeIn` heard) and its model
is held between steps while Whisper hears them. If their words make a turn, the answer is cancelled
and its voice stops for good (confirmed); if they make none (too short, the echo's residue told
by the segmenter, no words, or the assistant's own voice: `NotATurn`), it goes on where it paused
(dismissed). A residue of echo that starts the VAD then costs the answer a pause, not the answer.

A turn whose words are the assistant's own recent speech (its echo, heard and transcribed) is not
answered: the canceller and the VAD's stricter start while it speaks keep most echo out, and this
keeps the rest from becoming a turn."""

from __future__ import annotations

import asyncio
import difflib
import re
import time
from collections import deque

from ..engine import Engine, ReplyStream
from ..frames import (
    BargeIn,
    DecoderProgress,
    EndOfStream,
    Frame,
    LikelyTurn,
    MediaOutput,
    NotATurn,
    SourceStatus,
    SpeechOutput,
    SpeechStarted,
    TextDelta,
    Turn,
    TurnDone,
)
from ..processor import Processor

VOICE_SLACK_S = 2.0  # a voice may still sound this long after its audio's length from its first piece


class Answerer(Processor):
    def __init__(self, engine: Engine, barge_in: bool = True, drain_s: float = 120.0) -> None:
        super().__init__()
        self.engine = engine
        self.barge_in = barge_in
        self.drain_s = drain_s  # at the end, how long to wait for answers still in flight
        self.answering: str | None = None  # the turn being answered now
        # ms from the VAD hearing speech over an answer being made to its model stopping (held between steps)
        self.barge_ins: list[float] = []
        self.dismissed = 0  # barge-ins heard that made no turn: the voice went on
        self._replies: set[asyncio.Task[None]] = set()
        self._spoken: deque[tuple[float, list[str]]] = deque(maxlen=16)  # (when, words) of recent speech
        self.echoes = 0  # turns not answered because they were the assistant's own voice
        self._last_answer: str | None = None  # the turn answered last (its voice may still sound)
        self._under_way: str | None = None  # the last turn whose answer has begun (said something)
        self._voice_until = 0.0  # until about then (time.monotonic) the answers' voice sounds
        self._open = 0  # speech heard whose outcome (a turn, or none) is not known yet
        self._heard_at: float | None = None  # when the voice paused for a possible barge-in
        self._talked_over: str | None = None  # ... the answer it paused

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, EndOfStream) and self._replies:
            await asyncio.wait(self._replies, timeout=self.drain_s)
        await self.push(frame)
        if isinstance(frame, SpeechStarted):
            await self._heard()
        elif isinstance(frame, NotATurn):
            await self._no_turn(frame.reason)
        elif isinstance(frame, LikelyTurn) and frame.turn is not None and not self.answering:
            if not self._is_echo(frame.text):
                self.engine.prepare(frame.turn)
        elif isinstance(frame, Turn) and self._is_echo(frame.transcript):
            self.echoes += 1
            await self.push(SourceStatus("echo", "ignored", f"heard its own voice: {frame.transcript!r}"))
            await self._no_turn("its own voice")
        elif isinstance(frame, Turn):
            self._open = max(0, self._open - 1)
            await self._confirm()
            self.answering = self._last_answer = frame.id
            task = asyncio.create_task(self._forward(self.engine.submit(frame)))
            self._replies.add(task)
            task.add_done_callback(self._replies.discard)

    async def _heard(self) -> None:
        """The user may be talking over the answer: its voice pauses until their words decide."""
        self._open += 1
        now = time.monotonic()
        # an answer that has not said anything yet (the models still loading, another turn first) is
        # not talked over: what the user says then is a turn of its own, after it
        running = self.answering if self.answering is not None and self.answering == self._under_way else None
        if self.barge_in and self._heard_at is None and (running or now < self._voice_until + VOICE_SLACK_S):
            self._heard_at, self._talked_over = now, running or self._last_answer
            stopped = self.engine.hold(running) if running else None
            if stopped is not None:
                stopped.add_done_callback(lambda done: done.cancelled() or self.barge_ins.append(
                    round((done.result() - now) * 1000, 1)))
            await self.push(BargeIn("heard", self._talked_over))

    async def _confirm(self) -> None:
        """A turn was made: what it talked over stops for good."""
        if self._heard_at is None:
            return
        talked_over = self._talked_over
        self._heard_at = self._talked_over = None
        self._voice_until = 0.0
        await self.push(BargeIn("confirmed", talked_over))
        if talked_over is not None:
            self.engine.cancel(talked_over, "barge-in")

    async def _no_turn(self, reason: str) -> None:
        """Speech heard made no turn: once nothing heard is left undecided, the voice goes on."""
        self._open = max(0, self._open - 1)
        if self._open or self._heard_at is None:
            return
        self._voice_until += time.monotonic() - self._heard_at  # it sounds for as long again as it was paused
        talked_over, self._heard_at, self._talked_over = self._talked_over, None, None
        self.dismissed += 1
        if talked_over is not None:
            self.engine.hold(talked_over, False)
        await self.push(BargeIn("dismissed", talked_over, reason))

    async def _forward(self, stream: ReplyStream) -> None:
        async for event in stream:
            if isinstance(event, (TextDelta, SpeechOutput, MediaOutput, DecoderProgress)):
                self._under_way = event.turn_id
            if isinstance(event, TurnDone):
                if self.answering == event.turn_id:
                    self.answering = None
            elif isinstance(event, SpeechOutput):
                now = time.monotonic()
                self._spoken.append((now, _words(event.text)))
                self._voice_until = max(self._voice_until, now) + event.audio.seconds
            await self.push(event)

    def _is_echo(self, transcript: str, within_s: float = 20.0) -> bool:
        """Whether most of what was heard is a stretch of what the assistant said in the last seconds."""
        heard = _words(transcript)
        if len(heard) < 2:
            return False
        now = time.monotonic()
        said = [word for when, words in self._spoken if now - when < within_s for word in words]
        blocks = difflib.SequenceMatcher(None, heard, said, autojunk=False).get_matching_blocks()
        return sum(block.size for block in blocks) >= 0.7 * len(heard)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())
