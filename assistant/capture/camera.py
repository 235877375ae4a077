"""`CameraSource`: live RGB frames from a camera through OpenCV."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from assistant.capture.base import VIDEO_QUEUE_SIZE, CaptureSource, Clock, Run, SourceUnavailable, frame_size
from assistant.frames import VideoFrame

logger = logging.getLogger(__name__)

_INSTEAD = "choose a video file as the camera instead"
_MAX_FAILED_READS = 30  # consecutive failed reads (about a second) before the camera counts as gone


def _cv2() -> ModuleType:
    """OpenCV, imported on first use (it takes a while to load and only the camera needs it)."""
    try:
        import cv2
    except ImportError as exc:
        raise SourceUnavailable(f"no camera support: OpenCV could not be imported ({exc}); install "
                                f"opencv-python-headless, or {_INSTEAD}") from exc
    return cv2


@contextmanager
def _quiet(cv2: ModuleType) -> Iterator[None]:
    """Silence OpenCV's warnings while probing devices (a missing camera is reported our way)."""
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        yield
        return
    previous = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        log.setLogLevel(previous)


def _open(cv2: ModuleType, index: int) -> Any:
    with _quiet(cv2):
        return cv2.VideoCapture(index)


def list_cameras(max_index: int = 5) -> list[int]:
    """Indexes 0 to ``max_index`` (inclusive) of the cameras that open and give a frame; [] when none."""
    try:
        cv2 = _cv2()
    except SourceUnavailable as exc:
        logger.debug("no cameras: %s", exc)
        return []
    found = []
    for index in range(max_index + 1):
        capture = _open(cv2, index)
        try:
            if capture.isOpened() and capture.read()[0]:
                found.append(index)
        finally:
            capture.release()
    return found


class CameraSource(CaptureSource):
    """(H, W, 3) uint8 RGB `VideoFrame`s from camera ``index``, at most ``fps`` a second.

    ``size`` is the (width, height) to ask the camera for; frames are scaled to it when the camera
    gives another. Timestamps are seconds on ``clock`` since the first frame.
    """

    def __init__(
        self,
        index: int = 0,
        fps: float = 30.0,
        size: tuple[int, int] | None = None,
        *,
        name: str = "camera",
        queue_size: int = VIDEO_QUEUE_SIZE,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(name, queue_size)
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"index must be a non-negative int, got {index!r}")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self.index = index
        self.fps = float(fps)
        self.size = frame_size(size)
        self._clock = clock

    def _read(self, run: Run) -> None:
        cv2 = _cv2()
        capture = _open(cv2, self.index)
        try:
            if not capture.isOpened():
                raise SourceUnavailable(f"no camera at index {self.index} (none is connected there, or another "
                                        f"program is using it); choose another index (see list_cameras), or {_INSTEAD}")
            capture.set(cv2.CAP_PROP_FPS, self.fps)
            if self.size is not None:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
            ok, bgr = capture.read()
            if not ok or bgr is None:
                raise SourceUnavailable(f"the camera at index {self.index} opened but gives no frames; choose "
                                        f"another index (see list_cameras), or {_INSTEAD}")
            run.started(f"camera {self.index}, {bgr.shape[1]}x{bgr.shape[0]}, up to {self.fps:g} fps")
            self._stream(cv2, capture, bgr, run)
        finally:
            capture.release()

    def _stream(self, cv2: ModuleType, capture: Any, bgr: np.ndarray, run: Run) -> None:
        period = 1.0 / self.fps
        origin = self._clock()
        due = 0.0
        while True:
            t = self._clock() - origin
            if t >= due - period / 4:  # a camera faster than ``fps`` has its extra frames skipped
                if not run.emit(VideoFrame(self._rgb(cv2, bgr), t)):
                    return
                due = max(due + period, t - period)
            next_bgr = self._next(capture, run, period)
            if next_bgr is None:
                return
            bgr = next_bgr

    def _next(self, capture: Any, run: Run, period: float) -> np.ndarray | None:
        """The camera's next frame; None when stopped; raises when the camera has gone away."""
        for _ in range(_MAX_FAILED_READS):
            if run.stopping:
                return None
            ok, bgr = capture.read()
            if ok and bgr is not None:
                return bgr
            if run.wait(period):
                return None
        raise RuntimeError(f"camera {self.index} stopped giving frames (unplugged, or taken by another program)")

    def _rgb(self, cv2: ModuleType, bgr: np.ndarray) -> np.ndarray:
        if self.size is not None and (bgr.shape[1], bgr.shape[0]) != self.size:
            bgr = cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
