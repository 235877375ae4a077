"""Capture: live sources of video frames and audio chunks (camera, microphone, or a file standing in).

Every source has ``name``, ``async frames()``, ``stop()`` and ``dropped`` (see `base.CaptureSource`).
A missing device or a bad file never raises: it arrives as a ``SourceStatus`` saying why.
`open_camera` and `open_microphone` turn what a command line gives into a source.
"""

from __future__ import annotations

import os
from pathlib import Path

from assistant.capture.audio_file import AudioFileSource
from assistant.capture.base import (
    AUDIO_QUEUE_SIZE,
    ENDED,
    ERROR,
    STARTED,
    TERMINAL_STATES,
    UNAVAILABLE,
    VIDEO_QUEUE_SIZE,
    CaptureSource,
    FrameQueue,
    Pacer,
    SourceUnavailable,
)
from assistant.capture.camera import CameraSource, list_cameras
from assistant.capture.microphone import MicrophoneSource, list_microphones
from assistant.capture.video_file import VideoFileSource
from models import SUFFIXES

__all__ = [
    "AUDIO_QUEUE_SIZE",
    "ENDED",
    "ERROR",
    "STARTED",
    "TERMINAL_STATES",
    "UNAVAILABLE",
    "VIDEO_QUEUE_SIZE",
    "AudioFileSource",
    "CameraSource",
    "CaptureSource",
    "FrameQueue",
    "MicrophoneSource",
    "Pacer",
    "SourceUnavailable",
    "VideoFileSource",
    "list_cameras",
    "list_microphones",
    "open_camera",
    "open_microphone",
]

# Suffixes that make a microphone spec a file path even when no such file exists (so the user is
# told the file is missing rather than that no microphone has that name).
_MEDIA_SUFFIXES = SUFFIXES["audio"] | SUFFIXES["video"] | {".gif"}  # an animated GIF plays as a camera
_DEFAULT = {"", "default"}


def _is_index(spec: str) -> bool:
    return spec.isascii() and spec.isdigit()


def _looks_like_path(spec: str) -> bool:
    return (os.path.exists(spec) or os.sep in spec or (os.altsep is not None and os.altsep in spec)
            or Path(spec).suffix.lower() in _MEDIA_SUFFIXES)


def open_camera(
    spec: str, *, loop: bool = False, fps: float | None = None, size: tuple[int, int] | None = None
) -> CaptureSource:
    """The camera a command line names: ``"0"``, ``"1"``… (or ``"default"``) is a camera index; anything
    else is a video file played in its place (looping when ``loop``). A file that is missing or bad is
    reported by the source's first status, not raised here. ``fps`` caps the camera (default 30) or
    subsamples the file (default: its own rate)."""
    spec = spec.strip()
    if spec.lower() in _DEFAULT:
        return CameraSource(0, fps or 30.0, size)
    if _is_index(spec):
        return CameraSource(int(spec), fps or 30.0, size)
    return VideoFileSource(spec, fps=fps, loop=loop, size=size, name="camera")


def open_microphone(spec: str, *, loop: bool = False, rate: int = 16000, block_ms: int = 32) -> CaptureSource:
    """The microphone a command line names: ``"default"`` is the system's default input, ``"2"`` is
    device index 2, an existing file (or anything that looks like a file path) is played in its place,
    and any other text is (part of) a device name, as `list_microphones` shows it."""
    spec = spec.strip()
    if spec.lower() in _DEFAULT:
        return MicrophoneSource(None, rate, block_ms)
    if _is_index(spec):
        return MicrophoneSource(int(spec), rate, block_ms)
    if _looks_like_path(spec):
        return AudioFileSource(spec, rate, block_ms, loop=loop, name="microphone")
    return MicrophoneSource(spec, rate, block_ms)
