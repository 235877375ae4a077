"""`python main.py world train`: everything the `local` profile lacks, trained from scratch on the world.

1. generate the world (fixed seed, train and held-out splits);
2. train the image encoder (a CLIP vision tower with an attribute head, on images and video frames);
3. train the image, sound and video decoders (VAE, then UNet + text encoder);
4. ask the base LLM the ordinary questions of `chat_data` (self-distillation data);
5. stages 1-3 of NExT-GPT on SmolLM2 through the training pipeline -> the adapters folder.

Everything lands in `out` (by default `resources/world/`), which the `local` profile points at.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..profile import find_profile, load_profile
from .chat_data import distilled_chat_records
from .dataset import generate_world
from .stage_training import StageBudget, train_world_stages

log = logging.getLogger(__name__)
TRAINED_ROLES = ("image_encoder", "image_decoder", "audio_decoder", "video_decoder")


@dataclass
class WorldTrainPlan:
    seed: int = 0
    per_kind: int = 960
    heldout_per_kind: int = 96
    encoder_steps: int = 2000
    decoder_vae_seconds: float = 300.0
    decoder_unet_seconds: float = 1200.0
    stages: StageBudget = field(default_factory=StageBudget)

    @classmethod
    def quick(cls) -> WorldTrainPlan:
        """Minutes, not hours: checks that everything runs; the result is not worth shipping."""
        return cls(per_kind=48, heldout_per_kind=12, encoder_steps=50, decoder_vae_seconds=20,
                   decoder_unet_seconds=40, stages=StageBudget(steps={1: 10, 2: 10, 3: 10}))


def profile_with_weights(text: str, weights: dict[str, Path], adapters: Path | None = None) -> str:
    """A profile's TOML text with each role in `weights` loading from that folder (`folder:` paths,
    not marked untrained) and, when given, an `adapters` folder."""
    lines, table = [], ""
    for line in text.splitlines():
        header = re.match(r"^\[(\w+)\]", line)
        table = header.group(1) if header else table
        if table in weights and line.strip().startswith("weights ="):
            line = f'weights = "folder:{weights[table].resolve()}"'
        if table == "" and line.startswith("adapters"):
            continue
        lines.append(line)
    head = [f'adapters = "{adapters.resolve()}"'] if adapters is not None else []
    return "\n".join(head + lines) + "\n"


def train_world(out: Path, work: Path, plan: WorldTrainPlan, base_profile: str | Path = "local") -> dict:
    from .decoder_training import DecoderTrainingOptions, train_decoder
    from .encoder_training import EncoderTrainingOptions, train_image_encoder

    base = load_profile(base_profile)
    timings: dict[str, float] = {}
    report: dict = {"plan": asdict(plan), "base_profile": base.name}

    def timed(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 1)
        log.info("world train: %s took %.0f s", name, timings[name])

    started = time.perf_counter()
    world = work / "world"
    generate_world(world, seed=plan.seed, train_per_kind=plan.per_kind, heldout_per_kind=plan.heldout_per_kind)
    timed("generate", started)

    started = time.perf_counter()
    _, encoder_report = train_image_encoder(world, out / "image_encoder", base.role("image_encoder").config,
                                            EncoderTrainingOptions(steps=plan.encoder_steps, seed=plan.seed))
    report["image_encoder"] = asdict(encoder_report)
    timed("image_encoder", started)
    for modality in ("image", "audio", "video"):
        started = time.perf_counter()
        options = DecoderTrainingOptions(vae_seconds=plan.decoder_vae_seconds, unet_seconds=plan.decoder_unet_seconds,
                                         vae_steps=10**6, unet_steps=10**6, seed=plan.seed)
        _, decoder_report = train_decoder(modality, world, out / f"{modality}_decoder",
                                          base.role(f"{modality}_decoder").config, options)
        report[f"{modality}_decoder"] = asdict(decoder_report)
        timed(f"{modality}_decoder", started)

    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    profile = work / "world-build.toml"
    weights = {role: out / role for role in TRAINED_ROLES}
    profile.write_text(profile_with_weights(find_profile(base_profile).read_text(), weights))
    chat = distilled_chat_records(_base_answerer(profile))
    timed("chat_data", started)

    started = time.perf_counter()
    report["stages"] = train_world_stages(profile, world, work, out / "adapters", chat, plan.stages)
    timed("stages", started)
    report["seconds"] = timings
    (out / "world_build.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report


def _base_answerer(profile: Path):
    """The base LLM (no adapters) answering in text only, as the chat template and profile set it."""
    from ..any_to_any import AnyToAnyModel
    from ..modality import Modality
    from ..pipeline import ModelRequest, ReplyDone

    model = AnyToAnyModel.from_profile(profile)

    def answer(question: str) -> str:
        events = model.respond(ModelRequest(text=question, want={Modality.TEXT}, max_new_tokens=80))
        return next(e.text for e in events if isinstance(e, ReplyDone))

    return answer
