"""What a user hands in, made ready for a turn: files decoded by kind, and spoken audio turned
into the user's words (speech is the conversation channel; other sounds are media)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from models import (
    READERS,
    SUFFIXES,
    AudioData,
    Media,
    MediaError,
    kind_of_path,
    read_audio,
    read_image,
    read_video,
)

if TYPE_CHECKING:  # the model (torch: seconds to import) is not imported with the file suffixes the UI reads
    from models import AnyToAnyModel

__all__ = ["SUFFIXES", "PreparedInputs", "kind_of_path", "prepare_inputs", "read_attachment"]


def read_attachment(path: str | Path) -> Media:
    """A file decoded by its suffix (image, audio or video); an unknown suffix is tried as each."""
    kind = kind_of_path(path)
    if kind is not None:
        return READERS[kind](path)
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
