"""A video already through the image encoder (kept apart from torch-heavy modules so the runtime's
frames can name it without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch


@dataclass(frozen=True, eq=False)
class EncodedVideo:
    """A video whose frames already went through the image encoder, one pooled vector each, oldest
    first. A live camera window is encoded frame by frame as it arrives, so a turn waits only for
    the LLM."""

    features: torch.Tensor  # (frames, feature_dim)
    fps: float
    latest: np.ndarray | None = None  # the newest frame's pixels, for perception at turn time
