"""The runtime's contract: processors linked into a pipeline, frames in order, the end last."""

from dataclasses import dataclass

import pytest

from assistant.frames import EndOfStream, Frame, SourceStatus
from assistant.processor import Pipeline, Processor, QueueSink


@dataclass(frozen=True)
class Word(Frame):
    text: str


class Upper(Processor):
    async def process(self, frame: Frame) -> None:
        await self.push(Word(frame.text.upper()) if isinstance(frame, Word) else frame)


class Doubler(Processor):
    """Holds one word back and sends it twice at the end: a processor that finishes on EndOfStream."""

    def __init__(self) -> None:
        super().__init__()
        self.held: Word | None = None

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, Word):
            self.held = frame
            return
        if isinstance(frame, EndOfStream) and self.held is not None:
            await self.push(self.held)
            await self.push(self.held)
        await self.push(frame)


@pytest.mark.asyncio
async def test_frames_go_through_every_processor_in_order_and_the_end_comes_last():
    sink = QueueSink()
    pipeline = Pipeline([Upper(), Doubler(), sink])
    await pipeline.process(Word("cat"))
    status = SourceStatus("camera", "started")
    await pipeline.process(status)  # a frame no processor is for passes on unchanged
    await pipeline.end()
    out = [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]
    assert out[0] is status
    assert [w.text for w in out[1:3]] == ["CAT", "CAT"] and isinstance(out[3], EndOfStream)


@pytest.mark.asyncio
async def test_a_pipeline_is_a_processor_and_nests():
    sink = QueueSink()
    outer = Pipeline([Pipeline([Upper()]), sink])
    await outer.process(Word("dog"))
    assert sink.queue.get_nowait().text == "DOG"


def test_an_empty_pipeline_is_refused():
    with pytest.raises(ValueError, match="at least one processor"):
        Pipeline([])
