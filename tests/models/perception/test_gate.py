"""The gate: synthetic-world drawings go to the world encoder, everything else to perception."""

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from models.perception import is_world_drawing
from models.world.attributes import COLOURS, DIRECTIONS, SHAPES, ImageAttributes, VideoAttributes
from models.world.render import render_image, render_video
from tests.photos import PHOTOS, photo


def _jpeg(pixels: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=70)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_every_world_drawing_and_video_frame_goes_to_the_world_encoder() -> None:
    rng = np.random.default_rng(0)
    for colour, shape in itertools.product(COLOURS, SHAPES):
        pixels = render_image(ImageAttributes(colour, shape), rng).pixels
        assert is_world_drawing(pixels) and is_world_drawing(_jpeg(pixels)), (colour, shape)
        for direction in DIRECTIONS:
            frames = render_video(VideoAttributes(colour, shape, direction), rng).frames
            assert all(is_world_drawing(frame) for frame in frames), (colour, shape, direction)


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_real_photos_silhouettes_and_pages_go_to_perception(name: str) -> None:
    assert not is_world_drawing(photo(name))


@pytest.mark.parametrize("pixels", [
    np.full((1, 1, 3), 255, np.uint8),
    np.full((480, 640, 3), 255, np.uint8),  # a blank white page: no shape
    np.full((480, 640, 3), (220, 40, 40), np.uint8),  # a red wall: no background
])
def test_degenerate_images_go_to_perception(pixels: np.ndarray) -> None:
    assert not is_world_drawing(pixels)
