"""Checkpoints that hold only what trains: projectors, signal-token rows and LoRA (safetensors).

A checkpoint folder is an *adapters* folder: point a profile's `adapters = "..."` at it and
`ask`, `live`, `serve` and the desktop app use the trained parameters. Layout:

    image_input_projector/  audio_input_projector/  video_input_projector/    (diffusers format)
    image_output_projector/ audio_output_projector/ video_output_projector/
    signal_tokens.safetensors      the signal tokens' embedding rows
    llm_lora/                      peft LoRA (adapter_config.json + adapter_model.safetensors)
    adapters.json                  what trained it: stage, steps, data, base LLM
    training_state/                optimiser, scheduler and step, for --resume

A run's checkpoints along the way are such folders too, in `<out>/checkpoints/step-<N>/`.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from ..llm_adapters import LORA_FOLDER, ROWS_FILE
from .trainee import Trainee

log = logging.getLogger(__name__)
STATE_FOLDER = "training_state"
CHECKPOINTS_FOLDER = "checkpoints"


def checkpoints(out: Path) -> list[Path]:
    """The checkpoints a run into `out` saved along the way, oldest first."""
    return sorted((out / CHECKPOINTS_FOLDER).glob("step-*"), key=lambda p: int(p.name.split("-")[1]))


def checkpoint_position(folder: Path) -> dict[str, Any] | None:
    """Where the run that saved `folder` stood (step, epoch, batch, settings); None: not a checkpoint."""
    state = folder / STATE_FOLDER / "state.json"
    return json.loads(state.read_text(encoding="utf-8")) if state.is_file() else None


def is_adapter_part(name: str) -> bool:
    return name in (LORA_FOLDER, ROWS_FILE) or name.endswith(("_input_projector", "_output_projector"))


def save_adapters(trainee: Trainee, folder: Path, init: Path | None, about: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for role, projectors in (("input_projector", trainee.input_projectors),
                             ("output_projector", trainee.output_projectors)):
        for modality, projector in projectors.items():
            projector.save_pretrained(folder / f"{modality}_{role}")
    trainee.rows.save(folder)
    if hasattr(trainee.lm, "peft_config"):
        trainee.lm.save_pretrained(str(folder / LORA_FOLDER), save_embedding_layers=False)  # rows: ours
    if init is not None and init.resolve() != folder.resolve():
        for part in init.iterdir():  # what an earlier stage trained and this one did not touch
            target = folder / part.name
            if is_adapter_part(part.name) and not target.exists():
                copy = shutil.copytree if part.is_dir() else shutil.copy2
                copy(part, target)
    (folder / "adapters.json").write_text(json.dumps(about, indent=2) + "\n")
    log.info("saved the trained parameters to %s", folder)

