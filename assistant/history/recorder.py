"""Saves each reply event of a turn to history, on the history writer thread, then passes it on
(media and speech with the path they were saved at)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from concurrent.futures import Executor

from ..frames import Frame, MediaOutput, ReplyEvent, SpeechOutput
from ..processor import Processor
from .store import History

log = logging.getLogger(__name__)


class HistoryRecorder(Processor):
    def __init__(self, history: History, writer: Executor) -> None:
        super().__init__()
        self.history = history
        self.writer = writer  # one thread: events are written, and passed on, in the order they came

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, ReplyEvent):
            frame = await asyncio.get_running_loop().run_in_executor(self.writer, self._record, frame)
        await self.push(frame)

    def _record(self, event: ReplyEvent) -> ReplyEvent:
        try:
            saved = self.history.record(event)
        except Exception:  # a full disk must not end the answer; the log says what was lost
            log.exception("could not save %s of turn %s to history", type(event).__name__, event.turn_id)
            return event
        if saved is not None and isinstance(event, (MediaOutput, SpeechOutput)):
            return dataclasses.replace(event, path=str(saved.path))
        return event
