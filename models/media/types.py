"""The plain data types every model role passes around: one image, one audio clip, one video clip."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ImageData:
    """One still image: ``pixels`` is an (H, W, 3) uint8 RGB array with H, W >= 1."""

    pixels: np.ndarray

    def __post_init__(self) -> None:
        p = self.pixels
        if not isinstance(p, np.ndarray):
            raise TypeError(f"ImageData.pixels must be a numpy array, got {type(p).__name__}")
        if p.ndim != 3 or p.shape[2] != 3 or p.shape[0] < 1 or p.shape[1] < 1:
            raise ValueError(f"ImageData.pixels must have shape (H, W, 3) with H, W >= 1, got {p.shape}")
        if p.dtype != np.uint8:
            raise ValueError(f"ImageData.pixels must be uint8, got {p.dtype}")

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])


@dataclass(frozen=True, eq=False)
class AudioData:
    """One mono audio clip: ``samples`` is an (N,) float32 array in [-1, 1] at ``rate`` samples per second."""

    samples: np.ndarray
    rate: int

    def __post_init__(self) -> None:
        s = self.samples
        if not isinstance(s, np.ndarray):
            raise TypeError(f"AudioData.samples must be a numpy array, got {type(s).__name__}")
        if s.ndim != 1:
            raise ValueError(f"AudioData.samples must have shape (N,), got {s.shape}")
        if s.dtype != np.float32:
            raise ValueError(f"AudioData.samples must be float32, got {s.dtype}")
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
            raise ValueError(f"AudioData.rate must be a positive int, got {rate!r}")
        object.__setattr__(self, "rate", int(rate))

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return self.samples.shape[0] / self.rate


@dataclass(frozen=True, eq=False)
class VideoData:
    """A video clip: ``frames`` is a (T, H, W, 3) uint8 RGB array with T, H, W >= 1, shown at ``fps``."""

    frames: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        f = self.frames
        if not isinstance(f, np.ndarray):
            raise TypeError(f"VideoData.frames must be a numpy array, got {type(f).__name__}")
        if f.ndim != 4 or f.shape[3] != 3 or min(f.shape[:3]) < 1:
            raise ValueError(f"VideoData.frames must have shape (T, H, W, 3) with T, H, W >= 1, got {f.shape}")
        if f.dtype != np.uint8:
            raise ValueError(f"VideoData.frames must be uint8, got {f.dtype}")
        fps = self.fps
        if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
            raise TypeError(f"VideoData.fps must be a number, got {fps!r}")
        if not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"VideoData.fps must be positive and finite, got {fps!r}")
        object.__setattr__(self, "fps", float(fps))

    @property
    def seconds(self) -> float:
        """Duration in seconds: the number of frames over the frame rate."""
        return self.frames.shape[0] / self.fps
