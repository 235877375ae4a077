"""Saves each reply event of a turn to history, on the history writer thread, then passes it on
(media and speech with the path they were saved at).

Events are handed to the writer as they come and passed on in the same order once written; the
pipeline before the recorder does not wait for the disk, so a slow write (a video's H.264 encoding)
holds back only what comes after it in the stream, never the speech being synthesised upstream.
The turn's last event, TurnDone, is passed on after everything before it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from concurrent.futures import Executor

from ..frames import Frame, MediaOutput, ReplyEvent, SpeechOutput, TurnDone
from ..processor import Processor
from .store import History

log = logging.getLogger(__name__)


class HistoryRecorder(Processor):
    def __init__(self, history: History, writer: Executor) -> None:
        super().__init__()
        self.history = history
        self.writer = writer  # one thread: events are written in the order they came
        self._passed: asyncio.Task[None] | None = None  # passing on the latest event, after those before it

    async def process(self, frame: Frame) -> None:
        written = (asyncio.get_running_loop().run_in_executor(self.writer, self._record, frame)
                   if isinstance(frame, ReplyEvent) else None)
        self._passed = asyncio.create_task(self._pass_on(self._passed, frame, written))
        if isinstance(frame, TurnDone):
            await self._passed

    async def _pass_on(self, before: asyncio.Task[None] | None, frame: Frame,
                       written: asyncio.Future[ReplyEvent] | None) -> None:
        if before is not None:
            await before
        try:
            await self.push(await written if written is not None else frame)
        except Exception:  # one event that could not go on must not stop the ones after it
            log.exception("could not pass on %s", type(frame).__name__)

    def _record(self, event: ReplyEvent) -> ReplyEvent:
        try:
            saved = self.history.record(event)
        except Exception:  # a full disk must not end the answer; the log says what was lost
            log.exception("could not save %s of turn %s to history", type(event).__name__, event.turn_id)
            return event
        if saved is not None and isinstance(event, (MediaOutput, SpeechOutput)):
            return dataclasses.replace(event, path=str(saved.path))
        return event
