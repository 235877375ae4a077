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
