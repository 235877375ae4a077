"""Submits each turn to the engine and pushes its reply events on; when the user starts talking
over an answer, cancels it (barge-in). A likely turn readies the model while the pause grows.

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
from ..frames import EndOfStream, Frame, LikelyTurn, SourceStatus, SpeechOutput, SpeechStarted, Turn, TurnDone
from ..processor import Processor


class Answerer(Processor):
    def __init__(self, engine: Engine, barge_in: bool = True, drain_s: float = 120.0) -> None:
        super().__init__()
        self.engine = engine
        self.barge_in = barge_in
        self.drain_s = drain_s  # at the end, how long to wait for answers still in flight
        self.answering: str | None = None  # the turn being answered now
        self.barge_ins: list[float] = []  # ms from the VAD hearing speech start to the answer's end
        self._barge_in_at: float | None = None
        self._replies: set[asyncio.Task[None]] = set()
        self._spoken: deque[tuple[float, list[str]]] = deque(maxlen=16)  # (when, words) of recent speech
        self.echoes = 0  # turns not answered because they were the assistant's own voice

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, EndOfStream) and self._replies:
            await asyncio.wait(self._replies, timeout=self.drain_s)
        await self.push(frame)
        if isinstance(frame, SpeechStarted) and self.barge_in and self.answering:
            self._barge_in_at = time.monotonic()
            self.engine.cancel(self.answering, "barge-in")
        elif isinstance(frame, LikelyTurn) and frame.turn is not None and not self.answering:
            if not self._is_echo(frame.text):
                self.engine.prepare(frame.turn)
        elif isinstance(frame, Turn) and self._is_echo(frame.transcript):
            self.echoes += 1
            await self.push(SourceStatus("echo", "ignored", f"heard its own voice: {frame.transcript!r}"))
        elif isinstance(frame, Turn):
            self.answering = frame.id
            task = asyncio.create_task(self._forward(self.engine.submit(frame)))
            self._replies.add(task)
            task.add_done_callback(self._replies.discard)

    async def _forward(self, stream: ReplyStream) -> None:
        async for event in stream:
            if isinstance(event, TurnDone):
                if event.status == "interrupted" and self._barge_in_at is not None:
                    self.barge_ins.append(round((time.monotonic() - self._barge_in_at) * 1000, 1))
                if self.answering == event.turn_id:
                    self.answering = None
            elif isinstance(event, SpeechOutput):
                self._spoken.append((time.monotonic(), _words(event.text)))
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
