"""Audio and video files opened with PyAV (FFmpeg), restricted to safe demuxers."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import av
import av.error

from models.errors import MediaError
from models.media.source import DECODE_ERRORS

logger = logging.getLogger(__name__)

# FFmpeg demuxers read_audio and read_video will use; playlist and concat demuxers, which open
# further files named inside the input, are not among them.
DEMUXERS = "wav,w64,flac,ogg,mp3,aac,aiff,caf,amr,mov,mp4,m4a,matroska,webm,avi,asf,mpegts,mpeg,flv,gif"





@contextmanager
def open_container(label: str, handle: BinaryIO, expected: str) -> Iterator[av.container.InputContainer]:
    """Open ``handle`` with PyAV, restricted to the demuxers above, or raise MediaError."""
    try:
        container = av.open(handle, mode="r", container_options={"format_whitelist": DEMUXERS},
                            metadata_errors="replace")
    except DECODE_ERRORS as exc:
        raise MediaError(label, f"is not a file FFmpeg can read (expected {expected})") from exc
    try:
        yield container
    finally:
        try:
            container.close()
        except DECODE_ERRORS as exc:  # closing a broken container must not mask the real outcome
            logger.debug("%s: error while closing (%s)", label, exc)


def require_decoder(label: str, stream: av.stream.Stream) -> None:
    """Refuse a stream whose codec this FFmpeg build cannot decode (PyAV gives it no codec context)."""
    if stream.codec_context is None:
        raise MediaError(label, f"uses a {stream.type} codec this FFmpeg cannot decode; convert it first "
                         "(for example to MP4 with H.264 and AAC)")


def declared_seconds(container: av.container.InputContainer, stream: av.stream.Stream) -> float | None:
    """The duration the headers declare for ``stream`` (or the whole container), if any."""
    seconds: float | None = None
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None and container.duration > 0:
        seconds = container.duration / av.time_base
    if seconds is None or not math.isfinite(seconds):
        return None
    return seconds


def too_long(label: str, seconds: float | None, limit: float) -> MediaError:
    if seconds is None:
        return MediaError(label, f"is longer than the {limit:g} s limit; trim it first")
    return MediaError(label, f"is {seconds:.1f} s long, over the {limit:g} s limit; trim it first")


class PacketDecoder:
    """Decodes one stream's packets into frames, skipping (and counting) packets that do not decode,
    so a truncated download still gives what can be read."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.skipped = 0

    def frames(self, box: av.container.InputContainer, stream: av.stream.Stream) -> Iterator[av.frame.Frame]:
        for packet in box.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as exc:
                self.skipped += 1
                logger.debug("%s: skipping an undecodable %s packet (%s)", self.label, stream.type, exc)
                continue
            yield from decoded
