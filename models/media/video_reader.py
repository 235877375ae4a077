"""`read_video`: frames sampled evenly over a clip, as RGB arrays."""

from __future__ import annotations

import logging
import math

import av
import av.error
import numpy as np

from models.errors import MediaError
from models.media.av_container import PacketDecoder, declared_seconds, open_container, require_decoder, too_long
from models.media.limits import DEFAULT_LIMITS, MediaLimits
from models.media.source import DECODE_ERRORS, Source, opened
from models.media.types import VideoData

logger = logging.getLogger(__name__)

_VIDEO_EXPECTED = "MP4, MOV, WebM, MKV, AVI or GIF"



def read_video(
    source: Source, *, name: str | None = None, num_frames: int = 8, limits: MediaLimits = DEFAULT_LIMITS
) -> VideoData:
    """Read ``num_frames`` RGB frames spread evenly over the whole clip (all of them if it has fewer).

    The file is read twice: once without decoding, to count the frames and measure the clip, then
    decoding sequentially and keeping only the frames nearest the evenly spaced targets.
    ``num_frames`` is capped at ``limits.max_video_frames``. The returned ``fps`` is the rate of the
    sampled frames, so that ``seconds`` is the clip's duration.
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive int, got {num_frames!r}")
    wanted = min(num_frames, limits.max_video_frames)
    with opened(source, name, limits) as (label, handle):
        with open_container(label, handle, _VIDEO_EXPECTED) as box:
            stream = _video_stream(label, box)
            require_decoder(label, stream)
            _check_frame_size(label, stream.codec_context.width, stream.codec_context.height, limits)
            declared = declared_seconds(box, stream)
            if declared is not None and declared > limits.max_video_seconds:
                raise too_long(label, declared, limits.max_video_seconds)
            survey = _survey(label, box, stream, limits)
            index = stream.index
        handle.seek(0)
        with open_container(label, handle, _VIDEO_EXPECTED) as box:
            frames = _sample(label, box, box.streams[index], survey, wanted, limits)
    fps = len(frames) / survey.seconds if survey.seconds else survey.native_fps or 1.0
    return VideoData(np.stack(frames), fps)


def _video_stream(label: str, box: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The first real video stream (cover art attached to audio files does not count)."""
    for stream in box.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise MediaError(label, f"has no video stream; give a video file ({_VIDEO_EXPECTED})")


def _check_frame_size(label: str, width: int | None, height: int | None, limits: MediaLimits) -> None:
    if width and height and width * height > limits.max_pixels:
        raise MediaError(label, f"has {width}×{height} = {width * height:,}-pixel frames, over the "
                         f"{limits.max_pixels:,} pixel limit; scale the video down first")


class _Survey:
    """What one pass over the packets (no decoding) tells: frame positions, count, and duration."""

    def __init__(self, positions: list[int], by_time: bool, seconds: float | None, native_fps: float | None):
        self.positions = positions  # sorted presentation timestamps, or 0..n-1 when timestamps are missing
        self.by_time = by_time
        self.seconds = seconds
        self.native_fps = native_fps


def _survey(
    label: str, box: av.container.InputContainer, stream: av.video.stream.VideoStream, limits: MediaLimits
) -> _Survey:
    base = stream.time_base
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    native_fps = float(rate) if rate and math.isfinite(float(rate)) and float(rate) > 0 else None
    stamps: list[int] = []
    count = 0
    untimed = False
    all_durations = True
    start = end = None
    limit = limits.max_video_seconds
    try:
        for packet in box.demux(stream):
            if packet.size == 0 or packet.is_discard:
                continue
            count += 1
            if packet.pts is None or base is None:
                untimed = True
            else:
                stamps.append(packet.pts)
                finish = packet.pts + (packet.duration or 0)
                all_durations = all_durations and bool(packet.duration)
                start = packet.pts if start is None else min(start, packet.pts)
                end = finish if end is None else max(end, finish)
                if float((end - start) * base) > limit:
                    raise too_long(label, None, limit)
            if untimed and native_fps and count / native_fps > limit:
                raise too_long(label, None, limit)
    except DECODE_ERRORS as exc:
        if count == 0:
            raise MediaError(label, f"could not be read: it looks corrupt or truncated ({exc}); "
                             "re-export or re-download it") from exc
        logger.warning("%s: stopped reading at a damaged spot after %d frames (%s)", label, count, exc)
    if count == 0:
        raise MediaError(label, "has a video stream with no frames; re-export it")
    if untimed or start is None or end is None:
        seconds = count / native_fps if native_fps else None
        return _Survey(list(range(count)), False, seconds, native_fps)
    stamps.sort()
    last = stamps[-1]
    if all_durations:
        seconds = float((end - start) * base)
    elif count > 1:
        seconds = float((last - start) * base) * count / (count - 1)
    else:
        seconds = 1.0 / native_fps if native_fps else None
    if seconds is not None and seconds > limit:
        raise too_long(label, seconds, limit)
    return _Survey(stamps, True, seconds or None, native_fps)


def _targets(positions: list[int], wanted: int) -> list[int]:
    """Evenly spaced positions from first to last, chosen among the frames that exist."""
    n = len(positions)
    if n <= wanted:
        return list(positions)
    picks = np.floor(np.linspace(0, n - 1, wanted) + 0.5).astype(int)
    return [positions[i] for i in picks]


def _sample(
    label: str,
    box: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    survey: _Survey,
    wanted: int,
    limits: MediaLimits,
) -> list[np.ndarray]:
    """Decode sequentially, converting only the frame nearest each target position."""
    targets = _targets(survey.positions, wanted)
    stream.codec_context.thread_type = "AUTO"
    kept: list[np.ndarray] = []
    size: tuple[int, int] | None = None
    previous: tuple[av.VideoFrame, int] | None = None
    cached: tuple[av.VideoFrame, np.ndarray] | None = None
    counter = 0
    packets = PacketDecoder(label)

    def convert(frame: av.VideoFrame) -> np.ndarray:
        nonlocal size, cached
        if cached is not None and cached[0] is frame:
            return cached[1]
        if size is None:
            size = _output_size(frame.width, frame.height, limits.video_side)
        width, height = size
        if (frame.width, frame.height) == size:
            array = frame.to_ndarray(format="rgb24")
        else:
            array = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()
        cached = (frame, array)
        return array

    try:
        for frame in packets.frames(box, stream):
            _check_frame_size(label, frame.width, frame.height, limits)
            if survey.by_time and frame.pts is not None:
                position = frame.pts
            elif survey.by_time:
                position = previous[1] if previous else survey.positions[0]
            else:
                position = counter
            counter += 1
            while len(kept) < len(targets) and position >= targets[len(kept)]:
                goal = targets[len(kept)]
                if previous is not None and goal - previous[1] < position - goal:
                    kept.append(convert(previous[0]))
                else:
                    kept.append(convert(frame))
            previous = (frame, position)
            if len(kept) == len(targets):
                break
    except DECODE_ERRORS as exc:
        if previous is None:
            raise MediaError(label, f"could not be decoded: it looks corrupt or truncated ({exc}); "
                             "re-export or re-download it") from exc
        logger.warning("%s: stopped decoding at a damaged spot (%s)", label, exc)
    if previous is None:
        raise MediaError(label, "has no decodable video frames; re-export or re-download it")
    if packets.skipped:
        logger.warning("%s: skipped %d undecodable video packet(s)", label, packets.skipped)
    try:
        while len(kept) < len(targets):  # the clip ended before the last targets: use its last frame
            kept.append(convert(previous[0]))
    except DECODE_ERRORS as exc:
        raise MediaError(label, f"could not be decoded ({exc}); re-export it as MP4") from exc
    return kept


def _output_size(width: int, height: int, side: int | None) -> tuple[int, int]:
    """Frame size after scaling down so the longest side is at most ``side`` (never scaled up)."""
    longest = max(width, height)
    if side is None or longest <= side:
        return width, height
    scale = side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))
