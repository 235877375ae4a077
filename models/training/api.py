"""What the command line calls: validate data (`--dry-run`) and train one stage."""

from __future__ import annotations

from pathlib import Path

from ..profile import load_profile
from .records import RecordSet, load_records
from .trainer import Trainer, TrainResult, TrainSettings


def load_training_data(files: list[Path], media_root: Path, skip_bad: bool = False) -> RecordSet:
    return load_records(files, media_root, skip_bad=skip_bad)


def train_stage(
    profile: str | Path,
    data: RecordSet,
    out: Path,
    settings: TrainSettings,
    eval_data: RecordSet | None = None,
    init: Path | None = None,
    resume: Path | None = None,
) -> TrainResult:
    """Trains one stage on `data` and writes the trained parameters (an adapters folder) to `out`."""
    return Trainer(load_profile(profile), data, out, settings, eval_data, init, resume).train()
