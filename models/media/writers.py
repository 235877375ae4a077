"""Encoders that turn ImageData, AudioData and VideoData into PNG, WAV and MP4 bytes or files."""

from __future__ import annotations

import io
import logging
import os
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
from PIL import Image

from models.errors import MediaError
from models.media.kinds import Media, kind_of
from models.media.types import AudioData, ImageData, VideoData

logger = logging.getLogger(__name__)


def encode_png(image: ImageData) -> bytes:
    """The image as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image.pixels)).save(buffer, format="PNG")
    return buffer.getvalue()


def encode_wav(audio: AudioData) -> bytes:
    """The clip as a mono 16-bit PCM WAV file; samples outside [-1, 1] are clipped."""
    samples = np.nan_to_num(audio.samples, nan=0.0, posinf=1.0, neginf=-1.0)
    pcm = np.rint(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _video_codec() -> str:
    try:
        av.Codec("libx264", "w")
    except (av.error.FFmpegError, ValueError):
        logger.warning("libx264 is not available in this FFmpeg build; writing MPEG-4 Part 2 video instead")
        return "mpeg4"
    return "libx264"


def encode_mp4(video: VideoData) -> bytes:
    """The clip as an MP4 file (H.264, yuv420p); an odd width or height is padded by one edge pixel."""
    frames = video.frames
    _, height, width, _ = frames.shape
    pad_h, pad_w = height % 2, width % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    rate = Fraction(video.fps).limit_denominator(1001)
    if rate <= 0:
        rate = Fraction(1, 1001)
    codec = _video_codec()
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width = width + pad_w
        stream.height = height + pad_h
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / rate
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "medium"}
        else:
            stream.bit_rate = 8_000_000
        for i, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def encode(media: Media) -> bytes:
    """``media`` as PNG, WAV or MP4 bytes, by its type."""
    kind = kind_of(media)
    if kind == "image":
        return encode_png(media)  # type: ignore[arg-type]
    if kind == "audio":
        return encode_wav(media)  # type: ignore[arg-type]
    return encode_mp4(media)  # type: ignore[arg-type]


def write_media(media: Media, path: Path) -> Path:
    """Write ``media`` to ``path`` (PNG, WAV or MP4 by type) atomically; return ``path``.

    The bytes go to a temporary file beside ``path`` that then replaces it, so a reader never sees
    a half-written file. Missing parent folders are created. A path that cannot be written raises
    MediaError.
    """
    path = Path(path)
    data = encode(media)
    temp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False) as temp:
            temp_name = temp.name
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, 0o644)  # an output the user shares, not a secret (mkstemp makes 0600)
        os.replace(temp_name, path)
        temp_name = None
    except OSError as exc:
        raise MediaError(str(path), f"cannot be written ({exc.strerror or exc}); "
                         "check the folder exists and is writable") from exc
    finally:
        if temp_name is not None:
            try:
                os.unlink(temp_name)
            except OSError:
                pass
    return path
