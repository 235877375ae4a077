"""Submits each turn to the engine and pushes its reply events on; when the user starts talking
over an answer, cancels it (barge-in)."""

from __future__ import annotations

import asyncio
import time

from ..engine import Engine, ReplyStream
from ..frames import EndOfStream, Frame, SpeechStarted, Turn, TurnDone
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

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, EndOfStream) and self._replies:
            await asyncio.wait(self._replies, timeout=self.drain_s)
        await self.push(frame)
        if isinstance(frame, SpeechStarted) and self.barge_in and self.answering:
            self._barge_in_at = time.monotonic()
            self.engine.cancel(self.answering, "barge-in")
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
            await self.push(event)
