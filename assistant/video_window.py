"""The rolling video window of a live session: frames sampled at a few per second, each encoded
by the image encoder as it arrives, the last K kept, so a turn waits only for the LLM. With real
eyes (a perception role) each sample is also looked at: what is seen (SceneSeen) and what came
into or left the view (SceneChange) are pushed on.

A processor: VideoFrame frames end here; every other frame passes on. `snapshot()` is what a turn
attaches."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from models import AnyToAnyModel, EncodedVideo, ImageData

from .frames import EndOfStream, Frame, SceneChange, SceneSeen, VideoFrame
from .processor import Processor

log = logging.getLogger(__name__)
RunOnDevice = Callable[..., Awaitable[Any]]


class VideoWindow(Processor):
    def __init__(self, model: AnyToAnyModel, run_on_device: RunOnDevice, sample_fps: float = 2.0, keep: int = 8,
                 look: bool = False):
        super().__init__()
        self.model = model
        # frames are looked at only with real eyes, and when asked (someone shows or says what is seen)
        self.tracker = model.scene_tracker() if model.can_see and look else None
        self.run_on_device = run_on_device
        self.interval = 1.0 / sample_fps
        self.sample_fps = sample_fps
        self._features: deque[Any] = deque(maxlen=keep)
        self._latest: np.ndarray | None = None
        self._last_sample: float | None = None
        self._encoding: asyncio.Task[None] | None = None
        self.sampled = 0
        self.dropped = 0  # sampled frames skipped because the encoder was still busy

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, VideoFrame):
            self._sample(frame)
            return
        if isinstance(frame, EndOfStream):
            await self.settle()
        await self.push(frame)

    def _sample(self, frame: VideoFrame) -> None:
        """Keeps the newest frame; starts encoding it when a sample is due and the encoder is free."""
        self._latest = frame.pixels
        if self._last_sample is not None and frame.timestamp - self._last_sample < self.interval - 1e-6:
            return
        self._last_sample = frame.timestamp
        if self._encoding is not None and not self._encoding.done():
            self.dropped += 1
            return
        self.sampled += 1
        self._encoding = asyncio.create_task(self._encode(frame.pixels, frame.timestamp))

    async def _encode(self, pixels: np.ndarray, timestamp: float) -> None:
        try:
            features = await self.run_on_device(self.model.encode_frames, [pixels])
            scene = await self.run_on_device(self.model.look, pixels) if self.tracker is not None else None
        except Exception:  # one bad frame must not stop the window
            log.exception("could not encode a camera frame")
            return
        self._features.append(features)
        if scene is not None and self.tracker is not None:
            await self.push(SceneSeen(tuple(scene.as_dict()["detections"]), timestamp))
            for news in self.tracker.update(scene):
                await self.push(SceneChange(news))

    async def settle(self) -> None:
        """Waits for the frame being encoded, if any."""
        if self._encoding is not None:
            await asyncio.gather(self._encoding, return_exceptions=True)

    def snapshot(self) -> EncodedVideo | ImageData | None:
        """The window as a pre-encoded video (two or more frames), else the latest frame, else None."""
        if len(self._features) >= 2:
            latest = None if self._latest is None else np.ascontiguousarray(self._latest)
            return self.model.encoded_video(list(self._features), self.sample_fps, latest)
        if self._latest is not None:
            return ImageData(np.ascontiguousarray(self._latest))
        return None
