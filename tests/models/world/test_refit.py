"""`world refit`: an adapters folder's output side refitted to a new decoder, on the tiny profile."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
import torch

from models import AnyToAnyModel
from models.decoders.random_pipelines import build_random_pipeline
from models.errors import InputError
from models.profile import load_profile
from models.projectors import OutputProjector
from models.world import generate_world
from models.world.build import profile_with_weights
from models.world.refit import Anchor, RefitBudget, refit_output_side, refit_steps
from models.world.stage_training import StageBudget, train_world_stages

CHAT = [{"instruction": "What is two plus two?", "input": "", "output": "Four."}]


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(folder)).encode() + file.read_bytes())
    return digest.hexdigest()


def test_a_refit_trains_the_output_side_against_the_new_decoder_and_leaves_the_old_adapters(
    tiny_saved_profile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changed_parts
) -> None:
    monkeypatch.setenv("NEXTGPT_CACHE", str(tmp_path / "cache"))
    world = tmp_path / "world"
    generate_world(world, seed=1, train_per_kind=12, heldout_per_kind=3)
    adapters = tmp_path / "adapters"
    train_world_stages(tiny_saved_profile, world, tmp_path / "stages", adapters, CHAT,
                       StageBudget(steps={1: 1, 2: 1, 3: 2}, batch_size=2, refinements=()))
    before = _tree_digest(adapters)
    # a video decoder trained anew: its own text encoder, so its own caption conditionings
    decoder = tmp_path / "new_video_decoder"
    build_random_pipeline("video", load_profile(tiny_saved_profile).role("video_decoder").config,
                          seed=9).save_pretrained(decoder)
    profile = tiny_saved_profile.parent / "refit.toml"  # beside the tiny weights: their folder paths are relative
    profile.write_text(profile_with_weights(tiny_saved_profile.read_text(), {"video_decoder": decoder}))
    work, out = tmp_path / "work", tmp_path / "refitted"

    figures = refit_output_side(profile, world, work, adapters, out, "video", CHAT,
                                RefitBudget(projector_steps=2, joint_steps=2, final_steps=2, batch_size=2,
                                            anchors=(Anchor(2, 0.5, 2.0), Anchor(1, 0.5, 4.0))))

    assert list(figures) == ["refit_video_output_projector", "refit_video_lora", "refit_video_output_projector_again",
                             "refit_video_chat_anchor", "refit_video_chat_anchor_2"]
    assert [f["steps"] for f in figures.values()] == [2, 2, 2, 2, 1]
    assert _tree_digest(adapters) == before  # the adapters it started from are left as they were
    # steps 1 and 3 move the video output projector alone; step 2 the LoRA (and the output side); the
    # anchoring runs the LoRA alone
    first, second, third, anchored = (work / name for name in figures if name != "refit_video_chat_anchor_2")
    assert changed_parts(adapters, first) == {"video_output_projector"}
    assert "llm_lora" in changed_parts(first, second) <= {
        "llm_lora", "image_output_projector", "audio_output_projector", "video_output_projector"}
    assert changed_parts(second, third) == {"video_output_projector"}
    assert changed_parts(third, anchored) == changed_parts(anchored, out) == {"llm_lora"}
    anchor_kl = [float(r["kl"]) for r in csv.DictReader((anchored / "metrics.csv").open()) if r["loss"]]
    assert max(anchor_kl) > 0
    # its target statistics were fitted again, to the new decoder's captions
    old, new = (OutputProjector.from_pretrained(str(f / "video_output_projector")) for f in (adapters, out))
    assert int(new.fitted_on) > 0 and not torch.allclose(old.target_mean, new.target_mean)
    kl = [float(r["kl"]) for r in csv.DictReader((second / "metrics.csv").open()) if r["loss"]]
    assert max(kl) > 0  # the chat answers anchored to the LLM without LoRA, as in stage 3
    about = json.loads((out / "adapters.json").read_text())
    assert about["refits"] == [{"kind": "video", "steps": {name: f["steps"] for name, f in figures.items()}}]
    with_refit = tmp_path / "refitted.toml"
    with_refit.write_text(f'adapters = "{out}"\n' + profile.read_text())
    sources = AnyToAnyModel.from_profile(with_refit).sources()
    assert sources["llm_adapters"].provenance.endswith("then 9 steps refitting to a new video decoder")


def test_refit_refuses_an_unknown_kind_a_folder_without_adapters_or_writing_over_them(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown kind 'speech'"):
        refit_steps("speech", RefitBudget())
    with pytest.raises(InputError, match="no adapters.json"):
        refit_output_side(tmp_path / "p.toml", tmp_path, tmp_path / "work", tmp_path / "none", tmp_path / "out",
                          "video", CHAT)
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "adapters.json").write_text("{}")
    with pytest.raises(InputError, match="another folder"):  # never over the adapters it starts from
        refit_output_side(tmp_path / "p.toml", tmp_path, tmp_path / "work", tmp_path / "adapters",
                          tmp_path / "adapters", "video", CHAT)
    assert (tmp_path / "adapters" / "adapters.json").read_text() == "{}"


def test_world_refit_command_says_what_is_wrong_with_a_decoder_folder(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from main import main

    code = main(["world", "refit", "--kind", "video", "--decoder", str(tmp_path), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "no model_index.json" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
