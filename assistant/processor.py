"""The runtime's one contract: a processor takes a frame and pushes frames on (pipecat's
`process_frame` / `push_frame`), and a pipeline is a list of processors linked in order.

A processor handles the kinds of frame it is for and passes every other frame on unchanged. It
may push frames later, from a task of its own (an answer's events, a scene change). `EndOfStream`
goes through last: a processor that holds something (speech not yet cut, a frame being encoded,
answers in flight) finishes it, then passes the end on. Blocking work (a model call, a file write,
speech synthesis) runs in an executor, never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from .frames import EndOfStream, Frame


class Processor:
    def __init__(self) -> None:
        self._next: Processor | None = None

    def link(self, following: Processor) -> Processor:
        """Frames this processor pushes go to `following`; returns it, so links chain."""
        self._next = following
        return following

    async def process(self, frame: Frame) -> None:
        """Handles one frame. The default passes it on."""
        await self.push(frame)

    async def push(self, frame: Frame) -> None:
        if self._next is not None:
            await self._next.process(frame)


class Pipeline(Processor):
    """Processors in order: a frame given to the pipeline goes to the first, what the last pushes
    leaves the pipeline."""

    def __init__(self, processors: Iterable[Processor]) -> None:
        super().__init__()
        self.processors = list(processors)
        if not self.processors:
            raise ValueError("a pipeline needs at least one processor")
        for before, after in zip(self.processors, self.processors[1:], strict=False):
            before.link(after)
        self.processors[-1].link(_Exit(self))

    async def process(self, frame: Frame) -> None:
        await self.processors[0].process(frame)

    async def end(self) -> None:
        """Sends EndOfStream through: every processor finishes what it holds."""
        await self.process(EndOfStream())


class _Exit(Processor):
    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__()
        self.pipeline = pipeline

    async def process(self, frame: Frame) -> None:
        await self.pipeline.push(frame)


class QueueSink(Processor):
    """The end of a pipeline that someone reads as an async stream: every frame goes on a queue."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[Frame] = asyncio.Queue()

    async def process(self, frame: Frame) -> None:
        self.queue.put_nowait(frame)
        await self.push(frame)
