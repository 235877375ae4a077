"""Each stage on the tiny profile: what trains, that the loss falls, and how examples become sequences."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.modality import Modality
from models.model_set import ModelSet
from models.profile import load_profile
from models.training.records import load_records
from models.training.sequences import IGNORE, MediaSlot, SequenceBuilder
from models.training.trainer import TrainSettings, build_trainee
from tests.models.training.training_data import (
    comprehension_records,
    generation_records,
    mosit_records,
    write_data,
    write_media_files,
)

STAGE_DATA = {1: comprehension_records, 2: generation_records, 3: lambda: mosit_records() + generation_records()}


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    write_media_files(root)
    return root


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXTGPT_CACHE", str(tmp_path / "cache"))


def _setup(profile: Path, root: Path, stage: int, **settings):
    from models.training.batches import Collator
    from models.training.caption_targets import CaptionTargets
    from models.training.media_features import MediaFeatures

    data = load_records([write_data(root, f"stage{stage}.json", STAGE_DATA[stage]())], root)
    models = ModelSet(load_profile(profile), apply_llm_adapters=False)
    trainee = build_trainee(models, data.examples, TrainSettings(stage=stage, **settings), None)
    plan = trainee.plan
    collate = Collator(SequenceBuilder(models.llm(), plan.label_scope), MediaFeatures(models),
                       CaptionTargets(models) if plan.uses_mse else None)
    return trainee, collate(data.examples), models


def _expected_trainable(trainee, stage: int) -> set[str]:
    names = {name for name, _ in trainee.named_parameters()}
    if stage == 1:
        return {n for n in names if n.startswith("input_projectors.")}
    if stage == 2:
        return {n for n in names if n.startswith("output_projectors.")} | {"rows.input_rows"}
    return {n for n in names if n.startswith(("input_projectors.", "output_projectors.")) or "lora_" in n}


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_a_stage_tunes_only_its_parameters_and_its_loss_falls_on_a_repeated_batch(
    tiny_saved_profile: Path, media_root: Path, stage: int
) -> None:
    torch.manual_seed(0)
    trainee, batch, _ = _setup(tiny_saved_profile, media_root, stage, lora=_small_lora())
    optimizer = torch.optim.AdamW(trainee.trainable_parameters(), lr=3e-3)
    trainee.train()
    losses = []
    for step in range(25):
        result = trainee(batch)
        assert torch.isfinite(result["loss"]), result
        optimizer.zero_grad()
        result["loss"].backward()
        if step == 0:
            with_grad = {n for n, p in trainee.named_parameters() if p.grad is not None}
            assert with_grad == _expected_trainable(trainee, stage)
            # lora_A's first gradient is zero by construction (lora_B starts at zero); the rest must move
            assert all(trainee.get_parameter(n).grad.abs().sum() > 0 for n in with_grad if "lora_A" not in n)
            frozen = {n for n, p in trainee.named_parameters() if not p.requires_grad}
            assert frozen and all(trainee.get_parameter(n).grad is None for n in frozen)
        optimizer.step()
        losses.append(float(result["loss"].detach()))
    assert losses[-1] < losses[0] - 0.05 and sum(losses[-5:]) < sum(losses[:5]), losses
    if stage != 1:
        assert float(result["mse"]) > 0  # the MSE term is part of stages 2 and 3


def _small_lora():
    from models.training.stages import LoraSettings

    return LoraSettings(rank=4, alpha=8, dropout=0.0)


def test_frozen_llm_weights_do_not_move(tiny_saved_profile: Path, media_root: Path) -> None:
    trainee, batch, _ = _setup(tiny_saved_profile, media_root, 3, lora=_small_lora())
    base = trainee.base_model()
    before = {n: p.detach().clone() for n, p in base.named_parameters() if "lora_" not in n}
    optimizer = torch.optim.AdamW(trainee.trainable_parameters(), lr=1e-2)
    for _ in range(3):
        optimizer.zero_grad()
        trainee(batch)["loss"].backward()
        optimizer.step()
    assert all(torch.equal(before[n], p) for n, p in base.named_parameters() if "lora_" not in n)
    lora = [p for n, p in base.named_parameters() if "lora_B" in n]
    assert lora and any(p.abs().sum() > 0 for p in lora)  # lora_B starts at zero; it moved


def test_stage_2_labels_only_signal_tokens_and_its_targets_come_from_the_decoder(
    tiny_saved_profile: Path, media_root: Path
) -> None:
    trainee, batch, models = _setup(tiny_saved_profile, media_root, 2)
    signal_ids = {i for ids in models.llm().signal_ids.values() for i in ids}
    for item in batch:
        labelled = {int(t) for labels in item.labels if labels is not None for t in labels if t != IGNORE}
        assert labelled and labelled <= signal_ids
    image_item = batch[0]
    modality, target = image_item.targets[0]
    decoder = models.decoder(Modality.IMAGE)
    assert modality is Modality.IMAGE
    assert torch.allclose(target, decoder.text_embeddings(["a red square"])[0].cpu(), atol=1e-5)


def test_a_mosit_conversation_becomes_one_sequence_with_media_slots_and_signal_groups(
    tiny_saved_profile: Path, media_root: Path
) -> None:
    models = ModelSet(load_profile(tiny_saved_profile))
    llm = models.llm()
    data = load_records([write_data(media_root, "mosit.json", mosit_records())], media_root)
    sequence = SequenceBuilder(llm).build(data.examples[0])
    assert sequence.media == [MediaSlot(Modality.AUDIO, (media_root / "sounds/high.wav").resolve())]
    ids = [i for piece in sequence.pieces if not isinstance(piece, MediaSlot) for i in piece]
    labels = [t for lab in sequence.labels if lab is not None for t in lab]
    image_group = llm.signal_ids[Modality.IMAGE]
    start = ids.index(image_group[0])
    assert ids[start : start + len(image_group)] == image_group
    assert labels[start : start + len(image_group)] == image_group  # the group is learned
    answered = llm.tokenizer.decode([i for i, t in zip(ids, labels, strict=True) if t != IGNORE])
    assert "a high tone" in answered and "Here you go." in answered
    assert "What do you hear?" not in answered and "Now draw" not in answered  # user turns are not learned
    assert [t.caption for t in sequence.targets] == ["a blue square"]
    # the first turn is tokenised exactly as inference builds its prompt: text, medium, text
    prompt = llm.render([{"role": "user", "content": "<audio>\nWhat do you hear?"}], add_generation_prompt=True)
    before, after = prompt.split("<audio>")
    tokens = llm.tokenizer(before, add_special_tokens=False).input_ids
    assert sequence.pieces[0] == tokens and isinstance(sequence.pieces[1], MediaSlot)
    following = llm.tokenizer(after, add_special_tokens=False).input_ids
    assert (sequence.pieces[2] + sequence.pieces[3])[: len(following)] == following
