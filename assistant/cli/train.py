"""`train`: one of NExT-GPT's three stages on its own data formats; `--dry-run` checks the data."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from models import TrainSettings, load_profile, load_training_data, lora_from_options, train_stage


@dataclass
class TrainOptions:
    stage: int
    data: list[Path]
    media_root: Path
    out: Path | None
    profile: str = "local"
    eval_data: list[Path] | None = None
    init: Path | None = None
    resume: Path | None = None
    dry_run: bool = False
    skip_bad: bool = False
    as_json: bool = False
    settings: dict | None = None  # TrainSettings fields given on the command line


def run_train(options: TrainOptions, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout  # the stream of the moment, not the one at import
    data = load_training_data(options.data, options.media_root, options.skip_bad)
    if options.dry_run:
        counts = data.counts()
        if options.as_json:
            stdout.write(json.dumps(counts) + "\n")
        else:
            _print_counts(counts, stdout)
        return 0
    if options.out is None:
        stdout.write("error: --out is needed to train (or give --dry-run)\n")
        return 2
    given = dict(options.settings or {})
    lora = {k.removeprefix("lora_"): given.pop(k) for k in list(given) if k.startswith("lora_")}
    if any(v is not None for v in lora.values()):
        given["lora"] = lora_from_options(load_profile(options.profile).role("llm").options, **lora)
    settings = TrainSettings(stage=options.stage, **given)
    eval_data = None
    if options.eval_data:
        eval_data = load_training_data(options.eval_data, options.media_root, options.skip_bad)
    result = train_stage(options.profile, data, options.out, settings, eval_data, options.init, options.resume)
    summary = {
        "stage": options.stage, "steps": result.steps, "samples": result.samples,
        "samples_per_s": round(result.samples_per_second, 2), "trainable_parameters": result.trainable_parameters,
        "first_loss": result.losses[0] if result.losses else None,
        "last_loss": result.losses[-1] if result.losses else None, "eval_loss": result.eval_loss,
        "out": str(result.out),
    }
    if options.as_json:
        stdout.write(json.dumps(summary) + "\n")
    else:
        stdout.write(f"stage {options.stage}: {result.steps} steps, {result.samples} samples "
                     f"({summary['samples_per_s']}/s), loss {summary['first_loss']} -> {summary['last_loss']}\n")
        if result.eval_loss is not None:
            stdout.write(f"eval loss {result.eval_loss:.4f}\n")
        stdout.write(f"trained parameters saved to {result.out}: set `adapters = \"{result.out}\"` in a profile\n")
    return 0


def _print_counts(counts: dict, stdout: TextIO) -> None:
    stdout.write(f"{counts['records']} records, {counts['skipped']} skipped\n")
    for title in ("kinds", "directions", "media"):
        stdout.write(f"\n{title}:\n")
        for name, count in sorted(counts.get(title, {}).items()):
            stdout.write(f"  {name:<24} {count:>8}\n")
