"""Turns each finished utterance into the user's words."""

from __future__ import annotations

from ..engine import Engine
from ..frames import Frame, Transcript, Utterance
from ..processor import Processor


class Transcriber(Processor):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    async def process(self, frame: Frame) -> None:
        await self.push(frame)
        if isinstance(frame, Utterance):
            text = await self.engine.run_on_device(self.engine.model.transcribe, frame.audio)
            await self.push(Transcript(text=text, utterance=frame))
