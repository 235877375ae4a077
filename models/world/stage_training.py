"""NExT-GPT's stages 1–3 on the synthetic world, through the training pipeline (`models.training`).

Stage 1 aligns the encoders with captions (comprehension records), stage 2 the decoders with
signal tokens (generation records), stage 3 tunes LoRA and both projectors on T-T+X
instructions and MosIT conversations, mixed with the earlier stages' records (so neither
direction is forgotten) and the base model's own answers to ordinary questions (so it keeps
answering them). Each stage starts from the one before; the last writes the adapters folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..training.api import load_training_data, train_stage
from ..training.records import RecordSet
from ..training.trainer import TrainSettings

log = logging.getLogger(__name__)

KINDS = ("image", "audio", "video")
EVAL_EXAMPLES = 64
STAGE_FILES = {
    1: [f"{kind}_comprehension.json" for kind in KINDS],
    2: [f"{kind}_generation.json" for kind in KINDS],
    3: ["instruction.json", "mosit.json", *(f"{kind}_comprehension.json" for kind in KINDS),
        *(f"{kind}_generation.json" for kind in KINDS)],
}


@dataclass
class StageBudget:
    """Optimiser steps and learning rate per stage (2 CPU cores: about 2–4 samples/s)."""

    steps: dict[int, int] = field(default_factory=lambda: {1: 300, 2: 300, 3: 900})
    learning_rate: dict[int, float] = field(default_factory=lambda: {1: 1e-3, 2: 1e-3, 3: 3e-4})
    batch_size: int = 4
    chat_share: float = 0.15  # of stage 3's records: the chat records, repeated (a few dozen among ~10,000)


def train_world_stages(
    profile: Path, world: Path, work: Path, adapters: Path, chat_records: list[dict], budget: StageBudget,
    stages: tuple[int, ...] = (1, 2, 3),
) -> dict[str, dict]:
    """`stages` in turn, each from what the stage before left (stage N's adapters are `work/stageN`, the
    last stage's are `adapters`); returns each stage's figures. So a build can stop after a stage and go
    on later with the stages after it."""
    work.mkdir(parents=True, exist_ok=True)
    chat_file = work / "chat.json"
    chat_file.write_text(json.dumps(chat_records, indent=1))
    figures: dict[str, dict] = {}
    init = work / f"stage{stages[0] - 1}" if stages[0] > 1 else None
    for stage in stages:
        data = load_training_data([world / "train" / name for name in STAGE_FILES[stage]], world)
        chat = _mix_in(data, load_training_data([chat_file], world), budget.chat_share) if stage == 3 else 0
        heldout = load_training_data([world / "heldout" / name for name in STAGE_FILES[stage]], world)
        heldout.examples = heldout.examples[:: max(1, len(heldout.examples) // EVAL_EXAMPLES)]  # every kind, fewer
        out = adapters if stage == 3 else work / f"stage{stage}"
        settings = TrainSettings(stage=stage, max_steps=budget.steps[stage], batch_size=budget.batch_size,
                                 learning_rate=budget.learning_rate[stage], warmup_steps=budget.steps[stage] // 20,
                                 seed=stage)
        log.info("world stage %d: %d records, %d steps", stage, len(data.examples), settings.max_steps)
        result = train_stage(profile, data, out, settings, eval_data=heldout, init=init)
        figures[f"stage_{stage}"] = {
            "records": len(data.examples), "chat_records": chat,
            "steps": result.steps, "samples_per_s": round(result.samples_per_second, 2),
            "seconds": round(result.seconds, 1), "first_loss": result.losses[0], "last_loss": result.losses[-1],
            "eval_loss": result.eval_loss, "trainable_parameters": result.trainable_parameters,
        }
        init = out
    return figures


def _mix_in(data: RecordSet, chat: RecordSet, share: float) -> int:
    """Add the chat records to `data`, each repeated so that together they make about `share` of the
    mix (at least once); returns how many records that added."""
    if not chat.examples:
        return 0
    repeats = max(1, round(share * len(data.examples) / ((1 - share) * len(chat.examples))))
    data.examples.extend(chat.examples * repeats)
    data.files.extend(chat.files)
    log.info("stage 3: %d chat records, each %d times", len(chat.examples), repeats)
    return len(chat.examples) * repeats
