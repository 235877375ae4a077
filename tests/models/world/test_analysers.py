"""The analysers read every rendered medium right, also when degraded, and refuse what is not in the world."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from models.media import (
    AudioData,
    ImageData,
    VideoData,
    encode_mp4,
    encode_png,
    encode_wav,
    read_audio,
    read_image,
    read_video,
)
from models.world.analysers import analyse_image, analyse_sound, analyse_video, classify_shape, largest_component
from models.world.attributes import ImageAttributes, SoundAttributes, VideoAttributes
from models.world.render import render_image, render_sound, render_video, shape_mask


def _noisy(pixels: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return np.clip(pixels + rng.normal(0.0, sigma, pixels.shape), 0, 255).astype(np.uint8)


def _blurred(pixels: np.ndarray, radius: float = 1.2) -> np.ndarray:
    return np.asarray(Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(radius)))


# --- images -----------------------------------------------------------------------------------


def test_images_are_read_right_clean_noisy_and_blurred() -> None:
    rng = np.random.default_rng(0)
    wrong = []
    for attrs in ImageAttributes.every():
        for _ in range(12):
            pixels = render_image(attrs, rng).pixels
            versions = {
                "clean": pixels,
                "png": read_image(encode_png(ImageData(pixels)), name="x.png").pixels,
                "noise": _noisy(pixels, rng, 25.0),
                "blur": _blurred(pixels),
                "blur+noise": _noisy(_blurred(pixels), rng, 15.0),
            }
            wrong += [(attrs, name) for name, p in versions.items() if analyse_image(ImageData(p)) != attrs]
    assert wrong == []


def test_a_larger_picture_is_read_too() -> None:
    pixels = render_image(ImageAttributes("green", "triangle"), np.random.default_rng(1)).pixels
    big = np.asarray(Image.fromarray(pixels).resize((256, 256), Image.BILINEAR))
    assert analyse_image(ImageData(big)) == ImageAttributes("green", "triangle")


def test_speckle_beside_the_shape_is_ignored() -> None:
    rng = np.random.default_rng(2)
    pixels = render_image(ImageAttributes("blue", "square"), rng).pixels.copy()
    white = np.flatnonzero((pixels == 255).all(axis=-1).ravel())
    dots = rng.choice(white, size=60, replace=False)
    pixels.reshape(-1, 3)[dots] = (40, 90, 220)
    assert analyse_image(ImageData(pixels)) == ImageAttributes("blue", "square")


def _nothing_pictures(rng: np.random.Generator) -> dict[str, np.ndarray]:
    white = np.full((64, 64, 3), 255, dtype=np.uint8)
    purple = white.copy()
    purple[20:40, 20:40] = (150, 40, 160)  # a colour the world does not have
    tiny = white.copy()
    tiny[30:33, 30:33] = (220, 40, 40)
    stripe = white.copy()
    stripe[30:36, 2:62] = (220, 40, 40)  # a bar, not a world shape
    return {
        "blank": white,
        "black": np.zeros_like(white),
        "filled red": np.broadcast_to(np.array((220, 40, 40), np.uint8), white.shape).copy(),
        "uniform noise": rng.integers(0, 256, white.shape).astype(np.uint8),
        "grey noise": _noisy(np.full_like(white, 128), rng, 60.0),
        "noise on white": _noisy(white, rng, 30.0),
        "purple square": purple,
        "tiny dot": tiny,
        "stripe": stripe,
    }


def test_pictures_of_nothing_read_as_none() -> None:
    rng = np.random.default_rng(3)
    for name, pixels in _nothing_pictures(rng).items():
        assert analyse_image(ImageData(pixels)) is None, name


def test_a_downward_triangle_is_no_world_shape() -> None:
    assert classify_shape(shape_mask("triangle", 30)[::-1]) is None
    assert classify_shape(shape_mask("triangle", 30)) == "triangle"


def test_largest_component() -> None:
    mask = np.zeros((20, 20), dtype=bool)
    mask[1:4, 1:4] = True  # 9 pixels
    mask[10:18, 2:6] = True  # 32 pixels
    mask[18, 6] = True  # touches the big one diagonally: 8-connected
    region = largest_component(mask)
    assert region.sum() == 33 and not region[1:4, 1:4].any()
    spiral = np.zeros((15, 15), dtype=bool)  # a long thin path settles too
    spiral[0, :] = spiral[:, 14] = spiral[14, :] = spiral[2:, 0] = spiral[2, :12] = spiral[2:12, 12] = True
    assert largest_component(spiral).sum() == spiral.sum()
    assert not largest_component(np.zeros((5, 5), dtype=bool)).any()


# --- sounds -----------------------------------------------------------------------------------


def test_sounds_are_read_right_clean_noisy_and_quiet() -> None:
    rng = np.random.default_rng(0)
    wrong = []
    for attrs in SoundAttributes.every():
        for _ in range(8):
            samples = render_sound(attrs, rng).samples
            versions = {
                "clean": samples,
                "wav": read_audio(encode_wav(AudioData(samples, 16000)), name="x.wav").samples,
                "noise": samples + rng.normal(0.0, 0.1, samples.shape),
                "quiet": samples * 0.1,
                "late pulse": np.roll(samples, int(rng.integers(1, 4000))),
            }
            wrong += [(attrs, name) for name, s in versions.items()
                      if analyse_sound(AudioData(s.astype(np.float32), 16000)) != attrs]
    assert wrong == []


def test_a_slightly_wrong_pitch_reads_as_the_nearest() -> None:
    t = np.arange(16000) / 16000
    for hz, pitch in ((240.0, "low"), (300.0, "low"), (480.0, "mid"), (600.0, "mid"), (1150.0, "high")):
        samples = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        assert analyse_sound(AudioData(samples, 16000)) == SoundAttributes(pitch, "steady"), hz


def test_sounds_of_nothing_read_as_none() -> None:
    rng = np.random.default_rng(4)
    t = np.arange(16000) / 16000
    nothing = {
        "silence": np.zeros(16000),
        "hum": 0.005 * np.sin(2 * np.pi * 523 * t),
        "white noise": rng.normal(0.0, 0.3, 16000),
        "between low and mid": 0.5 * np.sin(2 * np.pi * 370 * t),
        "too high": 0.5 * np.sin(2 * np.pi * 3000 * t),
        "chord": 0.3 * (np.sin(2 * np.pi * 262 * t) + np.sin(2 * np.pi * 523 * t) + np.sin(2 * np.pi * 1046 * t)),
        "too short": 0.5 * np.sin(2 * np.pi * 523 * t[:4000]),
    }
    for name, samples in nothing.items():
        assert analyse_sound(AudioData(samples.astype(np.float32), 16000)) is None, name


# --- videos -----------------------------------------------------------------------------------


def test_videos_are_read_right_clean_and_after_an_mp4_round_trip() -> None:
    rng = np.random.default_rng(0)
    wrong = []
    for attrs in VideoAttributes.every():
        for _ in range(2):
            video = render_video(attrs, rng)
            back = read_video(encode_mp4(video), name="x.mp4")
            assert back.frames.shape == video.frames.shape
            versions = {
                "clean": video.frames,
                "mp4": back.frames,
                "mp4+noise": _noisy(back.frames, rng, 15.0),
            }
            wrong += [(attrs, name) for name, f in versions.items() if analyse_video(VideoData(f, 4.0)) != attrs]
    assert wrong == []


def test_blurred_videos_are_read_right() -> None:
    rng = np.random.default_rng(1)
    for attrs in VideoAttributes.every():
        frames = np.stack([_blurred(frame) for frame in render_video(attrs, rng).frames])
        assert analyse_video(VideoData(frames, 4.0)) == attrs


def test_a_missing_frame_is_forgiven() -> None:
    video = render_video(VideoAttributes("yellow", "circle", "down"), np.random.default_rng(2))
    frames = video.frames.copy()
    frames[3] = 255
    assert analyse_video(VideoData(frames, 4.0)) == VideoAttributes("yellow", "circle", "down")


@pytest.mark.parametrize("case", ["still", "blank", "noise", "half blank", "diagonal", "flicker"])
def test_videos_of_nothing_read_as_none(case: str) -> None:
    rng = np.random.default_rng(5)
    video = render_video(VideoAttributes("red", "square", "right"), rng)
    frames = video.frames.copy()
    if case == "still":
        frames[:] = frames[0]
    elif case == "blank":
        frames[:] = 255
    elif case == "noise":
        frames = rng.integers(0, 256, frames.shape).astype(np.uint8)
    elif case == "half blank":
        frames[::2] = 255
    elif case == "diagonal":
        image = render_image(ImageAttributes("red", "square"), rng).pixels
        frames = np.stack([np.roll(image, (3 * i - 10, 3 * i - 10), axis=(0, 1)) for i in range(8)])
    elif case == "flicker":
        frames[1::2] = render_video(VideoAttributes("blue", "circle", "right"), rng).frames[1::2]
    assert analyse_video(VideoData(frames, 4.0)) is None
