"""Speech recognition with faster-whisper (CTranslate2 Whisper)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..device import Placement
from ..errors import InputError
from ..media import AudioData
from .about import SpeechModelInfo
from .fitted_window import FittedWindow


def load_whisper(location: str, placement: Placement, compute_type: str = "auto") -> Any:
    """A faster-whisper model from a CTranslate2 folder or a size name / Hub id."""
    from faster_whisper import WhisperModel

    device = "cuda" if placement.device.type == "cuda" else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return WhisperModel(location, device=device, compute_type=compute_type)


class SpeechRecognizer:
    """Whisper through faster-whisper. `window="fitted"` (with a known language) decodes a clip that
    fits in Whisper's window on a window fitted to it (`FittedWindow`); a longer clip, another
    language asked for, or `window="full"`, takes faster-whisper's own 30 s windows with `beam_size`."""

    def __init__(self, whisper_model: Any, language: str | None = "en", beam_size: int = 5,
                 name: str = "whisper", window: str = "fitted") -> None:
        if window not in ("fitted", "full"):
            raise ValueError(f"the ASR window is fitted or full, got {window!r}")
        self.whisper = whisper_model
        self.language = language
        self.beam_size = beam_size
        self.name = name
        self.fitted = FittedWindow(whisper_model, language) if window == "fitted" and language else None

    @property
    def rate(self) -> int:
        return int(self.whisper.feature_extractor.sampling_rate)

    @property
    def languages(self) -> list[str]:
        """What it hears: an English-only model "en"; a multilingual one its profile's language when
        the profile pins one, else every language Whisper knows."""
        supported = list(self.whisper.supported_languages)
        if self.language is not None and len(supported) > 1:
            return [self.language]
        return supported

    def info(self) -> SpeechModelInfo:
        return SpeechModelInfo(self.name, f"{self.name} (faster-whisper)", tuple(self.languages), self.rate)

    def pieces(self, audio: AudioData, language: str | None = None) -> Iterator[str]:
        """The words spoken in `audio` (16 kHz mono), a segment (or sentence) at a time as Whisper
        decodes them. `language` (one of `languages`) overrides the profile's for a multilingual
        model. Raises InputError for a language it does not hear."""
        if audio.rate != self.rate:
            raise ValueError(f"ASR needs {self.rate} Hz audio, got {audio.rate} Hz")
        if language is not None and language not in self.languages:
            raise InputError(f"speech recognition hears {', '.join(self.languages)}, not {language!r}")
        if self.fitted is not None and language in (None, self.language):
            sentences = self.fitted.transcribe(audio.samples, audio.rate)
            if sentences is not None:
                yield from sentences
                return
        segments, _ = self.whisper.transcribe(
            audio.samples, language=language or self.language, beam_size=self.beam_size, vad_filter=False,
            condition_on_previous_text=False,
        )
        for segment in segments:
            if text := segment.text.strip():
                yield text

    def transcribe(self, audio: AudioData, language: str | None = None) -> str:
        """The words spoken in `audio` (16 kHz mono), as one string."""
        return " ".join(self.pieces(audio, language))
