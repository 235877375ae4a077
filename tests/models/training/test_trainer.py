"""The accelerate trainer end to end on the tiny profile: checkpoints, resume, adapters in a profile, the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from main import main
from models import AnyToAnyModel, InputError, ModelRequest
from models.modality import Modality
from models.training.api import load_training_data, train_stage
from models.training.stages import LoraSettings
from models.training.trainer import TrainSettings
from tests.models.training.training_data import (
    comprehension_records,
    generation_records,
    gpt,
    human,
    mosit_records,
    write_data,
    write_media_files,
)

NO_DROPOUT = LoraSettings(rank=4, alpha=8, dropout=0.0)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    write_media_files(folder)
    write_data(folder, "stage3.json", mosit_records() + generation_records() + comprehension_records())
    return folder


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXTGPT_CACHE", str(tmp_path / "cache"))


def _stage3(profile: Path, root: Path, out: Path, resume: Path | None = None, **settings) -> object:
    data = load_training_data([root / "stage3.json"], root)
    options = {"max_steps": 4, "batch_size": 2, "learning_rate": 1e-3, "lora": NO_DROPOUT, **settings}
    return train_stage(profile, data, out, TrainSettings(stage=3, **options), data, resume=resume)


def _saved_tensors(folder: Path) -> dict[str, torch.Tensor]:
    tensors = dict(load_file(str(folder / "signal_tokens.safetensors")))
    tensors.update({f"lora.{k}": v for k, v in load_file(str(folder / "llm_lora/adapter_model.safetensors")).items()})
    for projector in sorted(folder.glob("*_projector")):
        tensors.update({f"{projector.name}.{k}": v for k, v in
                        load_file(str(projector / "diffusion_pytorch_model.safetensors")).items()})
    return tensors


def test_checkpoints_hold_only_trained_parameters_and_resume_continues_the_same_run(
    tiny_saved_profile: Path, root: Path, tmp_path: Path
) -> None:
    straight = _stage3(tiny_saved_profile, root, tmp_path / "straight", save_every=2)
    assert straight.steps == 4 and all(np.isfinite(straight.losses))
    checkpoint = tmp_path / "straight/checkpoints/step-2"
    assert (checkpoint / "training_state/state.json").is_file()
    saved = _saved_tensors(tmp_path / "straight")
    lora = {k: v for k, v in saved.items() if k.startswith("lora.")}
    assert lora and all("lora_" in k for k in lora)  # no frozen LLM weight, no embedding matrix
    assert sum(v.numel() for v in saved.values()) == straight.trainable_parameters + _untrained_saved(saved)
    resumed = _stage3(tiny_saved_profile, root, tmp_path / "resumed", resume=checkpoint, save_every=2)
    assert resumed.steps == 4 and len(resumed.losses) == 2  # steps 3 and 4 only
    assert resumed.losses == pytest.approx(straight.losses[2:], rel=1e-4)
    again = _saved_tensors(tmp_path / "resumed")
    assert again.keys() == saved.keys()
    assert all(torch.allclose(again[k], saved[k], atol=1e-6) for k in saved)


def _untrained_saved(saved: dict[str, torch.Tensor]) -> int:
    """Stage 3 saves the signal rows too (unchanged), so the folder is a complete adapters folder, and
    the output projectors' target statistics (buffers, fitted once and then kept)."""
    statistics = sum(v.numel() for k, v in saved.items() if k.endswith(("target_mean", "target_scale", "fitted_on")))
    assert statistics > 0
    return saved["input_rows"].numel() + statistics


def test_metrics_and_eval_loss_are_logged(tiny_saved_profile: Path, root: Path, tmp_path: Path) -> None:
    result = _stage3(tiny_saved_profile, root, tmp_path / "run", eval_every=2)
    rows = list(csv.DictReader((tmp_path / "run/metrics.csv").open()))
    assert [r["step"] for r in rows if r["loss"]] == ["1", "2", "3", "4"]
    assert result.eval_loss is not None and np.isfinite(result.eval_loss)
    assert sum(1 for r in rows if r["eval_loss"]) == 3  # steps 2 and 4, and the end
    about = json.loads((tmp_path / "run/adapters.json").read_text())
    assert about["stage"] == 3 and about["steps"] == 4 and "lora" in about["parts"]


def test_distillation_anchors_text_only_answers_to_the_llm_without_its_lora(
    tiny_saved_profile: Path, root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = [{"instruction": f"Name a number above {n}.", "input": "", "output": f"{n + 1} is one."} for n in range(4)]
    write_data(root, "text.json", text)
    data = load_training_data([root / "text.json", root / "stage3.json"], root)
    settings = TrainSettings(stage=3, max_steps=6, batch_size=4, learning_rate=3e-2, lora=NO_DROPOUT,
                             distill_weight=1.0, seed=1)
    train_stage(tiny_saved_profile, data, tmp_path / "run", settings)
    kl = [float(r["kl"]) for r in csv.DictReader((tmp_path / "run/metrics.csv").open()) if r["loss"]]
    assert kl[0] < 1e-6  # new LoRA adds nothing yet: the tuned LLM is the base one
    assert max(kl) > 1e-4  # once it has moved, the base (LoRA switched off) answers differently
    write_data(root, "media.json", comprehension_records() + generation_records())
    media_only = load_training_data([root / "media.json"], root)
    train_stage(tiny_saved_profile, media_only, tmp_path / "media", settings)
    assert {float(r["kl"]) for r in csv.DictReader((tmp_path / "media/metrics.csv").open()) if r["loss"]} == {0.0}
    with pytest.raises(InputError, match="needs LoRA"):
        train_stage(tiny_saved_profile, data, tmp_path / "x", TrainSettings(stage=3, parts=["input_projectors"],
                                                                            distill_weight=1.0))
    assert main(["train", "--stage", "1", "--data", str(root / "text.json"), "--media-root", str(root), "--out",
                 str(tmp_path / "y"), "--profile", str(tiny_saved_profile), "--distill-weight", "1"]) == 2
    assert "needs LoRA" in capsys.readouterr().err


def _profile_with_adapters(profile: Path, adapters: Path) -> Path:
    text = f'adapters = "{adapters}"\n' + profile.read_text()
    path = profile.parent / f"with-{adapters.name}.toml"
    path.write_text(text)
    return path


def test_a_trained_checkpoint_plugs_into_a_profile_and_answers(
    tiny_saved_profile: Path, root: Path, tmp_path: Path
) -> None:
    _stage3(tiny_saved_profile, root, tmp_path / "adapters", max_steps=3, learning_rate=5e-2)
    profile = _profile_with_adapters(tiny_saved_profile, tmp_path / "adapters")
    trained = AnyToAnyModel.from_profile(profile)
    base = AnyToAnyModel.from_profile(tiny_saved_profile)
    sources = trained.sources()
    assert sources["image_output_projector"].trained and sources["audio_input_projector"].kind == "folder"
    assert sources["llm_adapters"].trained and "lora" in sources["llm_adapters"].location
    assert sources["llm_adapters"].provenance == "NExT-GPT stage 3 (python main.py train), 3 steps"
    assert "stage 3" in sources["image_output_projector"].describe()
    llm, base_llm = trained.models.llm(), base.models.llm()
    ids = llm.signal_ids[Modality.IMAGE]
    rows = load_file(str(tmp_path / "adapters/signal_tokens.safetensors"))["input_rows"]
    assert torch.allclose(llm.model.get_input_embeddings().weight[ids], rows[: len(ids)])
    weights = dict(llm.model.named_parameters())
    moved = [n for n, p in base_llm.model.named_parameters() if "self_attn" in n and not torch.equal(p, weights[n])]
    assert moved  # LoRA is merged into the attention weights
    listed = {row.role: row for row in trained.report()}
    assert listed["llm_adapters"].trained and listed["llm_adapters"].parameters > 0
    reply = list(trained.respond(ModelRequest(text="Draw a red square.", want={Modality.IMAGE}, max_new_tokens=4)))
    assert any(getattr(event, "modality", None) is Modality.IMAGE and hasattr(event, "media") for event in reply)


def test_captions_without_embedding_files_get_them_computed_and_written(
    tiny_saved_profile: Path, root: Path, tmp_path: Path
) -> None:
    record = {"image_captions": ["a blue square"], "image_caption_embeddings": ["embeddings/blue.npy"],
              "conversations": [human("Draw a blue square."), gpt("Here. <image>")]}
    data = load_training_data([write_data(tmp_path, "gen.json", [record])], tmp_path)
    train_stage(tiny_saved_profile, data, tmp_path / "out", TrainSettings(stage=2, max_steps=1))
    written = np.load(tmp_path / "embeddings/blue.npy")
    decoder = AnyToAnyModel.from_profile(tiny_saved_profile).models.decoder(Modality.IMAGE)
    assert np.allclose(written, decoder.text_embeddings(["a blue square"])[0].numpy(), atol=1e-5)
    np.save(tmp_path / "embeddings/blue.npy", np.zeros((3, 5), np.float32))  # computed for another decoder
    with pytest.raises(InputError, match=r"blue\.npy.*shape \(3, 5\).*expects \(8, 32\)"):
        train_stage(tiny_saved_profile, data, tmp_path / "out2", TrainSettings(stage=2, max_steps=1))


def test_train_dry_run_counts_and_bad_records_are_clear_errors(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--stage", "3", "--data", str(root / "stage3.json"), "--media-root", str(root),
                 "--dry-run", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["records"] == 10
    assert counts["directions"]["text→image"] == 3 and counts["directions"]["audio→text"] == 2
    missing = {"input_image": "images/none.png", "conversations": [human("<image>"), gpt("x")]}
    bad = write_data(tmp_path, "bad.json", [comprehension_records()[0], missing])
    assert main(["train", "--stage", "1", "--data", str(bad), "--media-root", str(root), "--dry-run"]) == 2
    assert "bad.json[1]" in capsys.readouterr().err
    assert main(["train", "--stage", "1", "--data", str(bad), "--media-root", str(root), "--dry-run",
                 "--skip-bad"]) == 0
    assert "1 records, 1 skipped" in capsys.readouterr().out


def test_wrong_stage_parts_and_missing_roles_are_clear_errors(tiny_saved_profile: Path, root: Path) -> None:
    data = load_training_data([root / "stage3.json"], root)
    with pytest.raises(InputError, match="cannot train"):
        train_stage(tiny_saved_profile, data, root / "x", TrainSettings(stage=3, parts=["everything"]))
    no_video = tiny_saved_profile.parent / "no-video-decoder.toml"
    no_video.write_text(tiny_saved_profile.read_text().split("[video_decoder]")[0])
    with pytest.raises(InputError, match=r"video outputs .* no \[video_decoder\]"):
        train_stage(no_video, data, root / "y", TrainSettings(stage=3, max_steps=1))


def test_stage_two_fits_the_output_projectors_target_statistics_and_stage_three_keeps_them(
    tiny_saved_profile: Path, root: Path, tmp_path: Path
) -> None:
    from models.projectors import OutputProjector

    data = load_training_data([root / "stage3.json"], root)
    captions = sorted({output.caption for example in data.examples for turn in example.turns
                       for output in turn.outputs if output.modality is Modality.IMAGE})
    train_stage(tiny_saved_profile, data, tmp_path / "s2", TrainSettings(stage=2, max_steps=2, batch_size=2))
    fitted = OutputProjector.from_pretrained(tmp_path / "s2" / "image_output_projector")
    decoder = AnyToAnyModel.from_profile(tiny_saved_profile).models.decoder(Modality.IMAGE)
    targets = decoder.text_embeddings(captions).reshape(len(captions), *decoder.conditioning_shape)
    assert int(fitted.fitted_on) == len(captions) == 2
    assert torch.allclose(fitted.target_mean, targets.mean(0), atol=1e-5)
    spread = targets.var(0, unbiased=False).mean().sqrt()
    assert torch.allclose(fitted.target_scale, spread, atol=1e-5)
    train_stage(tiny_saved_profile, data, tmp_path / "s3", TrainSettings(stage=3, max_steps=2, batch_size=2,
                                                                         lora=NO_DROPOUT), init=tmp_path / "s2")
    kept = OutputProjector.from_pretrained(tmp_path / "s3" / "image_output_projector")
    assert torch.equal(kept.target_mean, fitted.target_mean) and torch.equal(kept.target_scale, fitted.target_scale)
    assert not torch.equal(kept.out_proj.weight, fitted.out_proj.weight)  # stage 3 trained it, against the same units
