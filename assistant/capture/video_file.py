"""`VideoFileSource`: a video file played as if it were a camera, paced at its own frame rate."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator

import av
import numpy as np

from assistant.capture.base import VIDEO_QUEUE_SIZE, CaptureSource, Clock, Pacer, Run, Sleep, frame_size, pacing
from assistant.frames import VideoFrame
from models.errors import MediaError
from models.media.av_container import PacketDecoder, open_container, require_decoder
from models.media.limits import MediaLimits
from models.media.source import DECODE_ERRORS, opened

logger = logging.getLogger(__name__)

_VIDEO_EXPECTED = "MP4, MOV, WebM, MKV, AVI or GIF"

# A played file is decoded frame by frame, never held whole, so its size in bytes does not matter;
# the pixel limit (against decompression bombs) still applies to every frame.
STREAM_LIMITS = MediaLimits(max_bytes=1 << 40)

_FALLBACK_PERIOD = 1 / 25  # a frame's duration when the file declares no rate and has a single frame
_TOLERANCE = 1e-3  # seconds: timestamps are rounded by the container's time base


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
        limits: MediaLimits = STREAM_LIMITS,
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
        with (
            opened(self.path, None, self._limits) as (label, handle),
            open_container(label, handle, _VIDEO_EXPECTED) as box,
        ):
            stream = _video_stream(label, box)
            require_decoder(label, stream)
            _check_pixels(label, stream.codec_context.width, stream.codec_context.height, self._limits)
            stream.codec_context.thread_type = "AUTO"
            period = _declared_period(stream)
            step = 1.0 / self.fps if self.fps else 0.0
            first: float | None = None
            last = previous = 0.0
            due = 0.0
            count = 0
            for frame, seconds in _decode(label, box, stream):
                if run.stopping:
                    return None
                if seconds is None:
                    seconds = (first or 0.0) + count * (period or _FALLBACK_PERIOD)
                if first is None:
                    first = seconds
                previous, last = last, seconds - first
                count += 1
                if step and last + _TOLERANCE < due:
                    continue
                while step and due <= last + _TOLERANCE:
                    due += step
                pixels = _pixels(label, frame, self.size, self._limits)
                if not run.has_started:
                    rate = f"{1 / period:g} fps" if period else "unknown rate"
                    run.started(f"{label}, {pixels.shape[1]}x{pixels.shape[0]}, {rate}")
                if pacer is not None:
                    pacer.wait_until(offset + last)
                if not run.emit(VideoFrame(pixels, offset + last)):
                    return None
        if count == 0:
            raise MediaError(label, "has no decodable video frames; re-export or re-download it")
        gap = last - previous if count > 1 else 0.0
        return last + (period or gap or _FALLBACK_PERIOD)


def _decode(
    label: str, box: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> Iterator[tuple[av.VideoFrame, float | None]]:
    """(frame, seconds) in presentation order; a damaged spot ends the pass once frames were read."""
    packets = PacketDecoder(label)
    frames = packets.frames(box, stream)
    count = 0
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            break
        except DECODE_ERRORS as exc:
            if count == 0:
                raise MediaError(label, f"could not be decoded: it looks corrupt or truncated ({exc}); "
                                 "re-export or re-download it") from exc
            logger.warning("%s: stopped at a damaged spot after %d frames (%s)", label, count, exc)
            break
        count += 1
        yield frame, (float(frame.time) if frame.time is not None else None)
    if packets.skipped:
        logger.warning("%s: skipped %d undecodable video packet(s)", label, packets.skipped)


def _pixels(label: str, frame: av.VideoFrame, size: tuple[int, int] | None, limits: MediaLimits) -> np.ndarray:
    _check_pixels(label, frame.width, frame.height, limits)
    try:
        if size is None or (frame.width, frame.height) == size:
            return frame.to_ndarray(format="rgb24")
        width, height = size
        return frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()
    except DECODE_ERRORS as exc:
        raise MediaError(label, f"has a frame that could not be converted ({exc}); re-export it as MP4") from exc


def _video_stream(label: str, box: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The first real video stream (cover art attached to audio files does not count)."""
    for stream in box.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise MediaError(label, f"has no video stream; give a video file ({_VIDEO_EXPECTED})")


def _declared_period(stream: av.video.stream.VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        return None
    fps = float(rate)
    return 1.0 / fps if math.isfinite(fps) and fps > 0 else None


def _check_pixels(label: str, width: int | None, height: int | None, limits: MediaLimits) -> None:
    if width and height and width * height > limits.max_pixels:
        raise MediaError(label, f"has {width}×{height} = {width * height:,}-pixel frames, over the "
                         f"{limits.max_pixels:,} pixel limit; scale the video down first")

