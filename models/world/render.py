"""Renderers of the synthetic world: attributes plus a random generator in, exact media out.

The generator only chooses what the attributes leave open (where a shape sits, how big it is, how
fast it moves, the phase of a tone); the same attributes and the same generator state always give
the same pixels and samples. Shapes are drawn without anti-aliasing, so every shape pixel has its
colour's exact RGB value and every other pixel is exactly white.
"""

from __future__ import annotations

import numpy as np

from models.media.types import AudioData, ImageData, VideoData
from models.world.attributes import (
    AMPLITUDE,
    BACKGROUND,
    COLOURS,
    DIRECTIONS,
    FADE_SECONDS,
    IMAGE_BOX_RANGE,
    IMAGE_SIZE,
    PATTERNS,
    PITCHES,
    PULSE_SECONDS,
    SAMPLE_RATE,
    SHAPES,
    SOUND_SECONDS,
    VIDEO_BOX_RANGE,
    VIDEO_FPS,
    VIDEO_FRAMES,
    VIDEO_STEP_RANGE,
    ImageAttributes,
    SoundAttributes,
    VideoAttributes,
)

#: (dx, dy) of one step in each direction; image rows grow downward, so "up" is dy = -1.
DIRECTION_STEPS: dict[str, tuple[int, int]] = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def shape_mask(shape: str, size: int) -> np.ndarray:
    """A (size, size) bool mask of ``shape`` filling its bounding box: touching all four sides.

    A pixel is in the shape when its centre is. The circle's diameter is ``size``; the triangle's
    base is the bottom row and its apex the middle of the top row (each row as wide as the triangle
    is at that row's lower edge, so the apex row is never empty).
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: choose from {', '.join(SHAPES)}")
    if size < 1:
        raise ValueError(f"a shape needs a size of at least 1 pixel, got {size}")
    centre = size / 2
    y = np.arange(size)[:, None] + 0.5
    x = np.arange(size)[None, :] + 0.5
    if shape == "square":
        return np.ones((size, size), dtype=bool)
    if shape == "circle":
        return (x - centre) ** 2 + (y - centre) ** 2 <= centre**2
    half_width = (y + 0.5) / size * centre  # the width at the row's lower edge
    return np.abs(x - centre) <= half_width


def _canvas(frames: int | None = None) -> np.ndarray:
    shape = (IMAGE_SIZE, IMAGE_SIZE, 3) if frames is None else (frames, IMAGE_SIZE, IMAGE_SIZE, 3)
    canvas = np.empty(shape, dtype=np.uint8)
    canvas[...] = BACKGROUND
    return canvas


def _paint(canvas: np.ndarray, mask: np.ndarray, colour: str, left: int, top: int) -> None:
    """Paint ``mask`` in ``colour`` onto one (H, W, 3) ``canvas`` with its top-left corner at (left, top)."""
    size = mask.shape[0]
    window = canvas[top:top + size, left:left + size]
    window[mask] = COLOURS[colour]


def sample_image_attributes(rng: np.random.Generator) -> ImageAttributes:
    """A colour and a shape, uniformly."""
    return ImageAttributes(str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES)))


def sample_sound_attributes(rng: np.random.Generator) -> SoundAttributes:
    """A pitch and a pattern, uniformly."""
    return SoundAttributes(str(rng.choice(list(PITCHES))), str(rng.choice(PATTERNS)))


def sample_video_attributes(rng: np.random.Generator) -> VideoAttributes:
    """A colour, a shape and a direction, uniformly."""
    return VideoAttributes(str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES)), str(rng.choice(DIRECTIONS)))


def render_image(attrs: ImageAttributes, rng: np.random.Generator) -> ImageData:
    """A 64×64 white image with one shape of a random size (20–44 px box) anywhere fully inside it."""
    low, high = IMAGE_BOX_RANGE
    size = int(rng.integers(low, high + 1))
    left = int(rng.integers(0, IMAGE_SIZE - size + 1))
    top = int(rng.integers(0, IMAGE_SIZE - size + 1))
    pixels = _canvas()
    _paint(pixels, shape_mask(attrs.shape, size), attrs.colour, left, top)
    return ImageData(pixels)


def render_sound(attrs: SoundAttributes, rng: np.random.Generator) -> AudioData:
    """One second of a sine at the pitch, steady or pulsing, with a random start phase.

    Every stretch of sound starts and ends with a raised-cosine fade of FADE_SECONDS. A pulsing
    tone starts on: on for PULSE_SECONDS, off for PULSE_SECONDS, four times over.
    """
    count = round(SOUND_SECONDS * SAMPLE_RATE)
    phase = float(rng.uniform(0.0, 2.0 * np.pi))
    t = np.arange(count) / SAMPLE_RATE
    tone = np.sin(2.0 * np.pi * PITCHES[attrs.pitch] * t + phase)
    length = count if attrs.pattern == "steady" else round(PULSE_SECONDS * SAMPLE_RATE)
    fade = round(FADE_SECONDS * SAMPLE_RATE)
    piece = np.ones(length)
    piece[:fade] = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)
    piece[-fade:] = piece[:fade][::-1]
    envelope = np.zeros(count)
    for start in range(0, count, 2 * length):
        envelope[start:start + length] = piece[:count - start]
    return AudioData((AMPLITUDE * envelope * tone).astype(np.float32), SAMPLE_RATE)


def render_video(attrs: VideoAttributes, rng: np.random.Generator) -> VideoData:
    """8 frames at 4 fps of one shape (16–24 px box) moving 3–4 px a frame, fully inside throughout."""
    low, high = VIDEO_BOX_RANGE
    size = int(rng.integers(low, high + 1))
    step_low, step_high = VIDEO_STEP_RANGE
    step = int(rng.integers(step_low, step_high + 1))
    dx, dy = DIRECTION_STEPS[attrs.direction]
    travel = step * (VIDEO_FRAMES - 1)
    room = IMAGE_SIZE - size  # the largest top-left coordinate that keeps the shape inside
    left = _start(rng, room, dx * travel)
    top = _start(rng, room, dy * travel)
    mask = shape_mask(attrs.shape, size)
    frames = _canvas(VIDEO_FRAMES)
    for i in range(VIDEO_FRAMES):
        _paint(frames[i], mask, attrs.colour, left + dx * step * i, top + dy * step * i)
    return VideoData(frames, VIDEO_FPS)


def _start(rng: np.random.Generator, room: int, travel: int) -> int:
    """A start coordinate in [0, room] from which moving ``travel`` pixels stays in [0, room]."""
    low, high = max(0, -travel), min(room, room - travel)
    return int(rng.integers(low, high + 1))
