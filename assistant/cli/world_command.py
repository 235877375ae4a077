"""`world generate`: write the synthetic world's data; `world train`: train its models from scratch."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO


def run_world_generate(out: Path, seed: int, per_kind: int, heldout_per_kind: int,
                       stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    from models.world import generate_world

    manifest = generate_world(out, seed=seed, train_per_kind=per_kind, heldout_per_kind=heldout_per_kind)
    stdout.write(f"wrote the world (seed {manifest.seed}) to {out}: {sum(manifest.records.values())} records, "
                 f"media per split and kind {json.dumps(manifest.per_kind)}\n")
    stdout.write(f"train with e.g.: python main.py train --stage 1 --data {out}/train/image_comprehension.json "
                 f"--media-root {out} --out runs/stage1\n")
    return 0


def run_world_train(out: Path | None, work: Path | None, seed: int, quick: bool, keep: bool = False,
                    stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    from models.gguf_conversion import cache_root
    from models.profile import RESOURCES
    from models.world.build import WorldTrainPlan, train_world

    plan = WorldTrainPlan.quick() if quick else WorldTrainPlan()
    plan.seed = seed
    out = out or RESOURCES / "world"
    work = work or cache_root() / "world-build"
    report = train_world(out, work, plan, keep=keep)
    stdout.write(f"trained the world's models into {out} in {sum(report['seconds'].values()) / 60:.0f} min: "
                 f"{json.dumps(report['seconds'])}\n")
    stdout.write("score them with: python main.py eval --suite world\n")
    return 0


def run_world_refit(kind: str, decoder: Path, out: Path, adapters: Path | None, profile_name: str,
                    world: Path | None, work: Path | None, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    from models.errors import InputError
    from models.gguf_conversion import cache_root
    from models.profile import find_profile, load_profile
    from models.weights import resolve_weights
    from models.world.build import base_answerer, profile_with_weights
    from models.world.chat_data import distilled_chat_records
    from models.world.evaluation import open_world
    from models.world.refit import refit_output_side

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
    chat_file = work / "chat.json"  # the base LLM's own answers, asked once per work folder
    chat = (json.loads(chat_file.read_text(encoding="utf-8")) if chat_file.is_file()
            else distilled_chat_records(base_answerer(profile)))
    figures = refit_output_side(profile, world, work, adapters, out, kind, chat)
    for name, figure in figures.items():
        stdout.write(f"{name}: {figure['steps']} steps in {figure['seconds'] / 60:.0f} min, "
                     f"eval loss {figure['eval_loss']}\n")
    stdout.write(f"refitted adapters in {out}; score them with a profile whose adapters = \"{out}\" and whose "
                 f"{kind}_decoder is {decoder}: python main.py eval --suite world --profile that.toml\n")
    return 0
