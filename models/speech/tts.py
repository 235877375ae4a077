"""Speech synthesis with Piper (VITS voices in ONNX, from the Home Assistant voice project)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..media import AudioData
from .about import SpeechModelInfo


class SpeechSynthesizer:
    def __init__(self, voice_path: str, config_path: str | None = None, use_cuda: bool = False) -> None:
        from piper import PiperVoice

        config = config_path or (voice_path + ".json" if Path(voice_path + ".json").is_file() else None)
        self.voice = PiperVoice.load(voice_path, config_path=config, use_cuda=use_cuda)
        self.rate = int(self.voice.config.sample_rate)
        self.name = Path(voice_path).name.removesuffix(".onnx")  # Piper's voice names: en_US-joe-medium
        # the voice's language is in its config file (Piper's own config object drops it)
        about = json.loads(Path(config).read_text(encoding="utf-8")) if config else {}
        self.language = str(about.get("language", {}).get("code") or self.voice.config.espeak_voice)

    def info(self) -> SpeechModelInfo:
        return SpeechModelInfo(self.name, f"Piper voice {self.name}", (self.language,), self.rate)

    def sentences(self, text: str) -> Iterator[AudioData]:
        """The speech of `text`, one sentence at a time as Piper makes it."""
        for chunk in self.voice.synthesize(text):
            yield AudioData(chunk.audio_float_array.astype(np.float32), int(chunk.sample_rate))

    def synthesize(self, text: str) -> AudioData:
        parts = [part.samples for part in self.sentences(text)]
        samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return AudioData(samples, self.rate)
