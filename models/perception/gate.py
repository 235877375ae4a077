"""Which eyes read an image: the world encoder (synthetic-world drawings) or perception (the rest).

A world drawing is a white background with shapes in the world's few exact colours, drawn
without anti-aliasing (models/world/render.py). A photo, a screenshot, a silhouette or a scanned
page is not: even a plain red wall has noise and shading. So the gate asks whether nearly every
pixel is white or close to one of the world's colours (close, not equal, so a drawing saved as
JPEG still counts), and whether the drawing has any colour at all."""

from __future__ import annotations

import numpy as np

from models.world.attributes import BACKGROUND, COLOURS

_SAMPLE_SIDE = 128  # pixels per side looked at: enough to tell a drawing from anything else
_NEAR = 48  # how far (per channel) a pixel may stray from a palette colour and still be it
_PALETTE = np.array([BACKGROUND, *COLOURS.values()], dtype=np.int16)


def _sample(pixels: np.ndarray) -> np.ndarray:
    step = max(1, max(pixels.shape[:2]) // _SAMPLE_SIDE)
    return pixels[::step, ::step].reshape(-1, 3).astype(np.int16)


def is_world_drawing(pixels: np.ndarray) -> bool:
    """True for a synthetic-world drawing (or a frame of a world video), False for anything else."""
    colours = _sample(pixels)
    if len(colours) < 256:  # a world drawing is 64×64; anything smaller is not one
        return False
    distance = np.abs(colours[:, None, :] - _PALETTE[None, :, :]).max(axis=2)  # (pixels, palette)
    nearest = distance.argmin(axis=1)
    near = distance.min(axis=1) <= _NEAR
    background = (nearest == 0) & near
    shape = (nearest > 0) & near
    return bool(near.mean() >= 0.9 and background.mean() >= 0.3 and shape.mean() >= 0.02)
