"""The renderers keep to the world's rules: sizes, positions, exact colours, rates, lengths and motion."""

from __future__ import annotations

import numpy as np
import pytest

from models.world.attributes import (
    COLOURS,
    PITCHES,
    ImageAttributes,
    SoundAttributes,
    VideoAttributes,
)
from models.world.render import (
    render_image,
    render_sound,
    render_video,
    sample_image_attributes,
    sample_sound_attributes,
    sample_video_attributes,
    shape_mask,
)

WHITE = (255, 255, 255)


def _box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the non-white pixels, inclusive."""
    rows, cols = np.nonzero((pixels != 255).any(axis=-1))
    return int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())


def _colours(pixels: np.ndarray) -> set[tuple[int, int, int]]:
    codes = np.unique((pixels[..., 0].astype(np.int32) << 16) | (pixels[..., 1].astype(np.int32) << 8) | pixels[..., 2])
    return {(int(c) >> 16, (int(c) >> 8) & 255, int(c) & 255) for c in codes}


@pytest.mark.parametrize("shape, fill", [("square", 1.0), ("circle", np.pi / 4), ("triangle", 0.5)])
def test_shape_masks_fill_their_box(shape: str, fill: float) -> None:
    for size in range(16, 45):
        mask = shape_mask(shape, size)
        assert mask.shape == (size, size)
        assert mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()
        assert abs(mask.mean() - fill) < 0.07
    triangle = shape_mask("triangle", 30)
    assert triangle[0].sum() < triangle[-1].sum() == 30  # points up, base at the bottom


def test_images_keep_to_the_rules() -> None:
    rng = np.random.default_rng(0)
    sizes = set()
    for attrs in ImageAttributes.every():
        for _ in range(20):
            image = render_image(attrs, rng)
            pixels = image.pixels
            assert pixels.shape == (64, 64, 3) and pixels.dtype == np.uint8
            assert _colours(pixels) == {WHITE, COLOURS[attrs.colour]}
            top, bottom, left, right = _box(pixels)
            assert bottom - top == right - left  # a square bounding box (triangle: base = height)
            assert 20 <= bottom - top + 1 <= 44
            assert 0 <= top and bottom < 64 and 0 <= left and right < 64
            sizes.add(bottom - top + 1)
    assert min(sizes) <= 22 and max(sizes) >= 42  # the whole range is used


def test_sounds_keep_to_the_rules() -> None:
    rng = np.random.default_rng(0)
    for attrs in SoundAttributes.every():
        for _ in range(3):
            sound = render_sound(attrs, rng)
            samples = sound.samples
            assert sound.rate == 16000 and samples.dtype == np.float32 and samples.shape == (16000,)
            assert 0.49 <= np.abs(samples).max() <= 0.5
            assert abs(samples[0]) < 0.01 and abs(samples[-1]) < 0.01  # faded in and out
            step = 2 * np.pi * PITCHES[attrs.pitch] / 16000 * 0.5
            assert np.abs(np.diff(samples)).max() <= step * 1.01  # no clicks: never faster than the sine
            spectrum = np.abs(np.fft.rfft(samples))
            assert abs(np.argmax(spectrum) - PITCHES[attrs.pitch]) <= 2  # 1 Hz bins
            windows = np.abs(samples).reshape(8, 2000).max(axis=1)
            if attrs.pattern == "steady":
                assert (windows > 0.49).all()
            else:
                assert (windows[0::2] > 0.49).all() and (windows[1::2] == 0).all()


def test_sounds_differ_only_in_phase() -> None:
    attrs = SoundAttributes("mid", "steady")
    a = render_sound(attrs, np.random.default_rng(1)).samples
    b = render_sound(attrs, np.random.default_rng(2)).samples
    assert not np.array_equal(a, b)
    assert abs(np.sqrt(np.mean(a**2)) - np.sqrt(np.mean(b**2))) < 1e-3


def test_videos_keep_to_the_rules() -> None:
    rng = np.random.default_rng(0)
    steps = set()
    for attrs in VideoAttributes.every():
        for _ in range(4):
            video = render_video(attrs, rng)
            assert video.frames.shape == (8, 64, 64, 3) and video.frames.dtype == np.uint8 and video.fps == 4.0
            boxes = [_box(frame) for frame in video.frames]
            for frame in video.frames:
                assert _colours(frame) == {WHITE, COLOURS[attrs.colour]}
            sides = {(bottom - top + 1, right - left + 1) for top, bottom, left, right in boxes}
            assert len(sides) == 1
            side = sides.pop()
            assert side[0] == side[1] and 16 <= side[0] <= 24
            assert all(0 <= top and bottom < 64 and 0 <= left and right < 64 for top, bottom, left, right in boxes)
            moves = {(b1[2] - b0[2], b1[0] - b0[0]) for b0, b1 in zip(boxes, boxes[1:], strict=False)}
            assert len(moves) == 1  # constant speed
            dx, dy = moves.pop()
            expected = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[attrs.direction]
            step = max(abs(dx), abs(dy))
            assert 3 <= step <= 4 and (dx, dy) == (expected[0] * step, expected[1] * step)
            steps.add(step)
    assert steps == {3, 4}


def test_rendering_is_deterministic() -> None:
    attrs = VideoAttributes("green", "triangle", "up")
    a = render_video(attrs, np.random.default_rng(5)).frames
    b = render_video(attrs, np.random.default_rng(5)).frames
    assert np.array_equal(a, b)
    assert np.array_equal(render_image(attrs.still, np.random.default_rng(3)).pixels,
                          render_image(attrs.still, np.random.default_rng(3)).pixels)


def test_sampled_attributes_cover_the_world() -> None:
    rng = np.random.default_rng(0)
    assert {sample_image_attributes(rng) for _ in range(400)} == set(ImageAttributes.every())
    assert {sample_sound_attributes(rng) for _ in range(200)} == set(SoundAttributes.every())
    assert {sample_video_attributes(rng) for _ in range(1500)} == set(VideoAttributes.every())
