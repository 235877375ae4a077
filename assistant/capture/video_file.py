"""`VideoFileSource`: a video file played as if it were a camera, paced at its own frame rate."""

from __future__ import annotations

import logging
import math
import os
import time

from assistant.capture.base import VIDEO_QUEUE_SIZE, CaptureSource, Clock, Pacer, Run, Sleep, frame_size, pacing
from assistant.frames import VideoFrame
from models import MediaLimits, stream_video

logger = logging.getLogger(__name__)


class VideoFileSource(CaptureSource):
    """Frames of a video file as RGB `VideoFrame`s, like a camera would give them.

    Timestamps are seconds of the file's timeline, the first frame at 0, and keep growing across
    loops. ``realtime=True`` emits each frame when its timestamp comes due (on ``clock``, sleeping
    with ``sleep``); ``realtime=False`` emits as fast as it decodes and, having no real-time
    deadline, waits for a slow consumer instead of dropping frames. ``fps`` keeps only as many
    frames as that rate needs (it never adds frames); ``size`` is (width, height) to scale to.
    Without an injected ``sleep``, waits end at once on `stop()`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float | None = None,
        loop: bool = False,
        realtime: bool = True,
        size: tuple[int, int] | None = None,
        *,
        name: str = "video file",
        queue_size: int = VIDEO_QUEUE_SIZE,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        limits: MediaLimits | None = None,
    ) -> None:
        super().__init__(name, queue_size)
        if fps is not None and (isinstance(fps, bool) or not math.isfinite(fps) or fps <= 0):
            raise ValueError(f"fps must be a positive number or None, got {fps!r}")
        self.path = os.fspath(path)
        self.fps = fps
        self.loop = loop
        self.realtime = realtime
        self.size = frame_size(size)
        self.drops_when_behind = realtime
        self._clock = clock
        self._sleep = sleep
        self._limits = limits

    def _read(self, run: Run) -> str:
        pacer = pacing(self._clock, self._sleep, run) if self.realtime else None
        offset = 0.0
        while True:
            duration = self._play_once(run, pacer, offset)
            if duration is None:  # stopped
                return "stopped"
            offset += duration
            if not self.loop:
                break
        if pacer is not None:
            pacer.wait_until(offset)  # the last frame is shown for its whole duration
        return f"end of {self.path}"

    def _play_once(self, run: Run, pacer: Pacer | None, offset: float) -> float | None:
        """Emit one pass over the file, timestamps shifted by ``offset``; its duration, or None when stopped."""
        with stream_video(self.path, self.size, self.fps, self._limits) as video:
            for pixels, seconds in video.frames():
                if run.stopping:
                    return None
                if not run.has_started:
                    rate = f"{1 / video.period:g} fps" if video.period else "unknown rate"
                    run.started(f"{video.label}, {pixels.shape[1]}x{pixels.shape[0]}, {rate}")
                if pacer is not None:
                    pacer.wait_until(offset + seconds)
                if not run.emit(VideoFrame(pixels, offset + seconds)):
                    return None
        return video.duration
