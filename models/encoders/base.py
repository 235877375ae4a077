"""The one interface every encoder offers."""

from __future__ import annotations

from typing import Protocol

import torch


class Encoder(Protocol):
    """Turns one medium into a (length, feature_dim) sequence of feature vectors. Frozen."""

    feature_dim: int

    def encode(self, media: object) -> torch.Tensor: ...
