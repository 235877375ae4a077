"""Train the local profile's small diffusion decoders from scratch on the synthetic world.

diffusers' standard latent-diffusion recipe, one function for all three modalities:
1. the VAE (AutoencoderKL) learns to reconstruct the world's media (MSE + a small KL term), then its
   `scaling_factor` is set so the latents have unit variance (as Stable Diffusion's was chosen);
2. with the VAE frozen, the UNet learns to predict the noise that the pipeline's own scheduler added
   at a random timestep (`add_noise`), conditioned on the pipeline's own text encoder, which starts
   random and trains jointly; a share of captions is replaced by "" so that classifier-free guidance
   (the decoder's `guidance` option) has an unconditional embedding to push away from.

Audio: the "mel spectrogram" is `MelVocoder.analyse` of the world's sounds, and the pipeline's HiFi-GAN
is replaced by a `MelVocoder` fitted to them (seconds, not hours). Video: frames go through the VAE one
by one, and the UNet3D (or AnimateDiff's UNetMotionModel) sees latents (B, 4, frames, h, w) as their
pipelines make them.

The saved folder loads with `models.decoders.diffusion_decoder.load_pipeline`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DiffusionPipeline, UNetMotionModel

from models.decoders import caption_motion
from models.decoders.mel_vocoder import MelVocoder
from models.decoders.random_pipelines import build_random_pipeline
from models.media.audio_reader import read_audio
from models.media.image_reader import read_image
from models.media.video_reader import read_video
from models.world.attributes import VIDEO_FRAMES
from models.world.dataset import load_manifest

log = logging.getLogger(__name__)

#: The modality name used in world record files and folders, by decoder modality.
WORLD_KIND = {"image": "image", "audio": "audio", "video": "video"}
AUDIO_SECONDS = 1.0


def audio_frames(pipeline: DiffusionPipeline, seconds: float = AUDIO_SECONDS) -> int:
    """Mel frames AudioLDM makes for `seconds`: seconds over the vocoder's hop, rounded up to the VAE's scale."""
    hop = float(np.prod(pipeline.vocoder.config.upsample_rates)) / pipeline.vocoder.config.sampling_rate
    scale = pipeline.vae_scale_factor
    return math.ceil(int(seconds / hop) / scale) * scale


@dataclass(frozen=True)
class DecoderTrainingOptions:
    """How long and how hard to train. A step budget in seconds, when given, ends a phase early."""

    vae_steps: int = 600
    unet_steps: int = 3000
    batch_size: int = 16
    vae_learning_rate: float = 1e-3
    learning_rate: float = 5e-4
    kl_weight: float = 1e-4
    unconditional_share: float = 0.1  # captions replaced by "" (classifier-free guidance)
    warmup_steps: int = 100
    train_text_encoder: bool = True  # False: the text encoder stays as it is (its embeddings are fixed)
    # True: the scheduler's noise reaches pure noise at its last step and the UNet predicts v, not the
    # noise (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps Are Flawed"); with
    # Stable Diffusion's schedule the last step still shows the signal, so a UNet can learn to read an
    # attribute (a tone's pitch) off the noise instead of off the caption
    zero_terminal_snr: bool = False
    # the share of each batch drawn from the noisiest 5% of the schedule instead of all of it: where a
    # clip's layout, and so its motion's sign, is decided. Drawn uniformly, a video UNet never learnt to
    # use the sign word there (its loss the same with it swapped); with half, it learnt to (docs/world.md)
    noisiest_share: float = 0.0
    # the largest standard deviation of Gaussian noise added to a caption's embedding (each one its own
    # share of it, drawn uniformly): an output projector's conditioning is never the caption's exact
    # embedding, and a UNet trained on 48 exact points turned a blue circle green 0.01 (MSE) away from one
    conditioning_noise: float = 0.0
    # after the UNet: the VAE's decoder alone, its encoder frozen (so the latents the UNet learnt stay
    # the same), as Stable Diffusion's VAE decoder was fine-tuned later; it sharpens the colours
    vae_decoder_steps: int = 0
    vae_seconds: float | None = None
    unet_seconds: float | None = None
    seed: int = 0
    log_every: int = 50


@dataclass
class DecoderTrainingReport:
    """What one training run did: steps, seconds and the loss curve of each phase (mean per log interval)."""

    modality: str
    vae_steps: int = 0
    unet_steps: int = 0
    vae_seconds: float = 0.0
    unet_seconds: float = 0.0
    vae_losses: list[float] = field(default_factory=list)
    unet_losses: list[float] = field(default_factory=list)
    vae_decoder_steps: int = 0
    vae_decoder_seconds: float = 0.0
    vae_decoder_losses: list[float] = field(default_factory=list)
    scaling_factor: float = 1.0
    resumed_from: dict | None = None  # the report of the run this one went on from, if it saved one

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"


# --- data ---------------------------------------------------------------------------------------


@dataclass
class WorldMedia:
    """One split's media of one kind as a tensor, with their captions."""

    data: torch.Tensor  # image: (N, 3, H, W) in [-1, 1]; video: (N, F, 3, H, W) in [-1, 1]; audio: (N, 1, T, mel)
    captions: list[str]


def world_captions(world_folder: Path, kind: str, split: str = "train") -> list[tuple[str, str]]:
    """(media path, caption) of every generation record of one split and kind."""
    records = json.loads((Path(world_folder) / split / f"{kind}_generation.json").read_text(encoding="utf-8"))
    return [(record[f"output_{kind}"], record[f"{kind}_captions"][0]) for record in records]


def load_world_media(world_folder: Path, modality: str, split: str = "train",
                     vocoder: MelVocoder | None = None, frames: int | None = None) -> WorldMedia:
    """Read one split's media of `modality` into a training tensor (audio needs the `vocoder` to analyse
    and the mel `frames` to make, the last frame repeated when the sound is shorter)."""
    folder = Path(world_folder)
    load_manifest(folder)  # a world folder written by generate_world
    pairs = world_captions(folder, WORLD_KIND[modality], split)
    captions = [caption for _, caption in pairs]
    if modality == "image":
        pixels = np.stack([read_image(folder / path).pixels for path, _ in pairs])
        return WorldMedia(_to_unit(torch.from_numpy(pixels).permute(0, 3, 1, 2)), captions)
    if modality == "video":
        frames = np.stack([read_video(folder / path, num_frames=VIDEO_FRAMES).frames for path, _ in pairs])
        return WorldMedia(_to_unit(torch.from_numpy(frames).permute(0, 1, 4, 2, 3)), captions)
    if vocoder is None or frames is None:
        raise ValueError("audio needs the vocoder whose analysis the decoder learns to make, and its frames")
    waves = torch.from_numpy(np.stack([read_audio(folder / path).samples for path, _ in pairs]))
    mel = vocoder.analyse(waves, frames)
    mel = F.pad(mel.transpose(1, 2), (0, frames - mel.shape[1]), mode="replicate").transpose(1, 2)
    return WorldMedia(mel.unsqueeze(1), captions)


def _to_unit(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.float() / 127.5 - 1.0


# --- the modality adapters -------------------------------------------------------------------------


def _vae_batch(modality: str, batch: torch.Tensor) -> torch.Tensor:
    """What the VAE sees: video frames one by one, everything else as it is."""
    return batch.flatten(0, 1) if modality == "video" else batch


@torch.no_grad()
def _encode_all(modality: str, vae: Any, data: torch.Tensor, chunk: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """The frozen VAE's posterior (mean, std) of every medium, shaped as the pipeline's UNet takes latents:
    video (N, C, F, h, w), else (N, C, h, w). Encoding once makes each UNet step cheaper."""
    means, stds = [], []
    for part in data.split(chunk):
        posterior = vae.encode(_vae_batch(modality, part)).latent_dist
        mean, std = posterior.mean, posterior.std
        if modality == "video":  # (B*F, C, h, w) → (B, C, F, h, w)
            mean, std = (t.unflatten(0, (part.shape[0], part.shape[1])).permute(0, 2, 1, 3, 4) for t in (mean, std))
        means.append(mean)
        stds.append(std)
    return torch.cat(means), torch.cat(stds)


def _conditioning(modality: str, pipeline: DiffusionPipeline, captions: list[str]) -> torch.Tensor:
    """The pipeline's own text-encoder embedding of captions, with gradients (what text_embeddings gives)."""
    device = pipeline.unet.device
    if modality == "audio":
        return pipeline._encode_prompt(captions, device, 1, False)
    return pipeline.encode_prompt(captions, device, 1, False)[0]


def _predict_noise(modality: str, pipeline: DiffusionPipeline, noisy: torch.Tensor, timesteps: torch.Tensor,
                   conditioning: torch.Tensor) -> torch.Tensor:
    if modality == "audio":  # AudioLDM conditions through the class embedding, not cross-attention
        return pipeline.unet(noisy, timesteps, encoder_hidden_states=None, class_labels=conditioning).sample
    if isinstance(pipeline.unet, UNetMotionModel):  # AnimateDiff's pipeline gives each frame the prompt
        conditioning = conditioning.repeat_interleave(noisy.shape[2], dim=0)
    return pipeline.unet(noisy, timesteps, encoder_hidden_states=conditioning).sample


# --- training ---------------------------------------------------------------------------------------


def build_decoder_pipeline(modality: str, config: dict[str, Any], vocoder_sounds: torch.Tensor | None = None,
                           seed: int = 0) -> DiffusionPipeline:
    """The profile's random pipeline; audio gets a `MelVocoder` (fitted to `vocoder_sounds`) for its HiFi-GAN."""
    pipeline = build_random_pipeline(modality, config, seed=seed)
    if modality == "audio":
        vocoder = MelVocoder(model_in_dim=int(config.get("mel_bins", 64)))
        if vocoder_sounds is not None:
            vocoder.fit(vocoder_sounds)
        pipeline.register_modules(vocoder=vocoder)
    return pipeline


def train_decoder(
    modality: str,
    world_folder: Path,
    out_folder: Path | None,
    config: dict[str, Any],
    options: DecoderTrainingOptions = DecoderTrainingOptions(),
    save_dtype: torch.dtype = torch.float16,
    resume_from: Path | DiffusionPipeline | None = None,
) -> tuple[DiffusionPipeline, DecoderTrainingReport]:
    """Build the `modality` decoder from `config` (a profile's decoder `config` table), or load the one
    saved in `resume_from` (or take that pipeline) to train further, train it on the world's train split
    and, when `out_folder` is given, `save_pretrained` it there (weights in `save_dtype`) with
    `training.json` (the report).
    With `vae_steps=0` a resumed VAE is kept as it is, with `unet_steps=0` its UNet."""
    if modality not in WORLD_KIND:
        raise ValueError(f"modality {modality!r}: choose image, audio or video")
    torch.manual_seed(options.seed)
    if isinstance(resume_from, DiffusionPipeline):
        pipeline, resumed = resume_from, None
    elif resume_from is not None:
        pipeline = load_decoder_to_train(Path(resume_from))
        earlier = Path(resume_from) / "training.json"
        resumed = json.loads(earlier.read_text(encoding="utf-8")) if earlier.is_file() else None
    else:
        sounds = None
        if modality == "audio":
            pairs = world_captions(Path(world_folder), "audio")
            sounds = torch.from_numpy(np.stack([read_audio(Path(world_folder) / p).samples for p, _ in pairs[:96]]))
        pipeline, resumed = build_decoder_pipeline(modality, config, sounds, seed=options.seed), None
    media = (load_world_media(world_folder, modality, vocoder=pipeline.vocoder, frames=audio_frames(pipeline))
             if modality == "audio" else load_world_media(world_folder, modality))
    log.info("training the %s decoder on %d media %s", modality, len(media.captions), tuple(media.data.shape[1:]))
    report = DecoderTrainingReport(modality, resumed_from=resumed)
    generator = torch.Generator().manual_seed(options.seed)
    if options.vae_steps > 0:
        _train_vae(modality, pipeline, media, options, report, generator)
    else:
        pipeline.vae.eval().requires_grad_(False)
        report.scaling_factor = float(pipeline.vae.config.scaling_factor)
    if options.unet_steps > 0:
        _train_unet(modality, pipeline, media, options, report, generator)
    if options.vae_decoder_steps > 0:
        _train_vae(modality, pipeline, media, options, report, generator, decoder_only=True)
    if out_folder is not None:
        save_decoder(pipeline, Path(out_folder), save_dtype)
        (Path(out_folder) / "training.json").write_text(report.to_json(), encoding="utf-8")
    return pipeline, report


def load_decoder_to_train(folder: Path) -> DiffusionPipeline:
    """A decoder `train_decoder` saved (in fp16), loaded in fp32 to train further."""
    return caption_motion.restore(DiffusionPipeline.from_pretrained(str(folder), dtype=torch.float32), folder)


def save_decoder(pipeline: DiffusionPipeline, out_folder: Path, dtype: torch.dtype = torch.float16) -> None:
    """`save_pretrained` with the weights stored in `dtype` (load_pipeline casts them to the placement's)."""
    out_folder.mkdir(parents=True, exist_ok=True)
    pipeline.to(dtype=dtype)
    try:
        pipeline.save_pretrained(out_folder)
        caption_motion.save_marker(pipeline, out_folder)
    finally:
        pipeline.to(dtype=torch.float32)
    log.info("saved the decoder to %s", out_folder)


def _batches(count: int, batch_size: int, generator: torch.Generator):
    while True:
        order = torch.randperm(count, generator=generator)
        for start in range(0, count - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


def _run_phase(name: str, steps: int, seconds: float | None, log_every: int,
               step: Callable[[int], float]) -> tuple[int, float, list[float]]:
    """Call `step(i)` until `steps` or `seconds` run out; return steps done, seconds taken and the loss curve."""
    started = time.perf_counter()
    curve: list[float] = []
    window: list[float] = []
    done = 0
    for done in range(1, steps + 1):
        window.append(step(done - 1))
        elapsed = time.perf_counter() - started
        out_of_time = seconds is not None and elapsed >= seconds
        if len(window) == log_every or done == steps or out_of_time:
            curve.append(float(np.mean(window)))
            log.info("%s step %d/%d: loss %.4f (%.2f s/step)", name, done, steps, curve[-1], elapsed / done)
            window = []
        if out_of_time:
            break
    return done, time.perf_counter() - started, curve


def _warmup(optimizer: torch.optim.Optimizer, warmup_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: min(1.0, (i + 1) / max(1, warmup_steps)))


def _train_vae(modality: str, pipeline: DiffusionPipeline, media: WorldMedia, options: DecoderTrainingOptions,
               report: DecoderTrainingReport, generator: torch.Generator, decoder_only: bool = False) -> None:
    """The whole VAE (reconstruction + KL, then the latents' scaling factor), or with `decoder_only` its
    decoder alone (reconstruction of the frozen encoder's latents; the scaling factor stays)."""
    vae = pipeline.vae.train().requires_grad_(True)
    if decoder_only:
        vae.encoder.requires_grad_(False)
        vae.quant_conv.requires_grad_(False)
    trained = [p for p in vae.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=options.vae_learning_rate, weight_decay=0.0)
    schedule = _warmup(optimizer, options.warmup_steps)
    # video: a batch of clips is many frames, so take fewer clips
    batch_size = max(1, options.batch_size // VIDEO_FRAMES * 2) if modality == "video" else options.batch_size
    batches = _batches(len(media.captions), min(batch_size, len(media.captions)), generator)

    def step(_: int) -> float:
        x = _vae_batch(modality, media.data[next(batches)])
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample(generator=None)).sample
        loss = F.mse_loss(recon, x)
        if not decoder_only:
            loss = loss + options.kl_weight * posterior.kl().mean() / posterior.mean[0].numel()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        schedule.step()
        return float(loss.detach())

    if decoder_only:
        report.vae_decoder_steps, report.vae_decoder_seconds, report.vae_decoder_losses = _run_phase(
            f"{modality} vae decoder", options.vae_decoder_steps, None, options.log_every, step)
        vae.eval().requires_grad_(False)
        return
    report.vae_steps, report.vae_seconds, report.vae_losses = _run_phase(
        f"{modality} vae", options.vae_steps, options.vae_seconds, options.log_every, step)
    vae.eval().requires_grad_(False)
    with torch.no_grad():  # unit-variance latents, as Stable Diffusion's scaling factor was chosen
        sample = media.data[torch.randperm(len(media.captions), generator=generator)[:64]]
        latents = _encode_all(modality, vae, sample)[0]
    report.scaling_factor = float(1.0 / latents.std().clamp(min=1e-6))
    vae.register_to_config(scaling_factor=report.scaling_factor)


def _timesteps(count: int, train_steps: int, noisiest_share: float, generator: torch.Generator) -> torch.Tensor:
    """Uniform timesteps, the first `noisiest_share` of them redrawn from the noisiest 5%."""
    timesteps = torch.randint(0, train_steps, (count,), generator=generator)
    if noisiest_share > 0:
        noisiest = torch.randint(int(train_steps * 0.95), train_steps, (count,), generator=generator)
        timesteps = torch.where(torch.arange(count) < round(noisiest_share * count), noisiest, timesteps)
    return timesteps


def _jitter(conditioning: torch.Tensor, captioned: torch.Tensor, largest: float,
            generator: torch.Generator) -> torch.Tensor:
    """`conditioning` with Gaussian noise of a standard deviation drawn from [0, largest) per captioned row
    (the unconditional rows, what guidance subtracts, stay exact)."""
    if largest <= 0:
        return conditioning
    shape = (conditioning.shape[0],) + (1,) * (conditioning.dim() - 1)
    scale = torch.rand(shape, generator=generator) * largest * captioned.reshape(shape)
    return conditioning + scale * torch.randn(conditioning.shape, generator=generator)


def _train_unet(modality: str, pipeline: DiffusionPipeline, media: WorldMedia, options: DecoderTrainingOptions,
                report: DecoderTrainingReport, generator: torch.Generator) -> None:
    if options.zero_terminal_snr:
        pipeline.scheduler = DDIMScheduler.from_config(pipeline.scheduler.config, rescale_betas_zero_snr=True,
                                                       prediction_type="v_prediction", timestep_spacing="trailing")
    unet, text_encoder, scheduler = pipeline.unet, pipeline.text_encoder, pipeline.scheduler
    predicts_noise = scheduler.config.prediction_type == "epsilon"
    unet.train().requires_grad_(True)
    text_encoder.train(options.train_text_encoder).requires_grad_(options.train_text_encoder)
    parameters = [*unet.parameters(), *(text_encoder.parameters() if options.train_text_encoder else ())]
    fixed: dict[str, torch.Tensor] = {}
    if not options.train_text_encoder:  # each caption's embedding once
        with torch.no_grad():
            texts = sorted({*media.captions, ""})
            fixed = dict(zip(texts, _conditioning(modality, pipeline, texts), strict=True))
    optimizer = torch.optim.AdamW(parameters, lr=options.learning_rate, weight_decay=1e-2)
    schedule = _warmup(optimizer, options.warmup_steps)
    batch_size = max(2, options.batch_size // 2) if modality == "video" else options.batch_size
    batches = _batches(len(media.captions), min(batch_size, len(media.captions)), generator)
    train_steps = int(scheduler.config.num_train_timesteps)
    means, stds = _encode_all(modality, pipeline.vae, media.data)
    scale = float(pipeline.vae.config.scaling_factor)

    def step(_: int) -> float:
        chosen = next(batches)
        latents = (means[chosen] + stds[chosen] * torch.randn(means[chosen].shape, generator=generator)) * scale
        noise = torch.randn(latents.shape, generator=generator)
        timesteps = _timesteps(latents.shape[0], train_steps, options.noisiest_share, generator)
        noisy = scheduler.add_noise(latents, noise, timesteps)
        dropped = torch.rand(len(chosen), generator=generator) < options.unconditional_share
        captions = ["" if drop else media.captions[int(i)] for i, drop in zip(chosen, dropped, strict=True)]
        conditioning = (torch.stack([fixed[c] for c in captions]) if fixed
                        else _conditioning(modality, pipeline, captions))
        conditioning = _jitter(conditioning, ~dropped, options.conditioning_noise, generator)
        prediction = _predict_noise(modality, pipeline, noisy, timesteps, conditioning)
        target = noise if predicts_noise else scheduler.get_velocity(latents, noise, timesteps)
        loss = F.mse_loss(prediction, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        return float(loss.detach())

    report.unet_steps, report.unet_seconds, report.unet_losses = _run_phase(
        f"{modality} unet", options.unet_steps, options.unet_seconds, options.log_every, step)
    unet.eval().requires_grad_(False)
    text_encoder.eval().requires_grad_(False)
