"""The real eyes on real photos: what they name, count, place and read."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from models.perception import ground
from tests.photos import photo


@pytest.mark.parametrize(("name", "label"), [("cat", "cat"), ("astronaut", "person"), ("coffee", "cup"),
                                             ("motorcycle", "motorcycle"), ("hopper", "person")])
def test_the_main_thing_of_a_real_photo_is_named(perceiver, name: str, label: str) -> None:
    scene = perceiver(photo(name))
    assert label in scene.summary()
    assert scene.find(label) is not None


def test_a_cat_photo_is_not_a_person_and_its_classes_say_cat(perceiver) -> None:
    scene = perceiver(photo("cat"))
    assert scene.likely is not None and scene.likely.kind == "cat"
    assert ground(scene, "Is there a person?").answer.startswith("No")
    assert ground(scene, "Is there a cat?").answer.startswith("Yes")
    assert ground(scene, "How many cats are there?").answer.startswith("I count one cat")


def _sign(text: str, angle: float) -> np.ndarray:
    image = Image.fromarray(photo("china")).resize((640, 480))
    board = Image.new("RGB", (520, 120), (245, 245, 235))
    font = ImageFont.truetype("DejaVuSans-Bold.ttf", 56)
    ImageDraw.Draw(board).text((20, 25), text, fill=(20, 20, 90), font=font)
    board = board.rotate(angle, expand=True, fillcolor=(245, 245, 235))
    image.paste(board, (60, 150))
    return np.asarray(image)


def test_text_on_a_sign_over_a_photo_is_read(perceiver) -> None:
    scene = perceiver(_sign("EXIT 42", 4.0))
    assert scene.words.replace(" ", "") == "EXIT42"
    assert ground(scene, "What does the sign say?").answer == f'It says "{scene.words}".'


def test_skipping_text_reading_leaves_no_claim_about_text(perceiver) -> None:
    scene = perceiver(_sign("EXIT 42", 0.0), read_text=False)
    assert scene.text == () and "text" not in scene.describe()
    assert "ocr_ms" not in scene.timings_ms and scene.timings_ms["detect_ms"] > 0


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 500, 3), (4000, 3000, 3)])
def test_odd_sizes_give_a_scene_not_a_crash(perceiver, shape: tuple[int, int, int]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    scene = perceiver(pixels)
    assert isinstance(scene.describe(), str) and scene.describe()
