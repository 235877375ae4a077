"""`stream_video`: a video file's frames decoded one at a time, never held whole (a file played as a
camera), with the same checks and clear errors as `read_video`."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

import av
import numpy as np

from models.errors import MediaError
from models.media.av_container import PacketDecoder, open_container, require_decoder
from models.media.limits import MediaLimits
from models.media.source import DECODE_ERRORS, opened

logger = logging.getLogger(__name__)

_VIDEO_EXPECTED = "MP4, MOV, WebM, MKV, AVI or GIF"

STREAM_LIMITS = MediaLimits(max_bytes=1 << 40)
"""A streamed file is decoded frame by frame, so its size in bytes does not matter; the pixel limit
(against decompression bombs) still applies to every frame."""

_FALLBACK_PERIOD = 1 / 25  # a frame's duration when the file declares no rate and has a single frame
_TOLERANCE = 1e-3  # seconds: timestamps are rounded by the container's time base


class VideoStream:
    """One pass over an opened video file: `frames()` yields (RGB pixels, seconds from the first
    frame); afterwards `duration` is the pass's length, the last frame shown for its whole period."""

    def __init__(self, label: str, box: av.container.InputContainer, size: tuple[int, int] | None,
                 fps: float | None, limits: MediaLimits) -> None:
        self.label = label
        self._box = box
        self._stream = _video_stream(label, box)
        require_decoder(label, self._stream)
        _check_pixels(label, self._stream.codec_context.width, self._stream.codec_context.height, limits)
        self._stream.codec_context.thread_type = "AUTO"
        self.period = _declared_period(self._stream)
        self._size = size
        self._step = 1.0 / fps if fps else 0.0
        self._limits = limits
        self.duration: float | None = None

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """Frames in presentation order, only as many as `fps` needs (never more than the file has)."""
        first: float | None = None
        last = previous = due = 0.0
        count = 0
        for frame, seconds in _decode(self.label, self._box, self._stream):
            if seconds is None:
                seconds = (first or 0.0) + count * (self.period or _FALLBACK_PERIOD)
            if first is None:
                first = seconds
            previous, last = last, seconds - first
            count += 1
            if self._step and last + _TOLERANCE < due:
                continue
            while self._step and due <= last + _TOLERANCE:
                due += self._step
            yield _pixels(self.label, frame, self._size, self._limits), last
        if count == 0:
            raise MediaError(self.label, "has no decodable video frames; re-export or re-download it")
        gap = last - previous if count > 1 else 0.0
        self.duration = last + (self.period or gap or _FALLBACK_PERIOD)


@contextmanager
def stream_video(path: str | os.PathLike[str], size: tuple[int, int] | None = None, fps: float | None = None,
                 limits: MediaLimits | None = None) -> Iterator[VideoStream]:
    """Opens `path` for one pass over its frames, scaled to `size` (width, height) when given;
    `limits` defaults to STREAM_LIMITS."""
    limits = limits or STREAM_LIMITS
    with opened(os.fspath(path), None, limits) as (label, handle), open_container(label, handle,
                                                                                  _VIDEO_EXPECTED) as box:
        yield VideoStream(label, box, size, fps, limits)


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
