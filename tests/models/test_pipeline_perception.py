"""The pipeline's two kinds of eyes (real photos through perception into the prompt, world
drawings through the world encoder, decided per image) and its other direct answers: what it
can do, and what its world-only decoders cannot make."""

import numpy as np
import pytest

from models import AnyToAnyModel, ImageData, MediaResult, Modality, ModelRequest, ReplyDone, TextDelta
from models.world.attributes import ImageAttributes
from models.world.render import render_image
from tests.photos import photo


def _reply(model: AnyToAnyModel, text: str, *images: np.ndarray, want: set[Modality] | None = None,
           ) -> tuple[str, ReplyDone, list[MediaResult]]:
    streamed, done, made = "", None, []
    for event in model.respond(ModelRequest(text=text, media=[ImageData(p) for p in images], want=want)):
        if isinstance(event, TextDelta):
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
