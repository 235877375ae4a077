"""`eval`: score a profile on an evaluation suite and show each figure beside its goal (or print JSON).

- `world`: captioning, generation, modality switching and general chat on the held-out split of the
  synthetic world;
- `decoders`: each decoder of the profile alone, asked for every world caption through its own text
  encoder (where a generation figure falls short, this says whether the decoder can do it at all).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from models import AnyToAnyModel, InputError
from models.world import evaluate_decoders, evaluate_world, format_decoder_table, format_table, open_world

SUITES = ("world", "decoders")


def run_eval(
    suite: str = "world",
    profile: str = "local",
    world: Path | None = None,
    limit: int | None = None,
    as_json: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Runs one suite; raises InputError (exit 2 at the caller) for anything the user can fix."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr  # the streams of the moment, not at import
    # 1. check what was asked before any model loads: bad input fails fast
    if suite not in SUITES:
        raise InputError(f"unknown suite {suite!r}: choose from {', '.join(SUITES)}")
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, not {limit}")
    if suite == "decoders" and world is not None:
        raise InputError("--world is for the world suite: the decoders suite asks for every world caption")
    progress = _Progress(stderr)
    folder = open_world(world, progress) if suite == "world" else None
    model = AnyToAnyModel.from_profile(profile)

    # 2. evaluate, telling stderr how far it got
    if suite == "decoders":
        report, table = evaluate_decoders(model.models, limit=limit, progress=progress), format_decoder_table
    else:
        report, table = evaluate_world(model, folder, limit=limit, progress=progress), format_table

    # 3. the figures
    stdout.write(json.dumps(report.as_dict()) + "\n" if as_json else table(report))
    return 0


class _Progress:
    """Progress on stderr: one line rewritten in place on a terminal, a line per finished section elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def __call__(self, section: str, done: int, total: int) -> None:
        if self.live:
            end = "\n" if done == total else ""
            self.stream.write(f"\r\x1b[K{section}: {done}/{total}{end}")
        elif done == total:
            self.stream.write(f"{section}: {done}/{total}\n")
        else:
            return
        self.stream.flush()
