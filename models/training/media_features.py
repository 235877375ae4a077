"""Frozen-encoder features of training media, read once and kept (encoders do not train)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch

from ..media import read_audio, read_image, read_video
from ..modality import Modality
from ..model_set import ModelSet


class MediaFeatures:
    """`features(modality, path)`: the encoder's (length, feature_dim) output on the CPU, cached
    (least recently used first out) so a medium seen every epoch is decoded and encoded once."""

    def __init__(self, models: ModelSet, max_items: int = 8192) -> None:
        self.models = models
        self.max_items = max_items
        self._cache: OrderedDict[tuple[Modality, Path], torch.Tensor] = OrderedDict()
        self._frames = int(models.profile.roles["video_encoder"].option("frames", 8)) if models.has(
            "video_encoder") else 8

    def features(self, modality: Modality, path: Path) -> torch.Tensor:
        key = (modality, path)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        with torch.no_grad():
            value = self.models.encoder(modality).encode(self._read(modality, path)).detach().float().cpu()
        self._cache[key] = value
        if len(self._cache) > self.max_items:
            self._cache.popitem(last=False)
        return value

    def _read(self, modality: Modality, path: Path) -> object:
        if modality is Modality.IMAGE:
            return read_image(path)
        if modality is Modality.AUDIO:
            return read_audio(path)
        return read_video(path, num_frames=self._frames)
