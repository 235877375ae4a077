"""NExT-GPT's stages 1–3 on the synthetic world, through the training pipeline (`models.training`).

Stage 1 aligns the encoders with captions (comprehension records), stage 2 the decoders with
signal tokens (generation records), stage 3 tunes LoRA and both projectors on T-T+X
instructions and MosIT conversations, mixed with the earlier stages' records (so neither
direction is forgotten) and the base model's own answers to ordinary questions (so it keeps
answering them). Each stage starts from the one before; the last writes the adapters folder.

After stage 3, some projectors train once more, each alone (everything else as stage 3 left it, frozen,
the LoRA in place): an input projector on its kind's captioning records, an output projector on its
kind's generation records (`StageBudget.refinements`). Stage 3 gives each a tenth of its records and
its other parts share the loss, so a projector can leave an attribute unlearnt (the video input
projector the direction, though its motion token holds it; the image output projector the shape)
that its own refinement then learns. docs/world.md has the measurements.

After each step that trains the input side, `reading_probe` scores how often the model picks each
true attribute over the swapped ones (the step's `reads` figures): a stage 3 that has not learnt to
read a clip's direction shows it there, long before a full evaluation would.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..training.api import load_training_data, train_stage
from ..training.checkpoint import CHECKPOINTS_FOLDER, STATE_FOLDER, checkpoint_position, checkpoints
from ..training.records import RecordSet
from ..training.trainer import TrainResult, TrainSettings
from .reading_probe import reading_probe
from .records import KINDS

log = logging.getLogger(__name__)

EVAL_EXAMPLES = 64
# a finished step is kept, and a checkpoint resumed, only by a run whose settings match it in these
STEP_SETTINGS = ("stage", "parts", "max_steps", "batch_size", "learning_rate", "seed", "distill_weight")
STAGE_FILES = {
    1: [f"{kind}_comprehension.json" for kind in KINDS],
    2: [f"{kind}_generation.json" for kind in KINDS],
    3: ["instruction.json", "mosit.json", *(f"{kind}_comprehension.json" for kind in KINDS),
        *(f"{kind}_generation.json" for kind in KINDS)],
}


@dataclass(frozen=True)
class Refinement:
    """After stage 3, `steps` of one projector alone: `kind`'s input projector on its captioning records
    (`side="input"`) or its output projector on its generation records (`side="output"`)."""

    kind: str
    side: str
    steps: int

    @property
    def name(self) -> str:
        return f"{self.kind}_{self.side}_projector"


@dataclass
class StageBudget:
    """Optimiser steps and learning rate per stage (2 CPU cores: about 2–4 samples/s)."""

    steps: dict[int, int] = field(default_factory=lambda: {1: 300, 2: 300, 3: 900})
    learning_rate: dict[int, float] = field(default_factory=lambda: {1: 1e-3, 2: 1e-3, 3: 3e-4})
    batch_size: int = 4
    chat_share: float = 0.15  # of stage 3's records: the chat records, repeated (a few dozen among ~10,000)
    # stage 3's KL to the LLM with its LoRA off on the text-only (chat) answers (StagePlan.distill_weight):
    # the chat records' greedy answers alone still lost 2 of the 12 chat questions
    distill_weight: float = 1.0
    refinements: tuple[Refinement, ...] = (Refinement("video", "input", 300), Refinement("image", "input", 300),
                                           Refinement("image", "output", 300), Refinement("video", "output", 300))
    refine_learning_rate: float = 1e-3
    save_every: int = 100  # steps: a checkpoint that `world train --keep` resumes after a stop
    # held-out captioning records per kind that `reading_probe` scores after each step that trains
    # the input side (stages 1 and 3, the input refinements); 0: none
    probe_records: int = 16


def train_world_stages(
    profile: Path, world: Path, work: Path, adapters: Path, chat_records: list[dict], budget: StageBudget,
    keep: bool = False,
) -> dict[str, dict]:
    """Stages 1-3, then the refinements, each step from the one before (stage N's adapters are
    `work/stageN`, each refinement's `work/stage3_<kind>_<side>_projector`, the last step's `adapters`);
    returns each step's figures (also kept in `work/stage_figures.json`).

    With `keep`, the steps an earlier run finished with the same settings are kept and the first one it
    did not finish resumes from its last checkpoint (every `budget.save_every` steps), so a build that
    stopped goes on where it stopped; a step redone (or changed) means the ones after it too."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "chat.json").write_text(json.dumps(chat_records, indent=1))
    figures = run_steps(_steps(budget), profile, world, work, adapters, keep=keep,
                        figures_file=work / "stage_figures.json",
                        folder_name=lambda name: name.replace("stage_", "stage"))
    if budget.refinements:  # the folder's record is stage 3's, with the refinements after it
        about = json.loads((work / "stage3" / "adapters.json").read_text(encoding="utf-8"))
        about["refinements"] = [{"projector": r.name, "steps": r.steps} for r in budget.refinements]
        (adapters / "adapters.json").write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
    return figures


@dataclass
class TrainingStep:
    """One training run of the build: its record files, its settings, the chat records' share."""

    files: list[str]
    settings: TrainSettings
    chat_share: float = 0.0
    probe_kinds: tuple[str, ...] = ()  # whose reading `reading_probe` scores after the step
    probe_records: int = 0

    def __call__(self, profile: Path, world: Path, work: Path, out: Path, init: Path | None,
                 resume: Path | None) -> dict:
        data = load_training_data([world / "train" / name for name in self.files], world)
        chat = _mix_in(data, load_training_data([work / "chat.json"], world), self.chat_share) \
            if self.chat_share else 0
        log.info("world stage %d (%s): %d records, %d steps", self.settings.stage, out.name, len(data.examples),
                 self.settings.max_steps)
        result = train_stage(profile, data, out, self.settings, eval_data=_heldout(world, self.files), init=init,
                             resume=resume)
        extra = {"chat_records": chat} if self.settings.parts is None else {}
        if self.probe_kinds and self.probe_records:
            reads = reading_probe(profile, out, world, self.probe_kinds, self.probe_records)
            extra["reads"] = {name: score.accuracy for name, score in reads.items()}
        return {"records": len(data.examples), **extra, **_figures(result)}


def run_steps(steps: list[tuple[str, TrainingStep]], profile: Path, world: Path, work: Path, last: Path, *,
              init: Path | None = None, keep: bool = False, figures_file: Path | None = None,
              folder_name: Callable[[str], str] = lambda name: name) -> dict[str, dict]:
    """Run `steps` in order, each from the one before (the first from `init`): each into
    `work/<folder_name(name)>`, the last into `last`, which keeps no checkpoints nor optimiser state;
    returns each step's figures (written to `figures_file` after each step, when given).

    With `keep` (and `figures_file`), the steps an earlier run finished with the same settings are kept
    and the first one it did not finish resumes from its last checkpoint; a step redone (or changed)
    means the ones after it too."""
    kept = json.loads(figures_file.read_text(encoding="utf-8")) if keep and figures_file and figures_file.is_file() \
        else {}
    figures: dict[str, dict] = {}
    for position, (name, run) in enumerate(steps):
        out = last if position == len(steps) - 1 else work / folder_name(name)
        unbroken = keep and len(figures) == position  # every step before it was kept
        if unbroken and kept.get(name, {}).get("settings") == _recipe(run.settings) \
                and (out / "adapters.json").is_file():
            log.info("world stages: keeping %s from %s", name, out)
            figures[name] = kept[name]
        else:
            resume = _checkpoint(out, run.settings) if unbroken else None
            if resume is None and out.exists():
                shutil.rmtree(out)  # an older run's parts must not outlive this one
            figures[name] = {**run(profile, world, work, out, init, resume), "settings": _recipe(run.settings)}
            if figures_file is not None:
                figures_file.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
            shutil.rmtree(out / CHECKPOINTS_FOLDER, ignore_errors=True)
        init = out
    shutil.rmtree(last / STATE_FOLDER, ignore_errors=True)  # optimiser state: not part of the adapters
    return figures


def _steps(budget: StageBudget) -> list[tuple[str, TrainingStep]]:
    """The build's training runs in order: stages 1-3 (stage 3 with the chat records mixed in and
    anchored), then each refinement: one projector alone on its kind's captioning (input side) or
    generation (output side) records."""
    steps = []
    for stage in (1, 2, 3):
        settings = TrainSettings(stage=stage, max_steps=budget.steps[stage], batch_size=budget.batch_size,
                                 learning_rate=budget.learning_rate[stage], warmup_steps=budget.steps[stage] // 20,
                                 seed=stage, distill_weight=budget.distill_weight if stage == 3 else 0.0,
                                 save_every=budget.save_every)
        reads = KINDS if stage != 2 else ()  # stage 2 trains only the output side
        chat_share = budget.chat_share if stage == 3 else 0
        steps.append((f"stage_{stage}", TrainingStep(STAGE_FILES[stage], settings, chat_share, reads,
                                                     budget.probe_records)))
    for position, refinement in enumerate(budget.refinements):
        task = {"input": "comprehension", "output": "generation"}[refinement.side]
        settings = TrainSettings(stage=3, parts=[f"{refinement.side}_projectors"], max_steps=refinement.steps,
                                 batch_size=budget.batch_size, learning_rate=budget.refine_learning_rate,
                                 warmup_steps=refinement.steps // 20, seed=4 + position,
                                 save_every=budget.save_every)
        reads = (refinement.kind,) if refinement.side == "input" else ()
        step = TrainingStep([f"{refinement.kind}_{task}.json"], settings, probe_kinds=reads,
                            probe_records=budget.probe_records)
        steps.append((f"stage_3_{refinement.name}", step))
    return steps


def _checkpoint(out: Path, settings: TrainSettings) -> Path | None:
    """The latest checkpoint in `out` of a run with these settings (None: none to resume)."""
    for folder in reversed(checkpoints(out)):
        position = checkpoint_position(folder)
        if position and {k: position["settings"].get(k) for k in STEP_SETTINGS} == _recipe(settings):
            log.info("world stages: resuming %s from %s", out.name, folder)
            return folder
    return None


def _recipe(settings: TrainSettings) -> dict:
    """What makes a step the step it is (STEP_SETTINGS), as its figures record it."""
    return json.loads(json.dumps({k: getattr(settings, k) for k in STEP_SETTINGS}))


def _heldout(world: Path, names: list[str]) -> RecordSet:
    """The held-out records of `names`, thinned evenly to about EVAL_EXAMPLES (every kind kept)."""
    heldout = load_training_data([world / "heldout" / name for name in names], world)
    heldout.examples = heldout.examples[:: max(1, len(heldout.examples) // EVAL_EXAMPLES)]
    return heldout


def _figures(result: TrainResult) -> dict:
    return {"steps": result.steps, "samples_per_s": round(result.samples_per_second, 2),
            "seconds": round(result.seconds, 1), "first_loss": result.losses[0], "last_loss": result.losses[-1],
            "eval_loss": result.eval_loss, "trainable_parameters": result.trainable_parameters}


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
