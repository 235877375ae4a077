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
    from models.world import train_world_into

    out, report = train_world_into(out, work, seed, quick, keep)
    stdout.write(f"trained the world's models into {out} in {sum(report['seconds'].values()) / 60:.0f} min: "
                 f"{json.dumps(report['seconds'])}\n")
    stdout.write("score them with: python main.py eval --suite world\n")
    return 0


def run_world_refit(kind: str, decoder: Path, out: Path, adapters: Path | None, profile_name: str,
                    world: Path | None, work: Path | None, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    from models.world import refit_decoder

    figures = refit_decoder(kind, decoder, out, adapters, profile_name, world, work)
    for name, figure in figures.items():
        stdout.write(f"{name}: {figure['steps']} steps in {figure['seconds'] / 60:.0f} min, "
                     f"eval loss {figure['eval_loss']}\n")
    stdout.write(f"refitted adapters in {out}; score them with a profile whose adapters = \"{out}\" and whose "
                 f"{kind}_decoder is {decoder}: python main.py eval --suite world --profile that.toml\n")
    return 0
