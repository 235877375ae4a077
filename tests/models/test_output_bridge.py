"""The output bridge: a signalled medium made from a caption through its decoder's own text
encoder (no trained output projector), and how a profile chooses it per modality."""

from pathlib import Path

import numpy as np
import pytest

from models import AnyToAnyModel, MediaResult, Modality, ModelRequest, ProfileError
from models.output_bridge import caption_for


def test_the_caption_comes_from_the_answer_else_from_the_request():
    assert caption_for("Here is a blue square moving right.", "Draw it moving right") == "a blue square moving right"
    assert caption_for("Sure! Here is a red circle:", "paint a red circle") == "a red circle"
    assert caption_for("I have drawn a yellow triangle.", "") == "a yellow triangle"
    assert caption_for("", "Please show me a picture of a sunset over the sea.") == "a sunset over the sea"
    assert caption_for("Sure!", "Draw a cat") == "a cat"  # an answer that names nothing
    assert caption_for("", "") == ""


def _with_mode(saved: Path, mode: str) -> Path:
    text = saved.read_text().replace("[output_projector]\n", f"[output_projector]\nmode = {mode}\n", 1)
    target = saved.with_name(f"tiny-{abs(hash(mode))}.toml")
    target.write_text(text)
    return target


def test_a_bridged_image_is_what_the_decoder_makes_of_the_captions_embedding(tiny_saved_profile: Path):
    model = AnyToAnyModel.from_profile(_with_mode(tiny_saved_profile, '"bridge"'))
    events = list(model.respond(ModelRequest(text="Draw a red circle", want={Modality.IMAGE})))
    made = next(e for e in events if isinstance(e, MediaResult))
    assert made.via == "bridge" and made.caption  # from the (random) answer, else "a red circle"
    assert "image_output_projector" not in made.untrained_roles  # no projector shaped it
    decoder = model.models.decoder(Modality.IMAGE)
    again = decoder(decoder.text_embeddings([made.caption])[0], seed=0)
    assert np.array_equal(again.pixels, made.media.pixels)  # exactly the caption's embedding, decoded
    elsewhere = decoder(decoder.text_embeddings([made.caption + " far away in the snow"])[0], seed=0)
    assert not np.array_equal(elsewhere.pixels, made.media.pixels)  # the caption shapes what is made


def test_a_profile_chooses_the_route_per_modality(tiny_saved_profile: Path):
    per_modality = _with_mode(tiny_saved_profile, '{ image = "bridge", audio = "projector" }')
    models = AnyToAnyModel.from_profile(per_modality).models
    assert models.output_route(Modality.IMAGE) == "bridge"
    assert models.output_route(Modality.AUDIO) == "projector"
    assert models.output_route(Modality.VIDEO) == "bridge"  # auto, and no trained video projector here
    assert AnyToAnyModel.from_profile(tiny_saved_profile).models.output_route(Modality.IMAGE) == "projector"
    local = AnyToAnyModel.from_profile("local").models
    assert all(local.output_route(m) == "projector" for m in (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO))
    full = AnyToAnyModel.from_profile("full").models  # nothing loads: the route reads the profile
    assert all(full.output_route(m) == "bridge" for m in (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO))
    with pytest.raises(ProfileError, match="choose from projector, bridge, auto"):
        AnyToAnyModel.from_profile(_with_mode(tiny_saved_profile, '"guess"')).models.output_route(Modality.IMAGE)
