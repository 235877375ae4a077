"""`python main.py world train`: everything the `local` profile lacks, trained from scratch on the world.

1. generate the world (fixed seed, train and held-out splits);
2. train the image encoder (a CLIP vision tower with an attribute head, on images and video frames);
3. train the image, sound and video decoders (VAE, then UNet and, for images, the text encoder); the
   video decoder starts from the trained image decoder; image and video go on with their follow-ups
   (`decoder_follow_ups`);
4. ask the base LLM the ordinary questions of `chat_data` (self-distillation data);
5. stages 1-3 of NExT-GPT on SmolLM2 through the training pipeline -> the adapters folder.

Everything lands in `out` (by default `resources/world/`), which the `local` profile points at.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from diffusers import DiffusionPipeline

from ..decoders.caption_motion import start_reading_caption
from ..profile import find_profile, load_profile
from .chat_data import distilled_chat_records
from .dataset import generate_world
from .decoder_training import DecoderTrainingOptions, load_decoder_to_train, train_decoder, world_captions
from .stage_training import StageBudget, train_world_stages

log = logging.getLogger(__name__)
TRAINED_ROLES = ("image_encoder", "image_decoder", "audio_decoder", "video_decoder")


def _decoder_budgets() -> dict[str, DecoderTrainingOptions]:
    """Each decoder's training: steps per phase, the UNet's learning rate, what trains (the seed is the plan's)."""
    # - every UNet samples from pure noise (zero terminal SNR, v-prediction): with Stable Diffusion's
    #   schedule the sound decoder read a tone's pitch off the starting noise instead of off the
    #   caption (pitch at chance), and the image decoder mixed up red and yellow;
    # - the image decoder learns its text encoder with its UNet, then its VAE decoder is fine-tuned alone
    #   (after its VAE steps alone the analyser misread some reconstructions: blues came out teal);
    # - the sound decoder keeps its seeded text encoder (trained jointly, the pooled CLAP embedding
    #   collapsed the three pitch words into one);
    # - the video decoder (AnimateDiff's motion modules: `motion_modules` in the local profile) starts
    #   from the image decoder (VAE, text encoder and spatial UNet, see video_inflation) and trains only
    #   its UNet, after the direction words' embeddings are separated, then goes on
    #   (`decoder_follow_ups`; docs/world.md has what each run measured).
    return {"image": DecoderTrainingOptions(vae_steps=300, unet_steps=6000, vae_decoder_steps=2000,
                                            learning_rate=8e-4, zero_terminal_snr=True),
            "audio": DecoderTrainingOptions(vae_steps=130, unet_steps=12000, learning_rate=8e-4,
                                            train_text_encoder=False, zero_terminal_snr=True),
            "video": DecoderTrainingOptions(vae_steps=0, unet_steps=2700, learning_rate=5e-4,
                                            train_text_encoder=False, zero_terminal_snr=True)}


@dataclass(frozen=True)
class FollowUp:
    """More training for a decoder already trained, from where it stopped."""

    options: DecoderTrainingOptions
    read_caption: bool = False  # first make its motion modules read the caption (`start_reading_caption`)


def decoder_follow_ups() -> dict[str, tuple[FollowUp, ...]]:
    """Each decoder's training after its first run (`_decoder_budgets`), by modality.

    Video: the first run draws a motion's axis but not its sign; motion modules that read the caption
    make the sign depend on the sign word; then half of each batch drawn from the noisiest 5% of the
    timesteps, where a clip's layout is decided, teaches it the sign.

    Both image and video, last: the UNet alone (text encoder frozen, so the output projectors' targets
    stay where they are) with each caption's embedding jittered (`conditioning_noise`): behind the LLM
    an output projector lands near the caption's embedding, not on it, and UNets trained on a few exact
    points each drew the wrong colour there. docs/world.md has the measurements."""
    image, video = _decoder_budgets()["image"], _decoder_budgets()["video"]
    jitter = {"unet_steps": 600, "learning_rate": 3e-4, "warmup_steps": 50, "conditioning_noise": 0.2,
              "vae_steps": 0, "vae_decoder_steps": 0, "train_text_encoder": False}
    return {"image": (FollowUp(replace(image, **{**jitter, "unet_steps": 1500})),),
            "video": (FollowUp(replace(video, unet_steps=1200, warmup_steps=50), read_caption=True),
                      FollowUp(replace(video, unet_steps=1500, warmup_steps=50, noisiest_share=0.5)),
                      FollowUp(replace(video, **jitter, noisiest_share=0.5)))}


@dataclass
class WorldTrainPlan:
    seed: int = 0
    per_kind: int = 960
    heldout_per_kind: int = 96
    encoder_steps: int = 500
    decoders: dict[str, DecoderTrainingOptions] = field(default_factory=_decoder_budgets)
    stages: StageBudget = field(default_factory=StageBudget)
    follow_ups: dict[str, tuple[FollowUp, ...]] = field(default_factory=decoder_follow_ups)

    @classmethod
    def quick(cls) -> WorldTrainPlan:
        """Minutes, not hours: checks that everything runs; the result is not worth shipping."""
        decoders = {name: replace(options, vae_steps=min(options.vae_steps, 20), unet_steps=40,
                                  vae_decoder_steps=min(options.vae_decoder_steps, 20))
                    for name, options in _decoder_budgets().items()}
        short = {name: tuple(replace(f, options=replace(f.options, unet_steps=10, warmup_steps=2)) for f in runs)
                 for name, runs in decoder_follow_ups().items()}
        return cls(per_kind=48, heldout_per_kind=12, encoder_steps=50, decoders=decoders, follow_ups=short,
                   stages=StageBudget(steps={1: 10, 2: 10, 3: 10}, probe_records=4,
                                      refinements=tuple(replace(r, steps=5) for r in StageBudget().refinements)))


def train_decoder_runs(modality: str, world: Path, folder: Path, work: Path, config: dict,
                       options: DecoderTrainingOptions, follow_ups: tuple[FollowUp, ...] = (),
                       start: DiffusionPipeline | None = None) -> tuple[DiffusionPipeline, dict]:
    """Train a decoder into `folder`, then each follow-up from where the run before stopped (the runs
    before the last saved in `work`, so `folder` gets its training.json, which `keep` looks for, only
    when all are done); returns the pipeline and the report, each run's with the one before as `after`."""
    runs = [(options, False), *((replace(f.options, seed=options.seed + n), f.read_caption)
                                for n, f in enumerate(follow_ups, start=1))]
    pipeline, report = start, None
    for number, (run, read_caption) in enumerate(runs):
        if read_caption:
            start_reading_caption(pipeline.unet)
        target = folder if number == len(runs) - 1 else work / f"{modality}_decoder_run{number}"
        pipeline, trained = train_decoder(modality, world, target, config, run, resume_from=pipeline)
        report = {**asdict(trained), "after": report} if report is not None else asdict(trained)
    return pipeline, report


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


def train_world_into(out: Path | None = None, work: Path | None = None, seed: int | None = None,
                     quick: bool = False, keep: bool = False) -> tuple[Path, dict]:
    """`world train`: the default plan (or the quick one) into `out` (the bundled world folder unless
    given), scratch in `work` (the cache unless given); returns where it went and the report."""
    from ..gguf_conversion import cache_root
    from ..profile import RESOURCES

    plan = WorldTrainPlan.quick() if quick else WorldTrainPlan()
    if seed is not None:
        plan.seed = seed
    out = out or RESOURCES / "world"
    return out, train_world(out, work or cache_root() / "world-build", plan, keep=keep)


def train_world(out: Path, work: Path, plan: WorldTrainPlan, base_profile: str | Path = "local",
                keep: bool = False) -> dict:
    """Train everything into `out` (scratch data in `work`). With `keep`, a model already trained there
    (its folder has `training.json`), chat data already asked and the training steps of stages 1-3
    already finished in `work` are kept, and a step cut short resumes from its last checkpoint, so an
    interrupted build goes on where it stopped."""
    from .encoder_training import EncoderTrainingOptions, train_image_encoder
    from .video_inflation import inflate_video_decoder

    base = load_profile(base_profile)
    timings: dict[str, float] = {}
    report: dict = {"plan": asdict(plan), "base_profile": base.name}

    def timed(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 1)
        log.info("world train: %s took %.0f s", name, timings[name])

    def kept(role: str) -> bool:
        found = keep and (out / role / "training.json").is_file()
        if found:
            log.info("world train: keeping the %s trained in %s", role, out / role)
            report[role] = json.loads((out / role / "training.json").read_text(encoding="utf-8"))
        return found

    started = time.perf_counter()
    world = work / "world"
    generate_world(world, seed=plan.seed, train_per_kind=plan.per_kind, heldout_per_kind=plan.heldout_per_kind)
    timed("generate", started)

    started = time.perf_counter()
    if not kept("image_encoder"):
        _, encoder_report = train_image_encoder(world, out / "image_encoder", base.role("image_encoder").config,
                                                EncoderTrainingOptions(steps=plan.encoder_steps, seed=plan.seed))
        report["image_encoder"] = asdict(encoder_report)
        timed("image_encoder", started)
    image_decoder = None
    for modality in ("image", "audio", "video"):
        if kept(f"{modality}_decoder"):
            continue
        started = time.perf_counter()
        config = base.role(f"{modality}_decoder").config
        start = None
        if modality == "video":
            image_decoder = image_decoder or load_decoder_to_train(out / "image_decoder")
            captions = tuple([c for _, c in world_captions(world, kind)] for kind in ("image", "video"))
            start = inflate_video_decoder(image_decoder, config, seed=plan.seed, captions=captions)
        options = replace(plan.decoders[modality], seed=plan.seed)
        pipeline, report[f"{modality}_decoder"] = train_decoder_runs(
            modality, world, out / f"{modality}_decoder", work, config, options, plan.follow_ups.get(modality, ()),
            start)
        image_decoder = pipeline if modality == "image" else image_decoder
        timed(f"{modality}_decoder", started)

    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    profile = work / "world-build.toml"
    weights = {role: out / role for role in TRAINED_ROLES}
    profile.write_text(profile_with_weights(find_profile(base_profile).read_text(), weights))
    chat_file = work / "chat.json"
    if keep and chat_file.is_file():
        chat = json.loads(chat_file.read_text(encoding="utf-8"))
    else:
        chat = distilled_chat_records(base_answerer(profile))
        timed("chat_data", started)

    started = time.perf_counter()
    report["stages"] = train_world_stages(profile, world, work, out / "adapters", chat, plan.stages, keep=keep)
    timed("stages", started)
    report["seconds"] = timings
    (out / "world_build.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report


def base_answerer(profile: Path):
    """The base LLM (no adapters) answering in text only, as the chat template and profile set it."""
    from ..any_to_any import AnyToAnyModel
    from ..modality import Modality
    from ..pipeline import ModelRequest, ReplyDone

    model = AnyToAnyModel.from_profile(profile)

    def answer(question: str) -> str:
        events = model.respond(ModelRequest(text=question, want={Modality.TEXT}, max_new_tokens=80))
        return next(e.text for e in events if isinstance(e, ReplyDone))

    return answer
