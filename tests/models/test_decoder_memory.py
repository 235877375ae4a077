"""How the diffusion decoders share the device's memory (`decoder_memory` in a profile): kept
resident, one at a time, or offloaded to the CPU between runs of their components."""

from pathlib import Path

import pytest
import torch

from models import AnyToAnyModel, MediaResult, Modality, ModelRequest, ProfileError, load_profile
from models.decoders.diffusion_decoder import DiffusionDecoder
from models.decoders.random_pipelines import build_random_pipeline
from models.device import Placement


def _with_memory(tiny_saved_profile: Path, memory: str) -> Path:
    path = tiny_saved_profile.with_name(f"tiny-{memory}.toml")
    path.write_text(f'decoder_memory = "{memory}"\n' + tiny_saved_profile.read_text())
    return path


def test_one_at_a_time_frees_the_other_decoders_before_one_loads(tiny_saved_profile: Path):
    model = AnyToAnyModel.from_profile(_with_memory(tiny_saved_profile, "one_at_a_time"))
    image = model.models.decoder(Modality.IMAGE)
    assert model.models.decoder(Modality.IMAGE) is image  # asked again: still loaded
    model.models.decoder(Modality.AUDIO)
    loaded = {key for key in model.models.loaded() if key.endswith("_decoder")}
    assert loaded == {"audio_decoder"}
    events = list(model.respond(ModelRequest(text="draw", want={Modality.IMAGE})))
    assert [e.modality for e in events if isinstance(e, MediaResult)] == [Modality.IMAGE]
    assert {key for key in model.models.loaded() if key.endswith("_decoder")} == {"image_decoder"}
    assert model.models.decoder(Modality.IMAGE) is not image  # loaded again from its weights


@pytest.mark.parametrize("memory", ["resident", "cpu_offload"])  # cpu_offload on a CPU: resident
def test_resident_decoders_stay_loaded(tiny_saved_profile: Path, memory: str):
    model = AnyToAnyModel.from_profile(_with_memory(tiny_saved_profile, memory))
    for modality in (Modality.IMAGE, Modality.AUDIO):
        model.models.decoder(modality)
    assert {"image_decoder", "audio_decoder"} <= set(model.models.loaded())


def test_an_unknown_decoder_memory_is_refused_with_the_choices(tiny_saved_profile: Path):
    with pytest.raises(ProfileError, match="one_at_a_time"):
        load_profile(_with_memory(tiny_saved_profile, "all_on_the_disk"))


def test_an_offloaded_decoder_hands_its_pipeline_to_diffusers_offload_and_does_not_move_it(monkeypatch):
    pipeline = build_random_pipeline("image", {"channels": [16, 32]})
    calls = []
    monkeypatch.setattr(pipeline, "enable_model_cpu_offload", lambda device: calls.append(device), raising=False)
    monkeypatch.setattr(pipeline, "to", lambda *a, **k: pytest.fail("an offloaded pipeline is not moved whole"),
                        raising=False)
    gpu = Placement(torch.device("cuda"), torch.float16)
    DiffusionDecoder(Modality.IMAGE, pipeline, gpu, offload=True, steps=2, size=32)
    assert calls == [torch.device("cuda")]
