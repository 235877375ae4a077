"""Voice activity detection with Silero VAD, as shipped inside faster-whisper."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


class StreamingVad:
    """Silero VAD run window by window as audio arrives: one speech probability per 32 ms.

    Feeds faster-whisper's Silero ONNX session one 512-sample window at a time with the 64
    samples before it as context, carrying the model's recurrent state across calls."""

    WINDOW = 512
    CONTEXT = 64
    RATE = 16000

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self.session = get_vad_model().session
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(self.CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)

    def probabilities(self, samples: np.ndarray) -> list[float]:
        """Speech probability of each complete window in `samples` (16 kHz mono float32)."""
        self._pending = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        results = []
        while len(self._pending) >= self.WINDOW:
            window, self._pending = self._pending[: self.WINDOW], self._pending[self.WINDOW :]
            batch = np.concatenate([self._context, window])[None, :]
            out, self._h, self._c = self.session.run(None, {"input": batch, "h": self._h, "c": self._c})
            self._context = window[-self.CONTEXT :]
            results.append(float(np.asarray(out).reshape(-1)[0]))
        return results
