"""A video encoder made of the image encoder: sampled frames, one pooled vector each, plus a
sinusoidal temporal position so the order of the frames survives projection.

With `motion`, one more token follows the frames: the last frame's pooled vector minus the
first's (with the next temporal position). What does not move cancels out and what moved
remains, so the direction of motion is in a single token that the input projector maps on its
own; the frames alone leave the comparison across tokens to the LLM."""

from __future__ import annotations

import math

import torch

from ..encoded_video import EncodedVideo
from ..media import VideoData
from .clip_image import VisionTowerEncoder


def temporal_positions(count: int, dim: int) -> torch.Tensor:
    """Transformer-style sinusoidal positions, (count, dim)."""
    position = torch.arange(count, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(count, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : dim // 2]
    return table


class FrameVideoEncoder:
    def __init__(self, image_encoder: VisionTowerEncoder, position_scale: float = 1.0, motion: bool = False) -> None:
        self.image_encoder = image_encoder
        self.position_scale = position_scale
        self.motion = motion
        self.feature_dim = image_encoder.feature_dim

    def encode(self, media: VideoData | EncodedVideo) -> torch.Tensor:
        """(frames, feature_dim), or (frames + 1, feature_dim) with `motion`."""
        pooled = media.features if isinstance(media, EncodedVideo) else self.encode_frames(list(media.frames))
        if self.motion:
            pooled = torch.cat([pooled, (pooled[-1] - pooled[0]).unsqueeze(0)])
        return pooled + self.position_scale * temporal_positions(len(pooled), self.feature_dim).to(pooled.device)

    def encode_frames(self, frames: list) -> torch.Tensor:
        """One pooled image-encoder vector per (H, W, 3) uint8 frame: (len(frames), feature_dim)."""
        return self.image_encoder.encode_pooled(frames)
