"""The `local` profile's own models: trained on the synthetic world, shipped in resources/world."""

from __future__ import annotations

import json

import pytest

from models import AnyToAnyModel, Modality
from models.profile import RESOURCES
from models.world import analyse_image, analyse_sound, parse_caption

WORLD = RESOURCES / "world"
OWN_ROLES = ("image_encoder", "image_decoder", "audio_decoder", "video_decoder")


@pytest.fixture(scope="module")
def local() -> AnyToAnyModel:
    return AnyToAnyModel.from_profile("local")


def test_the_shipped_weights_are_small_and_say_how_they_were_made() -> None:
    size = sum(path.stat().st_size for path in WORLD.rglob("*") if path.is_file())
    assert size <= 60 * 2**20, f"resources/world holds {size / 2**20:.1f} MB; the issue allows 60"
    build = json.loads((WORLD / "world_build.json").read_text())
    assert build["plan"]["seed"] == 0 and set(OWN_ROLES) <= set(build)
    assert json.loads((WORLD / "adapters" / "adapters.json").read_text())["stage"] == 3


def test_every_local_role_is_trained_and_its_source_named(local: AnyToAnyModel) -> None:
    sources = local.sources()
    assert not local.untrained_roles()
    for role in OWN_ROLES:
        assert sources[role].kind == "bundled" and sources[role].location == f"resources/world/{role}"
        assert "synthetic world" in sources[role].describe()
    for modality in ("image", "audio", "video"):
        projector = sources[f"{modality}_output_projector"]
        assert projector.kind == "bundled" and projector.location.startswith("resources/world/adapters")
        assert projector.provenance.startswith("NExT-GPT stage 3")
    assert sources["llm_adapters"].trained and "lora" in sources["llm_adapters"].location


@pytest.mark.parametrize(("modality", "caption"), [("image", "a red square"), ("image", "a yellow circle"),
                                                   ("audio", "a pulsing high tone"), ("audio", "a steady low tone")])
def test_the_shipped_decoders_make_what_their_caption_says(local: AnyToAnyModel, modality: str,
                                                           caption: str) -> None:
    decoder = local.models.decoder(Modality(modality))
    medium = decoder(decoder.text_embeddings([caption])[0], seed=0)
    analyse = analyse_image if modality == "image" else analyse_sound
    assert analyse(medium) == parse_caption(caption)


def test_the_llm_and_decoders_load_without_a_library_warning_for_the_user() -> None:
    """A deprecation warning on every start is noise the user cannot act on: peft reads a property
    transformers deprecates (silenced around it), and diffusers takes `dtype` now."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fresh = AnyToAnyModel.from_profile("local")
        fresh.models.llm()
        for modality in (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO):
            fresh.models.decoder(modality)
    assert not [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
