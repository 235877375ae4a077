"""The pipeline's two kinds of eyes (real photos through perception into the prompt, world
drawings through the world encoder, decided per image) and its other direct answers: what it
can do, and what its world-only decoders cannot make."""

import io

import numpy as np
import pytest
from PIL import Image

from models import (
    AnyToAnyModel,
    GeneratedText,
    ImageData,
    MediaError,
    MediaResult,
    Modality,
    ModelRequest,
    ReplyDone,
    read_image,
)
from models.world.attributes import ImageAttributes
from models.world.render import render_image
from tests.photos import photo


def _reply(model: AnyToAnyModel, text: str, *images: np.ndarray, want: set[Modality] | None = None,
           ) -> tuple[str, ReplyDone, list[MediaResult]]:
    streamed, done, made = "", None, []
    for event in model.respond(ModelRequest(text=text, media=[ImageData(p) for p in images], want=want)):
        if isinstance(event, GeneratedText):
            streamed += event.text
        elif isinstance(event, MediaResult):
            made.append(event)
        elif isinstance(event, ReplyDone):
            done = event
    assert done is not None
    return streamed, done, made


def test_a_real_photo_is_answered_from_what_perception_saw(seeing_model: AnyToAnyModel) -> None:
    streamed, done, _ = _reply(seeing_model, "Is there a person?", photo("astronaut"))
    assert streamed == done.text and done.text.startswith("Yes, I see a person")
    [seen] = done.seen
    assert any(d["label"] == "person" for d in seen["detections"])
    assert done.timings_ms["first_token_ms"] >= done.timings_ms["perceive_ms"] > 0


def test_a_world_drawing_goes_to_the_world_encoder(seeing_model: AnyToAnyModel) -> None:
    drawing = render_image(ImageAttributes("red", "circle"), np.random.default_rng(0)).pixels
    _, done, _ = _reply(seeing_model, "What is in this picture?", drawing)
    assert done.seen == ()
    assert done.timings_ms["prompt_tokens"] > 8  # the projected image tokens are in the prompt


def test_a_photo_and_a_drawing_in_one_request_each_go_their_way(seeing_model: AnyToAnyModel) -> None:
    drawing = render_image(ImageAttributes("blue", "square"), np.random.default_rng(1)).pixels
    _, done, _ = _reply(seeing_model, "Compare them.", photo("cat"), drawing)
    [seen] = done.seen
    assert seen["classes"][0]["label"] == "cat"


def test_open_questions_about_a_photo_go_to_the_llm(seeing_model: AnyToAnyModel) -> None:
    _, done, _ = _reply(seeing_model, "Is it cute?", photo("cat"))
    assert done.seen and done.timings_ms["text_pieces"] > 0  # the LLM wrote the answer


@pytest.mark.parametrize("want", [None, {Modality.TEXT, Modality.IMAGE}])
def test_a_request_beyond_the_world_is_told_so_not_drawn(seeing_model: AnyToAnyModel, want) -> None:
    streamed, done, made = _reply(seeing_model, "Draw a cat on a sofa.", want=want)
    assert made == []
    assert done.text.startswith('I can\'t make "cat" or "sofa" offline.') and "full profile" in done.text


def test_a_world_request_is_still_drawn(seeing_model: AnyToAnyModel) -> None:
    _, done, made = _reply(seeing_model, "Draw a red circle.", want={Modality.TEXT, Modality.IMAGE})
    assert [m.modality for m in made] == [Modality.IMAGE]
    assert "offline" not in done.text


def test_what_can_you_do_is_answered_from_the_profile(seeing_model: AnyToAnyModel) -> None:
    _, done, _ = _reply(seeing_model, "What can you do?")
    for claim in ("look at photos", "read text", "make images, sounds and short videos", "circles"):
        assert claim in done.text
    assert "essay" not in done.text


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _odd_files() -> dict[str, bytes]:
    cat = Image.fromarray(photo("cat"))
    exif = Image.Exif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90° to show upright
    frames = [cat, cat.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return {
        "grayscale": _saved(cat.convert("L"), "PNG"),
        "cmyk": _saved(cat.convert("CMYK"), "JPEG"),
        "16-bit": _saved(Image.fromarray(np.asarray(cat.convert("L")).astype(np.uint16) * 257), "PNG"),
        "alpha": _saved(cat.convert("RGBA"), "PNG"),
        "exif-rotated": _saved(cat.rotate(90, expand=True), "JPEG", exif=exif),
        "animated gif": _saved(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "animated webp": _saved(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
        "1x1": _saved(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"),
    }


@pytest.mark.parametrize("kind", sorted(_odd_files()))
def test_odd_image_files_are_seen_or_refused_never_a_crash(seeing_model: AnyToAnyModel, kind: str) -> None:
    pixels = read_image(_odd_files()[kind]).pixels
    _, done, _ = _reply(seeing_model, "What is in this picture?", pixels)
    assert len(done.seen) == 1  # perception looked; the gate never takes a photo for a world drawing
    if kind != "1x1":
        assert "cat" in done.text, done.text
    assert done.text


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"GIF89a" + b"\xff" * 30])
def test_corrupt_files_are_a_clear_media_error(data: bytes) -> None:
    with pytest.raises(MediaError):
        read_image(data)
