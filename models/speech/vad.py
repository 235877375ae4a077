"""Voice activity detection with Silero VAD, as shipped inside faster-whisper."""

from __future__ import annotations

from dataclasses import dataclass

from ..media import AudioData


@dataclass(frozen=True)
class SpeechDetector:
    """Finds speech in 16 kHz audio. `threshold` starts speech, `neg_threshold` ends it."""

    threshold: float = 0.5
    neg_threshold: float | None = None
    min_speech_ms: int = 250
    min_silence_ms: int = 500
    min_speech_share: float = 0.2

    def segments(self, audio: AudioData) -> list[tuple[float, float]]:
        """(start, end) seconds of each stretch of speech."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps  # imports CTranslate2: on first use

        options = VadOptions(
            threshold=self.threshold,
            neg_threshold=self.neg_threshold,
            min_speech_duration_ms=self.min_speech_ms,
            min_silence_duration_ms=self.min_silence_ms,
        )
        stamps = get_speech_timestamps(audio.samples, options, sampling_rate=audio.rate)
        return [(s["start"] / audio.rate, s["end"] / audio.rate) for s in stamps]

    def is_speech(self, audio: AudioData) -> bool:
        """True when speech covers at least `min_speech_share` of the clip."""
        if audio.seconds <= 0:
            return False
        spoken = sum(end - start for start, end in self.segments(audio))
        return spoken / audio.seconds >= self.min_speech_share
