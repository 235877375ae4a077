"""Audio encoders on Whisper's encoder: the CTranslate2 model the ASR already loads, or a
transformers `WhisperEncoder` (built from a config for tests, or loaded from a folder)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from ..device import Placement
from ..media import AudioData

FRAMES_PER_SECOND = 50  # Whisper's encoder: one output frame per 20 ms


def _frames_for(audio: AudioData, limit: int) -> int:
    return max(1, min(limit, math.ceil(audio.seconds * FRAMES_PER_SECOND)))


class CTranslate2WhisperEncoder:
    """The encoder of a faster-whisper model (shared with the ASR): a 30 s window in,
    the frames that cover the clip out, (frames, d_model)."""

    def __init__(self, whisper_model: Any) -> None:
        self.whisper = whisper_model
        self.feature_dim = int(np.array(self.whisper.encode(self._window(np.zeros(160, np.float32)))).shape[-1])

    def _window(self, samples: np.ndarray) -> np.ndarray:
        features = self.whisper.feature_extractor(samples)
        window = self.whisper.feature_extractor.nb_max_frames
        return np.ascontiguousarray(np.pad(features, ((0, 0), (0, max(0, window - features.shape[1]))))[:, :window])

    def encode(self, media: AudioData) -> torch.Tensor:
        window = media.samples[: 30 * media.rate]
        states = np.array(self.whisper.encode(self._window(window)))[0]
        return torch.from_numpy(states[: _frames_for(media, states.shape[0])]).float()


class TransformersWhisperEncoder:
    """A transformers WhisperEncoder with its feature extractor; chunk length set by the config."""

    def __init__(self, model: WhisperEncoder, extractor: WhisperFeatureExtractor, placement: Placement) -> None:
        self.model = model.to(placement.device, placement.dtype).eval().requires_grad_(False)
        self.extractor = extractor
        self.placement = placement
        self.feature_dim = int(model.config.d_model)

    @classmethod
    def from_config(cls, config: dict[str, Any], placement: Placement, seed: int = 0) -> TransformersWhisperEncoder:
        torch.manual_seed(seed)
        options = {"d_model": 64, "encoder_layers": 2, "encoder_attention_heads": 4, "encoder_ffn_dim": 128,
                   "max_source_positions": 100, "num_mel_bins": 80, **config}
        whisper = WhisperConfig(**options, vocab_size=64, pad_token_id=0, bos_token_id=0, eos_token_id=0,
                                decoder_start_token_id=0)
        seconds = whisper.max_source_positions * 2 // 100  # two mel frames per encoder frame, 100 per second
        extractor = WhisperFeatureExtractor(feature_size=whisper.num_mel_bins, chunk_length=seconds)
        return cls(WhisperEncoder(whisper), extractor, placement)

    @classmethod
    def from_pretrained(cls, location: str, placement: Placement) -> TransformersWhisperEncoder:
        model = WhisperEncoder.from_pretrained(location, dtype=placement.dtype)
        return cls(model, WhisperFeatureExtractor.from_pretrained(location), placement)

    def save_pretrained(self, folder: str) -> None:
        self.model.save_pretrained(folder)
        self.extractor.save_pretrained(folder)

    @torch.inference_mode()
    def encode(self, media: AudioData) -> torch.Tensor:
        features = self.extractor(media.samples, sampling_rate=media.rate, return_tensors="pt")["input_features"]
        states = self.model(features.to(self.placement.device, self.placement.dtype)).last_hidden_state[0]
        return states[: _frames_for(media, states.shape[0])].float()
