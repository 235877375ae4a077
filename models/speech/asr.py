"""Speech recognition with faster-whisper (CTranslate2 Whisper)."""

from __future__ import annotations

from typing import Any

from ..device import Placement
from ..media import AudioData
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
    fits in Whisper's window on a window fitted to it (`FittedWindow`); a longer clip, or
    `window="full"`, takes faster-whisper's own 30 s windows with `beam_size`."""

    def __init__(self, whisper_model: Any, language: str | None = "en", beam_size: int = 5,
                 window: str = "fitted") -> None:
        if window not in ("fitted", "full"):
            raise ValueError(f"the ASR window is fitted or full, got {window!r}")
        self.whisper = whisper_model
        self.language = language
        self.beam_size = beam_size
        self.fitted = FittedWindow(whisper_model, language) if window == "fitted" and language else None

    def transcribe(self, audio: AudioData) -> str:
        """The words spoken in `audio` (16 kHz mono), as one string."""
        if audio.rate != self.whisper.feature_extractor.sampling_rate:
            raise ValueError(f"ASR needs {self.whisper.feature_extractor.sampling_rate} Hz audio, got {audio.rate} Hz")
        if self.fitted is not None:
            sentences = self.fitted.transcribe(audio.samples, audio.rate)
            if sentences is not None:
                return " ".join(sentences)
        segments, _ = self.whisper.transcribe(
            audio.samples, language=self.language, beam_size=self.beam_size, vad_filter=False,
            condition_on_previous_text=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()
