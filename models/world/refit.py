"""Refit an adapters folder's output side to a new decoder (`python main.py world refit`).

An output projector learns its decoder's conditioning: the caption as that decoder's text encoder
embeds it. A decoder trained anew embeds captions its own way (the video decoder with its direction
words separated, `video_inflation.separate_new_words`), so the adapters trained against the old one ask
it for the wrong thing, and where the old decoder's captions did not differ (by direction), nothing
taught the LLM's signal states to tell them apart. Rather than train stages 1-3 again (hours on a
CPU), these steps, each from the one before:
1. its output projector alone, its target statistics fitted afresh to the new decoder's captions;
2. the LoRA with the output projectors, on the kind's generation records and the MoSIT conversations,
   with the chat records mixed in and anchored by KL to the LLM without LoRA, as in stage 3;
3. its output projector alone again, on the signal states step 2 left;
4. the LoRA alone (its output projectors' error still in the loss) on stage 3's whole mix, the chat
   records a larger share and anchored harder, in two runs (`Anchor`): step 2, like any training of a
   LoRA already tuned, loses ordinary answers ("what colour is the sky" -> "indigo"); the anchoring
   brings them back.

docs/world.md has what each step measured and how long it took.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..projectors import OutputProjector
from ..training.checkpoint import CHECKPOINTS_FOLDER, STATE_FOLDER
from ..training.trainer import TrainSettings
from .records import KINDS
from .stage_training import STAGE_FILES, TrainingStep, run_steps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Anchor:
    """One run of the LoRA alone re-anchoring ordinary chat: steps, the chat records' share, the KL weight."""

    steps: int
    chat_share: float
    distill_weight: float


@dataclass(frozen=True)
class RefitBudget:
    """Steps and learning rates of the steps (docs/world.md: how long they take)."""

    projector_steps: int = 600
    joint_steps: int = 300
    final_steps: int = 1200
    projector_learning_rate: float = 1e-3
    joint_learning_rate: float = 3e-4
    batch_size: int = 4
    chat_share: float = 0.15
    distill_weight: float = 1.0
    anchors: tuple[Anchor, ...] = (Anchor(200, 0.3, 2.0), Anchor(200, 0.4, 4.0))
    anchor_learning_rate: float = 2e-4
    save_every: int = 100


def refit_steps(kind: str, budget: RefitBudget) -> list[tuple[str, TrainingStep]]:
    """The training runs in order, each named for what it trains."""
    if kind not in KINDS:
        raise ValueError(f"refit: unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    generation = f"{kind}_generation.json"

    def settings(parts: list[str], steps: int, learning_rate: float, seed: int, distill: float = 0.0) -> TrainSettings:
        return TrainSettings(stage=3, parts=parts, max_steps=steps, batch_size=budget.batch_size,
                             learning_rate=learning_rate, warmup_steps=steps // 20, seed=seed, distill_weight=distill,
                             save_every=budget.save_every)

    return [
        (f"refit_{kind}_output_projector", TrainingStep(
            [generation], settings(["output_projectors"], budget.projector_steps, budget.projector_learning_rate, 7))),
        (f"refit_{kind}_lora", TrainingStep(
            [generation, "mosit.json"], settings(["lora", "output_projectors"], budget.joint_steps,
                                                 budget.joint_learning_rate, 11, budget.distill_weight),
            budget.chat_share)),
        (f"refit_{kind}_output_projector_again", TrainingStep(
            [generation], settings(["output_projectors"], budget.final_steps, budget.projector_learning_rate, 7))),
        *((f"refit_{kind}_chat_anchor" + (f"_{number}" if number > 1 else ""), TrainingStep(
            STAGE_FILES[3], settings(["lora"], anchor.steps, budget.anchor_learning_rate, 13, anchor.distill_weight),
            anchor.chat_share)) for number, anchor in enumerate(budget.anchors, start=1)),
    ]


def refit_output_side(profile: Path, world: Path, work: Path, adapters: Path, out: Path, kind: str,
                      chat_records: list[dict], budget: RefitBudget | None = None) -> dict[str, dict]:
    """Refit `adapters` (left as they are) to the `kind` decoder of `profile` into `out`, through
    `work/refit_<kind>_*`; returns each step's figures. `out` records the refit in its adapters.json."""
    budget = budget or RefitBudget()
    if not (adapters / "adapters.json").is_file():
        raise InputError(f"{adapters} is not an adapters folder (no adapters.json)")
    if out.resolve() == adapters.resolve():
        raise InputError(f"refit into another folder than {adapters}: the adapters it starts from are kept")
    about = json.loads((adapters / "adapters.json").read_text(encoding="utf-8"))
    steps = refit_steps(kind, budget)
    work.mkdir(parents=True, exist_ok=True)
    (work / "chat.json").write_text(json.dumps(chat_records, indent=1), encoding="utf-8")
    start = work / f"refit_{kind}_start"
    shutil.rmtree(start, ignore_errors=True)
    shutil.copytree(adapters, start, ignore=shutil.ignore_patterns(STATE_FOLDER, CHECKPOINTS_FOLDER))
    forget_target_statistics(start / f"{kind}_output_projector")
    figures = run_steps(steps, profile, world, work, out, init=start)
    about["refits"] = [*about.get("refits", []), {"kind": kind, "steps": {name: run.settings.max_steps
                                                                           for name, run in steps}}]
    (out / "adapters.json").write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
    log.info("refit the %s output side of %s into %s", kind, adapters, out)
    return figures


def forget_target_statistics(folder: Path) -> None:
    """Mark a saved output projector's target statistics unfitted, so the next training run fits them
    to its decoder's captions (`target_statistics.fit_output_projectors`); its weights stay."""
    projector = OutputProjector.from_pretrained(str(folder))
    if not projector.config.standardise:
        return
    projector.fitted_on.zero_()
    projector.save_pretrained(str(folder))


def refit_decoder(kind: str, decoder: Path, out: Path, adapters: Path | None = None, profile_name: str = "local",
                  world: Path | None = None, work: Path | None = None) -> dict[str, dict]:
    """`world refit`: the profile's adapters (or `adapters`) refitted to a new `kind` decoder folder,
    into `out`; returns each step's figures. The base LLM's own chat answers are asked once per work
    folder and kept there."""
    from ..gguf_conversion import cache_root
    from ..profile import find_profile, load_profile
    from ..weights import resolve_weights
    from .build import base_answerer, profile_with_weights
    from .chat_data import distilled_chat_records
    from .evaluation import open_world

    if not (decoder / "model_index.json").is_file():
        raise InputError(f"{decoder} is not a decoder folder (no model_index.json)")
    base = load_profile(profile_name)
    adapters = adapters or base.adapters
    if adapters is None or not (adapters / "adapters.json").is_file():
        raise InputError(f"{adapters or 'the profile'} has no adapters to refit (no adapters.json); give --adapters")
    world = open_world(world)
    work = work or cache_root() / f"world-refit-{kind}"
    work.mkdir(parents=True, exist_ok=True)
    # the profile with the new decoder and without adapters, written elsewhere: its folder paths made absolute
    weights = {role: Path(resolve_weights(spec, base.path.parent).location) for role, spec in base.roles.items()
               if spec.weights.startswith("folder:")}
    profile = work / "refit.toml"
    profile.write_text(profile_with_weights(find_profile(profile_name).read_text(encoding="utf-8"),
                                            {**weights, f"{kind}_decoder": decoder}), encoding="utf-8")
    chat_file = work / "chat.json"
    chat = (json.loads(chat_file.read_text(encoding="utf-8")) if chat_file.is_file()
            else distilled_chat_records(base_answerer(profile)))
    return refit_output_side(profile, world, work, adapters, out, kind, chat)
