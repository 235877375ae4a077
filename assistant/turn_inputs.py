"""What a user hands in, made ready for a turn: files decoded by kind, and spoken audio turned
into the user's words (speech is the conversation channel; other sounds are media)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from models import AnyToAnyModel, AudioData, MediaError, read_audio, read_image, read_video

from .frames import Media

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi"}


def read_attachment(path: str | Path) -> Media:
    """A file decoded by its suffix (image, audio or video); an unknown suffix is tried as each."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return read_image(path)
    if suffix in AUDIO_SUFFIXES:
        return read_audio(path)
    if suffix in VIDEO_SUFFIXES:
        return read_video(path)
    for reader in (read_image, read_video, read_audio):
        try:
            return reader(path)
        except MediaError:
            continue
    raise MediaError(str(path), "is not an image, audio or video file this app can read")


@dataclass
class PreparedInputs:
    text: str
    transcript: str = ""
    media: list[Media] = field(default_factory=list)
    asr_ms: float = 0.0


def prepare_inputs(model: AnyToAnyModel, text: str, media: list[Media]) -> PreparedInputs:
    """Audio with speech in it is transcribed and joins the text; everything else stays media.
    Runs model calls (VAD, ASR): call it on the device's thread."""
    kept: list[Media] = []
    heard: list[str] = []
    started = time.perf_counter()
    for item in media:
        if isinstance(item, AudioData) and model.is_speech(item):
            heard.append(model.transcribe(item))
        else:
            kept.append(item)
    transcript = " ".join(h for h in heard if h)
    words = " ".join(part for part in (text.strip(), transcript) if part)
    return PreparedInputs(words, transcript, kept, round((time.perf_counter() - started) * 1000, 1) if heard else 0.0)
