"""The training loop, on accelerate: CPU, one GPU, or several GPUs and nodes.

Distribution (DDP, DeepSpeed, FSDP) comes from accelerate's own configuration
(`accelerate config`, then `accelerate launch main.py train ...`); nothing here is
distributed code of our own. Gradient accumulation, bf16/fp16 autocast on GPU, clipping,
a warm-up + cosine schedule, eval loss, CSV (or TensorBoard) logs, a progress bar with ETA,
checkpoints of the trained parameters only, and `--resume`.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator, DataLoaderConfiguration, DistributedDataParallelKwargs
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup

from ..errors import InputError
from ..modality import Modality
from ..model_set import ModelSet
from ..profile import Profile
from .batches import Collator
from .caption_targets import CaptionTargets
from .checkpoint import CHECKPOINTS_FOLDER, STATE_FOLDER, checkpoint_position, checkpoints, save_adapters
from .media_features import MediaFeatures
from .records import Example, RecordSet
from .sequences import SequenceBuilder
from .stages import LoraSettings, StagePlan, lora_from_options, stage_plan
from .target_statistics import fit_output_projectors
from .trainee import Trainee

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    stage: int
    parts: list[str] | None = None  # None: the stage's default (stages.DEFAULT_PARTS)
    learning_rate: float = 1e-4
    batch_size: int = 4
    gradient_accumulation: int = 1
    max_steps: int | None = None  # optimiser steps; None: `epochs` over the data
    epochs: float = 1.0
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    mse_weight: float = 1.0
    distill_weight: float = 0.0  # StagePlan.distill_weight
    max_length: int = 1024
    lora: LoraSettings | None = None  # None: the profile's lora_* options (else NExT-GPT's r=32, alpha=32)
    mixed_precision: str = "auto"  # auto | no | bf16 | fp16
    gradient_checkpointing: bool = False
    eval_every: int = 0  # steps; 0: only at the end (when there is eval data)
    save_every: int = 0  # steps; 0: only at the end
    keep_checkpoints: int = 2
    log_with: str = "csv"  # csv | tensorboard
    seed: int = 0

    def plan(self) -> StagePlan:
        return stage_plan(self.stage, self.parts, self.mse_weight, self.lora, self.distill_weight)


@dataclass
class TrainResult:
    steps: int
    samples: int
    seconds: float
    trainable_parameters: int
    losses: list[float]
    eval_loss: float | None
    out: Path

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds else 0.0


def _mixed_precision(choice: str) -> str:
    if choice != "auto":
        return choice
    if not torch.cuda.is_available():
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def _modalities(examples: list[Example], side: str) -> set[Modality]:
    found = set()
    for example in examples:
        for turn in example.turns:
            found.update(m.modality for m in (turn.inputs if side == "inputs" else turn.outputs))
    return found


def build_trainee(models: ModelSet, examples: list[Example], settings: TrainSettings, init: Path | None) -> Trainee:
    """The trainee for these examples: one input projector per input modality in the data, one
    output projector per output modality, each loaded from `init` when it holds one."""
    plan = settings.plan()
    inputs, outputs = _modalities(examples, "inputs"), _modalities(examples, "outputs")
    for modality in inputs:
        if not models.has(f"{modality.value}_encoder"):
            raise InputError(f"the data has {modality.value} inputs but profile {models.profile.name!r} "
                             f"has no [{modality.value}_encoder]")
    for modality in outputs:
        if not models.has(f"{modality.value}_decoder"):
            raise InputError(f"the data has {modality.value} outputs but profile {models.profile.name!r} "
                             f"has no [{modality.value}_decoder]")
    llm = models.llm()
    llm.conversation.clear()  # the weights are about to change: a kept KV cache would be stale
    trainee = Trainee(
        llm,
        {m: models.input_projector(m) for m in sorted(inputs)},
        {m: models.output_projector(m) for m in sorted(outputs)},
        plan, settings.max_length, init,
    )
    if settings.gradient_checkpointing:
        trainee.base_model().gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return trainee


class Trainer:
    def __init__(
        self,
        profile: Profile,
        data: RecordSet,
        out: Path,
        settings: TrainSettings,
        eval_data: RecordSet | None = None,
        init: Path | None = None,
        resume: Path | None = None,
    ) -> None:
        if not data.examples:
            raise InputError("no training examples: check --data (and --skip-bad counts)")
        if settings.lora is None:
            settings = replace(settings, lora=lora_from_options(profile.role("llm").options))
        self.settings = settings
        self.out = out
        self.resume = resume
        self.init = resume or init or (profile.adapters if profile.adapters and profile.adapters.is_dir() else None)
        self.accelerator = Accelerator(
            gradient_accumulation_steps=settings.gradient_accumulation,
            mixed_precision=_mixed_precision(settings.mixed_precision),
            log_with="tensorboard" if settings.log_with == "tensorboard" else None,
            project_dir=str(out),
            dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
        )
        torch.manual_seed(settings.seed)
        # the frozen base, with the projectors of `init`; its LoRA and signal rows go to the trainee
        self.models = ModelSet(replace(profile, adapters=self.init), apply_llm_adapters=False)
        self.trainee = build_trainee(self.models, data.examples, settings, self.init)
        plan = self.trainee.plan
        builder = SequenceBuilder(self.models.llm(), plan.label_scope)
        targets = CaptionTargets(self.models) if plan.uses_mse else None
        if targets is not None and "output_projectors" in plan.parts:
            fit_output_projectors({Modality(m): p for m, p in self.trainee.output_projectors.items()},
                                  data.examples, targets)
        collate = Collator(builder, MediaFeatures(self.models), targets)
        self.loader = DataLoader(data.examples, settings.batch_size, shuffle=True, collate_fn=collate)
        self.eval_loader = (DataLoader(eval_data.examples, settings.batch_size, collate_fn=collate)
                            if eval_data and eval_data.examples else None)
        self.optimizer = torch.optim.AdamW(self.trainee.trainable_parameters(), lr=settings.learning_rate,
                                           weight_decay=0.0)
        self.trainee, self.optimizer, self.loader = self.accelerator.prepare(self.trainee, self.optimizer, self.loader)
        self.total_steps = settings.max_steps or max(
            1, math.ceil(len(self.loader) * settings.epochs / settings.gradient_accumulation))
        # accelerate steps a prepared scheduler once per process at each optimiser step
        processes = self.accelerator.num_processes
        self.scheduler = self.accelerator.prepare(get_cosine_schedule_with_warmup(
            self.optimizer, settings.warmup_steps * processes, self.total_steps * processes))
        if self.eval_loader is not None:
            self.eval_loader = self.accelerator.prepare(self.eval_loader)
        if settings.log_with == "tensorboard":
            self.accelerator.init_trackers("nextgpt-live", {"stage": settings.stage, "lr": settings.learning_rate})
        self.about = {"stage": settings.stage, "parts": sorted(plan.parts), "profile": profile.name,
                      "llm": self.models.sources()["llm"].location, "data": [str(f) for f in data.files]}

    # the loop ---------------------------------------------------------------------------------

    def train(self) -> TrainResult:
        accelerator, settings = self.accelerator, self.settings
        step, epoch, batch_in_epoch = self._restore()
        trainable = self._unwrapped().count_trainable()
        log.info("stage %d: training %s (%d parameters) for %d steps",
                 settings.stage, ", ".join(sorted(self._unwrapped().plan.parts)), trainable, self.total_steps)
        bar = tqdm(total=self.total_steps, initial=step, desc=f"stage {settings.stage}", unit="step",
                   disable=not accelerator.is_main_process)
        losses: list[float] = []
        samples, started, eval_loss = 0, time.perf_counter(), None
        window: list[dict[str, float]] = []
        while step < self.total_steps:
            self.loader.set_epoch(epoch)
            batches = accelerator.skip_first_batches(self.loader, batch_in_epoch) if batch_in_epoch else self.loader
            for items in batches:
                self.trainee.train()
                with accelerator.accumulate(self.trainee):
                    result = self.trainee(items)
                    accelerator.backward(result["loss"])
                    if accelerator.sync_gradients and settings.max_grad_norm:
                        accelerator.clip_grad_norm_(self._unwrapped().trainable_parameters(), settings.max_grad_norm)
                    self.optimizer.step()
                    self.scheduler.step()
                    self.optimizer.zero_grad()
                batch_in_epoch += 1
                samples += len(items) * accelerator.num_processes
                window.append({k: float(v.detach()) for k, v in result.items()})
                if not accelerator.sync_gradients:
                    continue
                step += 1
                row = {k: sum(w[k] for w in window) / len(window) for k in window[0]}
                window = []
                losses.append(row["loss"])
                bar.update(1)
                bar.set_postfix(loss=f"{row['loss']:.4f}")
                if self.eval_loader is not None and settings.eval_every and step % settings.eval_every == 0:
                    eval_loss = row["eval_loss"] = self.evaluate()
                self._log(step, row, samples / (time.perf_counter() - started))
                if settings.save_every and step % settings.save_every == 0 and step < self.total_steps:
                    self.save(self.out / CHECKPOINTS_FOLDER / f"step-{step}", step, epoch, batch_in_epoch)
                if step >= self.total_steps:
                    break
            else:
                epoch, batch_in_epoch = epoch + 1, 0
        bar.close()
        seconds = time.perf_counter() - started
        if self.eval_loader is not None:
            eval_loss = self.evaluate()
            self._log(step, {"eval_loss": eval_loss}, samples / seconds)
        self.save(self.out, step, epoch, batch_in_epoch)
        accelerator.end_training()
        return TrainResult(step, samples, seconds, trainable, losses, eval_loss, self.out)

    @torch.no_grad()
    def evaluate(self) -> float:
        self.trainee.eval()
        total, count = 0.0, 0
        for items in self.eval_loader:
            loss = self.trainee(items)["loss"]
            total += float(self.accelerator.gather_for_metrics(loss.detach().reshape(1)).sum())
            count += self.accelerator.num_processes
        return total / max(1, count)

    # saving, resuming, logging ----------------------------------------------------------------

    def _unwrapped(self) -> Trainee:
        return self.accelerator.unwrap_model(self.trainee)

    def save(self, folder: Path, step: int, epoch: int, batch_in_epoch: int) -> None:
        self.accelerator.wait_for_everyone()
        if not self.accelerator.is_main_process:
            return
        save_adapters(self._unwrapped(), folder, self.init if self.init != folder else None,
                      {**self.about, "steps": step})
        state = folder / STATE_FOLDER
        state.mkdir(exist_ok=True)
        self.accelerator.save(self.optimizer.state_dict(), state / "optimizer.pt")
        self.accelerator.save(self.scheduler.state_dict(), state / "scheduler.pt")
        position = {"step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch,
                    "settings": asdict(self.settings)}
        (state / "state.json").write_text(json.dumps(position, indent=2, default=str) + "\n")
        self._prune()

    def _prune(self) -> None:
        folders = checkpoints(self.out)
        for old in folders[: max(0, len(folders) - self.settings.keep_checkpoints)]:
            shutil.rmtree(old, ignore_errors=True)

    def _restore(self) -> tuple[int, int, int]:
        if self.resume is None:
            return 0, 0, 0
        position = checkpoint_position(self.resume)
        if position is None:
            raise InputError(f"{self.resume} is not a training checkpoint (no {STATE_FOLDER}/state.json)")
        state = self.resume / STATE_FOLDER
        if int(position["settings"]["stage"]) != self.settings.stage:
            raise InputError(f"{self.resume} is a stage {position['settings']['stage']} checkpoint; "
                             f"resume it with --stage {position['settings']['stage']} (or start from it with --init)")
        self.optimizer.load_state_dict(torch.load(state / "optimizer.pt", weights_only=True))
        self.scheduler.load_state_dict(torch.load(state / "scheduler.pt", weights_only=True))
        log.info("resuming %s at step %d", self.resume, position["step"])
        return int(position["step"]), int(position["epoch"]), int(position["batch_in_epoch"])

    def _log(self, step: int, row: dict[str, Any], samples_per_second: float) -> None:
        if not self.accelerator.is_main_process:
            return
        row = {"step": step, **row, "lr": self.scheduler.get_last_lr()[0], "samples_per_s": samples_per_second}
        if self.settings.log_with == "tensorboard":
            self.accelerator.log(row, step=step)
        path = self.out / "metrics.csv"
        fields = ["step", "loss", "ce", "mse", "kl", "eval_loss", "lr", "samples_per_s"]
        self.out.mkdir(parents=True, exist_ok=True)
        new = not path.is_file()
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
