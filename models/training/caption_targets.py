"""The MSE target of decoder-side training: a caption's embedding by the decoder's own text encoder.

NExT-GPT's data names a `.npy` per caption (`*_caption_embeddings`). A missing one is computed
here with the decoder's text encoder and written where the record said, so the next run reads
it (or, when that place is not writable, into the cache folder).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..gguf_conversion import cache_root
from ..modality import Modality
from ..model_set import ModelSet
from ..weights import resolve_weights

log = logging.getLogger(__name__)


def cache_folder() -> Path:
    return cache_root() / "caption_embeddings"


class CaptionTargets:
    def __init__(self, models: ModelSet) -> None:
        self.models = models
        self._memory: dict[tuple[Modality, str], torch.Tensor] = {}

    def shape(self, modality: Modality) -> tuple[int, int]:
        return self.models.decoder(modality).conditioning_shape

    def target(self, modality: Modality, caption: str, embedding: Path | None) -> torch.Tensor:
        """(tokens, dim) float32 on the CPU."""
        key = (modality, caption)
        if key not in self._memory:
            place = embedding if embedding is not None else self._cached(modality, caption)
            value = self._load(modality, place) if place.is_file() else self._compute(modality, caption, place)
            self._memory[key] = value
        return self._memory[key]

    def _load(self, modality: Modality, path: Path) -> torch.Tensor:
        try:
            array = np.load(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable .npy caption embedding ({exc}); delete it to recompute") from exc
        expected = self.shape(modality)
        if array.size != expected[0] * expected[1]:
            raise InputError(
                f"{path}: caption embedding of shape {array.shape}, but the {modality.value} decoder "
                f"expects {expected}; were these computed for another decoder? delete them to recompute"
            )
        return torch.from_numpy(np.asarray(array, dtype=np.float32).reshape(expected))

    def _cached(self, modality: Modality, caption: str) -> Path:
        digest = hashlib.sha1(f"{self._decoder_identity(modality)}|{caption}".encode()).hexdigest()
        return cache_folder() / f"{digest}.npy"

    def _decoder_identity(self, modality: Modality) -> str:
        """Where the decoder's weights are and when they were written: a retrained decoder misses the cache."""
        profile = self.models.profile
        location = resolve_weights(profile.role(f"{modality.value}_decoder"), profile.path.parent).location
        stamp = Path(location).stat().st_mtime_ns if location and Path(location).exists() else ""
        return f"{profile.path}|{modality.value}|{location}|{stamp}"

    def _compute(self, modality: Modality, caption: str, place: Path) -> torch.Tensor:
        decoder = self.models.decoder(modality)
        try:
            value = decoder.text_embeddings([caption])[0].detach().float().cpu()
        except ValueError as exc:
            raise InputError(
                f"caption {caption!r} has no {modality.value}_caption_embeddings file and {exc}: "
                "give the .npy files in the data, or use a decoder with its own text encoder"
            ) from exc
        value = value.reshape(self.shape(modality))
        for where in dict.fromkeys([place, self._cached(modality, caption)]):
            try:
                where.parent.mkdir(parents=True, exist_ok=True)
                np.save(where, value.numpy())
                break
            except OSError as exc:
                log.warning("could not cache a caption embedding at %s (%s)", where, exc)
        return value
