"""Readers that turn a user's file (or its bytes) into ImageData, AudioData or VideoData.

Every problem the input can cause (missing, empty, too large, corrupt, unsupported, too long, a
decompression bomb) is raised as ``MediaError`` naming the source and saying what to do; no
exception from Pillow, PyAV or the OS escapes.
"""

from __future__ import annotations

import io
import logging
import math
import os
import stat
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import av
import av.error
import numpy as np
from PIL import Image, ImageOps

from models.errors import MediaError
from models.media.limits import DEFAULT_LIMITS, MB, MediaLimits
from models.media.types import AudioData, ImageData, VideoData

logger = logging.getLogger(__name__)

Source = str | os.PathLike[str] | bytes

# What the libraries raise on bad input. Pillow's plugins are not strict about it, so this is wide;
# it leaves out the exceptions that only a bug in this module could cause (AttributeError, NameError).
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    av.error.FFmpegError,
    Image.DecompressionBombError,
    OSError,
    ValueError,
    EOFError,
    SyntaxError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    MemoryError,
    RuntimeError,
)

# Pillow plugins read_image will try. Leaving out the rest keeps exotic parsers (and EPS, which
# runs Ghostscript) away from untrusted files.
_IMAGE_FORMATS = (
    "PNG", "JPEG", "WEBP", "GIF", "BMP", "DIB", "TIFF", "ICO", "PPM", "TGA", "AVIF", "QOI", "JPEG2000",
)
_IMAGE_EXPECTED = "PNG, JPEG, WebP, GIF, BMP, TIFF, AVIF"

# FFmpeg demuxers read_audio and read_video will use; playlist and concat demuxers, which open
# further files named inside the input, are not among them.
_DEMUXERS = "wav,w64,flac,ogg,mp3,aac,aiff,caf,amr,mov,mp4,m4a,matroska,webm,avi,asf,mpegts,mpeg,flv,gif"
_AUDIO_EXPECTED = "WAV, FLAC, OGG, MP3, M4A, or a video file with sound"
_VIDEO_EXPECTED = "MP4, MOV, WebM, MKV, AVI or GIF"


# ---------------------------------------------------------------------------------------------
# Sources: a path or bytes, checked for existence, emptiness and size before any decoder sees it.


def _size_text(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f}".removesuffix(".0") + " MB"
    if n >= 1024:
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{n} bytes"


def _check_size(label: str, size: int, limits: MediaLimits) -> None:
    if size == 0:
        raise MediaError(label, "is empty (0 bytes); give a file that has content")
    if size > limits.max_bytes:
        have, limit = _size_text(size), _size_text(limits.max_bytes)
        if have == limit:
            have, limit = f"{size} bytes", f"{limits.max_bytes} bytes"
        raise MediaError(label, f"is {have}, over the {limit} limit; use a smaller or shorter file")


@contextmanager
def _opened(source: Source, name: str | None, limits: MediaLimits) -> Iterator[tuple[str, BinaryIO]]:
    """Yield (label for messages, readable binary file) for a path or bytes, after the shared checks."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "<bytes>"
        data = bytes(source)
        _check_size(label, len(data), limits)
        yield label, io.BytesIO(data)
        return
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"media source must be a path or bytes, got {type(source).__name__}")
    path = os.fsdecode(os.fspath(source))
    label = name or path or "<empty path>"
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise MediaError(label, "no such file; check the path") from None
    except PermissionError:
        raise MediaError(label, "cannot be read: permission denied") from None
    except (OSError, ValueError) as exc:
        raise MediaError(label, f"cannot be read ({exc}); check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise MediaError(label, "is a directory, not a file; give the path of a file inside it")
    if not stat.S_ISREG(info.st_mode):
        raise MediaError(label, "is not a regular file (a device, pipe or socket); save it to a file first")
    _check_size(label, info.st_size, limits)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below, around the yield
    except PermissionError:
        raise MediaError(label, "cannot be read: permission denied") from None
    except OSError as exc:
        raise MediaError(label, f"cannot be read ({exc.strerror or exc})") from None
    with handle:
        yield label, handle


# ---------------------------------------------------------------------------------------------
# Images


def _image_formats() -> list[str]:
    Image.init()
    return [f for f in _IMAGE_FORMATS if f in Image.OPEN]


def _wide_to_rgb(im: Image.Image) -> Image.Image:
    """Map a 16-bit, 32-bit integer or float grayscale image onto 8 bits (Pillow's convert clips them)."""
    values = np.asarray(im).astype(np.float64)
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(values.max()) if values.size else 0.0
    if im.mode == "F":
        if peak <= 1.0:
            values = values * 255.0
    elif im.mode.startswith("I;16") or peak > 255.0:
        values = np.clip(values, 0.0, 65535.0) / 257.0
    gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(np.stack([gray] * 3, axis=-1)))


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode as RGB, with transparent areas composited onto white."""
    mode = im.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _wide_to_rgb(im)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", im.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return im.convert("RGB")


def read_image(source: Source, *, name: str | None = None, limits: MediaLimits = DEFAULT_LIMITS) -> ImageData:
    """Read one image (its first frame if animated) as upright RGB, alpha composited on white."""
    with _opened(source, name, limits) as (label, handle):
        try:
            with warnings.catch_warnings():  # Pillow warns about bombs (checked below) and damaged tags
                warnings.simplefilter("ignore")
                im = Image.open(handle, formats=_image_formats())
        except Image.DecompressionBombError as exc:
            raise MediaError(label, f"declares more pixels than can be decoded safely ({exc}); "
                             "use a smaller image") from exc
        except _DECODE_ERRORS as exc:
            raise MediaError(label, f"is not an image Pillow can read (expected {_IMAGE_EXPECTED})") from exc
        with im:
            width, height = im.size
            if width < 1 or height < 1:
                raise MediaError(label, f"declares an empty image ({width}×{height}); the file is corrupt")
            if width * height > limits.max_pixels:
                raise MediaError(label, f"is {width}×{height} = {width * height:,} pixels, over the "
                                 f"{limits.max_pixels:,} pixel limit (a decompression-bomb guard); "
                                 "scale it down first")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    im.load()  # decode errors surface here, before EXIF handling can hide them
                    pixels = np.array(_to_rgb(_upright(im, label)), dtype=np.uint8)
            except _DECODE_ERRORS as exc:
                raise MediaError(label, f"could not be decoded as {im.format or 'an image'}: it looks corrupt "
                                 f"or truncated ({exc}); re-export or re-download it") from exc
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise MediaError(label, f"decoded to an unusable pixel layout {pixels.shape}; convert it to PNG first")
    return ImageData(np.ascontiguousarray(pixels))


def _upright(im: Image.Image, label: str) -> Image.Image:
    """The image turned as its EXIF orientation says; unreadable EXIF is ignored, not fatal."""
    try:
        turned = ImageOps.exif_transpose(im)
    except _DECODE_ERRORS as exc:
        logger.debug("%s: ignoring unreadable EXIF orientation (%s)", label, exc)
        return im
    return turned if turned is not None else im


# ---------------------------------------------------------------------------------------------
# Audio and video: shared container handling


@contextmanager
def _container(label: str, handle: BinaryIO, expected: str) -> Iterator[av.container.InputContainer]:
    """Open ``handle`` with PyAV, restricted to the demuxers above, or raise MediaError."""
    try:
        container = av.open(handle, mode="r", container_options={"format_whitelist": _DEMUXERS},
                            metadata_errors="replace")
    except _DECODE_ERRORS as exc:
        raise MediaError(label, f"is not a file FFmpeg can read (expected {expected})") from exc
    try:
        yield container
    finally:
        try:
            container.close()
        except _DECODE_ERRORS as exc:  # closing a broken container must not mask the real outcome
            logger.debug("%s: error while closing (%s)", label, exc)


def _require_decoder(label: str, stream: av.stream.Stream) -> None:
    """Refuse a stream whose codec this FFmpeg build cannot decode (PyAV gives it no codec context)."""
    if stream.codec_context is None:
        raise MediaError(label, f"uses a {stream.type} codec this FFmpeg cannot decode; convert it first "
                         "(for example to MP4 with H.264 and AAC)")


def _declared_seconds(container: av.container.InputContainer, stream: av.stream.Stream) -> float | None:
    """The duration the headers declare for ``stream`` (or the whole container), if any."""
    seconds: float | None = None
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None and container.duration > 0:
        seconds = container.duration / av.time_base
    if seconds is None or not math.isfinite(seconds):
        return None
    return seconds


def _too_long(label: str, seconds: float | None, limit: float) -> MediaError:
    if seconds is None:
        return MediaError(label, f"is longer than the {limit:g} s limit; trim it first")
    return MediaError(label, f"is {seconds:.1f} s long, over the {limit:g} s limit; trim it first")


# ---------------------------------------------------------------------------------------------
# Audio


def read_audio(
    source: Source, *, name: str | None = None, rate: int = 16000, limits: MediaLimits = DEFAULT_LIMITS
) -> AudioData:
    """Read the first audio track of a file as mono float32 samples resampled to ``rate`` Hz."""
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise ValueError(f"rate must be a positive int, got {rate!r}")
    with _opened(source, name, limits) as (label, handle), _container(label, handle, _AUDIO_EXPECTED) as box:
        if not box.streams.audio:
            raise MediaError(label, f"has no audio stream; give a file with sound ({_AUDIO_EXPECTED})")
        stream = box.streams.audio[0]
        _require_decoder(label, stream)
        declared = _declared_seconds(box, stream)
        if declared is not None and declared > limits.max_audio_seconds:
            raise _too_long(label, declared, limits.max_audio_seconds)
        samples = _decode_audio(label, box, stream, rate, limits.max_audio_seconds)
    if samples.size == 0:
        raise MediaError(label, "contains no audio samples (zero length); record or export it again")
    return AudioData(samples, rate)


def _decode_audio(
    label: str, box: av.container.InputContainer, stream: av.audio.stream.AudioStream, rate: int, limit: float
) -> np.ndarray:
    """Decode ``stream`` through a mono float resampler, stopping as soon as it runs past ``limit``."""
    max_samples = math.ceil(limit * rate) if math.isfinite(limit) else None
    # rematrix_maxval=1 makes the downmix an average of the channels (FFmpeg's default sums
    # correlated channels at 0.707 each, which clips loud stereo).
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate, options={"rematrix_maxval": "1.0"})
    chunks: list[np.ndarray] = []
    total = 0
    bad_packets = 0

    def take(frames: list[av.AudioFrame]) -> None:
        nonlocal total
        for out in frames:
            chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            chunks.append(chunk)
            total += chunk.size
        if max_samples is not None and total > max_samples:
            raise _too_long(label, None, limit)

    try:
        for packet in box.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as exc:
                bad_packets += 1
                logger.debug("%s: skipping an undecodable audio packet (%s)", label, exc)
                continue
            for frame in decoded:
                frame.pts = None  # timestamps are not needed, and gaps in them upset the resampler
                take(resampler.resample(frame))
        take(resampler.resample(None))
    except _DECODE_ERRORS as exc:
        raise MediaError(label, f"could not be decoded: it looks corrupt or truncated ({exc}); "
                         "re-export or re-download it") from exc
    if bad_packets:
        if total == 0:
            raise MediaError(label, "could not be decoded: none of its audio is readable; "
                             "re-export or re-download it")
        logger.warning("%s: skipped %d undecodable audio packet(s)", label, bad_packets)
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    samples = np.concatenate(chunks)
    samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(samples, -1.0, 1.0, out=samples)


# ---------------------------------------------------------------------------------------------
# Video


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
    with _opened(source, name, limits) as (label, handle):
        with _container(label, handle, _VIDEO_EXPECTED) as box:
            stream = _video_stream(label, box)
            _require_decoder(label, stream)
            _check_frame_size(label, stream.codec_context.width, stream.codec_context.height, limits)
            declared = _declared_seconds(box, stream)
            if declared is not None and declared > limits.max_video_seconds:
                raise _too_long(label, declared, limits.max_video_seconds)
            survey = _survey(label, box, stream, limits)
            index = stream.index
        handle.seek(0)
        with _container(label, handle, _VIDEO_EXPECTED) as box:
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
                    raise _too_long(label, None, limit)
            if untimed and native_fps and count / native_fps > limit:
                raise _too_long(label, None, limit)
    except _DECODE_ERRORS as exc:
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
        raise _too_long(label, seconds, limit)
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
    bad_packets = 0

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
        for packet in box.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as exc:
                bad_packets += 1
                logger.debug("%s: skipping an undecodable video packet (%s)", label, exc)
                continue
            for frame in decoded:
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
    except _DECODE_ERRORS as exc:
        if previous is None:
            raise MediaError(label, f"could not be decoded: it looks corrupt or truncated ({exc}); "
                             "re-export or re-download it") from exc
        logger.warning("%s: stopped decoding at a damaged spot (%s)", label, exc)
    if previous is None:
        raise MediaError(label, "has no decodable video frames; re-export or re-download it")
    if bad_packets:
        logger.warning("%s: skipped %d undecodable video packet(s)", label, bad_packets)
    try:
        while len(kept) < len(targets):  # the clip ended before the last targets: use its last frame
            kept.append(convert(previous[0]))
    except _DECODE_ERRORS as exc:
        raise MediaError(label, f"could not be decoded ({exc}); re-export it as MP4") from exc
    return kept


def _output_size(width: int, height: int, side: int | None) -> tuple[int, int]:
    """Frame size after scaling down so the longest side is at most ``side`` (never scaled up)."""
    longest = max(width, height)
    if side is None or longest <= side:
        return width, height
    scale = side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))
