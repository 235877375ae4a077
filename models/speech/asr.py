"""Speech recognition with faster-whisper (CTranslate2 Whisper)."""

from __future__ import annotations

from typing import Any

from ..device import Placement
from ..media import AudioData


def load_whisper(location: str, placement: Placement, compute_type: str = "auto") -> Any:
    """A faster-whisper model from a CTranslate2 folder or a size name / Hub id."""
    from faster_whisper import WhisperModel

    device = "cuda" if placement.device.type == "cuda" else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return WhisperModel(location, device=device, compute_type=compute_type)


class SpeechRecognizer:
    def __init__(self, whisper_model: Any, language: str | None = "en", beam_size: int = 5) -> None:
        self.whisper = whisper_model
        self.language = language
        self.beam_size = beam_size

    def transcribe(self, audio: AudioData) -> str:
        """The words spoken in `audio` (16 kHz mono), as one string."""
        if audio.rate != self.whisper.feature_extractor.sampling_rate:
            raise ValueError(f"ASR needs {self.whisper.feature_extractor.sampling_rate} Hz audio, got {audio.rate} Hz")
        segments, _ = self.whisper.transcribe(
            audio.samples, language=self.language, beam_size=self.beam_size, vad_filter=False,
            condition_on_previous_text=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()
