"""Says aloud what came into or left the camera's view, when no answer is being given."""

from __future__ import annotations

import asyncio
import logging

from ..engine import Engine
from ..frames import EndOfStream, Frame, SceneChange, SourceStatus, SpeechOutput
from ..processor import Processor
from .answerer import Answerer

log = logging.getLogger(__name__)


class Narrator(Processor):
    def __init__(self, engine: Engine, answerer: Answerer) -> None:
        super().__init__()
        self.engine = engine
        self.answerer = answerer
        self._said = 0
        self._saying: set[asyncio.Task[None]] = set()

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, EndOfStream) and self._saying:
            await asyncio.wait(self._saying)
        await self.push(frame)
        if isinstance(frame, SceneChange) and self.answerer.answering is None:
            task = asyncio.create_task(self._say(frame.text))
            self._saying.add(task)
            task.add_done_callback(self._saying.discard)

    async def _say(self, text: str) -> None:
        """Speech output a player plays; not an answer, so nothing is kept in history."""
        try:
            audio = await self.engine.run_on_device(self.engine.model.synthesize, text)
        except Exception as error:
            log.exception("narration failed")
            await self.push(SourceStatus("narration", "error", str(error)))
            return
        self._said += 1
        await self.push(SpeechOutput(f"narration-{self._said}", audio, 0, text))
