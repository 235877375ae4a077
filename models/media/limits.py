"""How much media the readers will accept before refusing it."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    """Upper bounds the readers enforce on one input.

    ``max_pixels`` guards against decompression bombs: it is checked against the size a file
    declares in its header, before any pixels are decoded. ``max_video_frames`` caps how many
    frames ``read_video`` returns after sampling. ``video_side``, when set, scales video frames
    down so that their longest side is at most that many pixels.
    """

    max_bytes: int = 64 * MB
    max_pixels: int = 40_000_000
    max_audio_seconds: float = 600.0
    max_video_seconds: float = 600.0
    max_video_frames: int = 64
    video_side: int | None = None

    def __post_init__(self) -> None:
        for field in ("max_bytes", "max_pixels", "max_video_frames"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"MediaLimits.{field} must be a positive int, got {value!r}")
        for field in ("max_audio_seconds", "max_video_seconds"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"MediaLimits.{field} must be a positive number, got {value!r}")
        side = self.video_side
        if side is not None and (isinstance(side, bool) or not isinstance(side, int) or side <= 0):
            raise ValueError(f"MediaLimits.video_side must be None or a positive int, got {side!r}")


DEFAULT_LIMITS = MediaLimits()
