"""The world's training functions on a tiny world and tiny configs: losses fall, and what they save loads
back through the profile's own loaders and decodes or encodes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from models.decoders.caption_motion import caption_readers
from models.decoders.diffusion_decoder import DiffusionDecoder, load_pipeline
from models.decoders.mel_vocoder import MelVocoder
from models.device import Placement
from models.encoders.clip_image import VisionTowerEncoder
from models.media.types import AudioData, ImageData, VideoData
from models.modality import Modality
from models.world import ImageAttributes, SoundAttributes, analyse_sound, generate_world, render_sound
from models.world.decoder_evaluation import judge_decoder
from models.world.decoder_training import (
    DecoderTrainingOptions,
    _jitter,
    _predict_noise,
    _timesteps,
    build_decoder_pipeline,
    train_decoder,
)
from models.world.encoder_training import EncoderTrainingOptions, train_image_encoder
from models.world.video_inflation import inflate_video_decoder, separate_new_words

CPU = Placement(torch.device("cpu"), torch.float32)
TEXT = {"hidden_size": 16, "layers": 1, "heads": 2, "max_length": 8}
CONFIGS = {
    "image": {"size": 64, "channels": [8, 16], "vae_channels": [8, 8, 8], "cross_attention_dim": 16,
              "text_encoder": TEXT},
    "audio": {"mel_bins": 64, "channels": [8, 16], "vae_channels": [8, 8, 8], "embedding_dim": 16,
              "text_encoder": TEXT},
    "video": {"size": 64, "channels": [8, 16], "vae_channels": [8, 8, 8], "cross_attention_dim": 16,
              "text_encoder": TEXT},
}
CONFIGS["video-motion"] = {**CONFIGS["video"], "motion_modules": True}  # AnimateDiff's UNetMotionModel
CONFIGS["video-caption"] = {**CONFIGS["video-motion"], "caption_motion": True}  # its motion modules read the caption
OPTIONS = DecoderTrainingOptions(vae_steps=12, unet_steps=12, batch_size=8, vae_learning_rate=3e-3,
                                 learning_rate=3e-3, warmup_steps=1, unconditional_share=0.0, log_every=4)
MEDIA = {"image": ImageData, "audio": AudioData, "video": VideoData, "video-motion": VideoData,
         "video-caption": VideoData}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("world")
    generate_world(folder, seed=1, train_per_kind=16, heldout_per_kind=4)
    return folder


@pytest.mark.parametrize("variant", ["image", "audio", "video", "video-motion", "video-caption"])
def test_decoder_trains_saves_and_decodes(world: Path, tmp_path: Path, variant: str) -> None:
    torch.set_num_threads(2)
    modality = variant.split("-")[0]
    options = OPTIONS if modality != "video" else DecoderTrainingOptions(
        **{**OPTIONS.__dict__, "batch_size": 4, "vae_steps": 4, "unet_steps": 4, "log_every": 2})
    _, report = train_decoder(modality, world, tmp_path / modality, CONFIGS[variant], options)

    assert report.vae_steps == options.vae_steps and report.unet_steps == options.unet_steps
    assert report.vae_losses[-1] < report.vae_losses[0]
    assert report.unet_losses[-1] < report.unet_losses[0]
    assert report.scaling_factor > 0

    pipeline = load_pipeline(str(tmp_path / modality), CPU)
    decoder = DiffusionDecoder(Modality(modality), pipeline, CPU, steps=2, guidance=2.0, size=64, frames=8)
    media = decoder(decoder.text_embeddings(["a red circle"])[0])
    assert isinstance(media, MEDIA[variant])
    if variant.startswith("video-"):
        assert type(pipeline).__name__ == "AnimateDiffPipeline" and media.frames.shape == (8, 64, 64, 3)
        # the saved folder says which motion modules read the caption (the 16 channels wide: one down, the
        # middle one, two up), and they read it again once loaded
        assert len(caption_readers(pipeline.unet)) == (4 if variant == "video-caption" else 0)
    if modality == "audio":
        assert isinstance(pipeline.vocoder, MelVocoder)
        assert media.samples.shape == (16000,)
    if modality == "image":
        wanted = [ImageAttributes("red", "circle"), ImageAttributes("blue", "square")]
        judged = judge_decoder(decoder, wanted, ("colour", "shape"), seeds=(0,))
        assert {name: score.total for name, score in judged.items()} == {"colour": 2, "shape": 2}
        more = DecoderTrainingOptions(vae_steps=0, unet_steps=2, batch_size=4, log_every=1)
        _, resumed = train_decoder(modality, world, None, CONFIGS[modality], more, resume_from=tmp_path / modality)
        assert resumed.vae_steps == 0 and resumed.unet_steps == 2
        assert resumed.scaling_factor == pytest.approx(report.scaling_factor, rel=1e-3)


def test_mel_vocoder_turns_its_analysis_back_into_the_world_sound() -> None:
    rng = np.random.default_rng(0)
    sounds = list(SoundAttributes.every())
    waves = torch.from_numpy(np.stack([render_sound(attributes, rng).samples for attributes in sounds]))
    vocoder = MelVocoder(model_in_dim=64)
    assert vocoder.fit(waves) < 0.05
    rebuilt = vocoder(vocoder.analyse(waves, 62))
    assert rebuilt.shape == (len(sounds), 62 * 256)
    assert [analyse_sound(AudioData(wave.numpy(), 16000)) for wave in rebuilt] == sounds


def test_image_encoder_trains_saves_and_encodes(world: Path, tmp_path: Path) -> None:
    torch.set_num_threads(2)
    config = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
              "image_size": 64, "patch_size": 16}
    options = EncoderTrainingOptions(steps=12, batch_size=16, learning_rate=2e-3, warmup_steps=1, log_every=4)
    encoder, report = train_image_encoder(world, tmp_path, config, options)

    assert report.steps == 12
    assert report.losses[-1] < report.losses[0]
    assert 0.0 <= report.heldout["images_colour"] <= 1.0 and "video_frames_shape" in report.heldout
    loaded = VisionTowerEncoder.from_pretrained(str(tmp_path), "clip", CPU)
    picture = ImageData(np.full((64, 64, 3), 255, dtype=np.uint8))
    assert torch.allclose(loaded.encode(picture), encoder.encode(picture), atol=1e-5)
    assert loaded.encode(picture).shape == (1 + (64 // 16) ** 2, 32)


def test_a_frozen_text_encoder_keeps_its_embeddings(world: Path) -> None:
    torch.set_num_threads(2)
    options = DecoderTrainingOptions(**{**OPTIONS.__dict__, "vae_steps": 2, "unet_steps": 3,
                                        "train_text_encoder": False})
    untrained = build_decoder_pipeline("audio", CONFIGS["audio"])
    pipeline, report = train_decoder("audio", world, None, CONFIGS["audio"], options)

    assert report.unet_steps == 3
    for before, after in zip(untrained.text_encoder.parameters(), pipeline.text_encoder.parameters(), strict=True):
        assert torch.equal(before, after)
    changed = [not torch.equal(a, b) for a, b in zip(untrained.unet.parameters(), pipeline.unet.parameters(),
                                                     strict=True)]
    assert any(changed)


def _trained_image_decoder(config: dict) -> object:
    image = build_decoder_pipeline("image", config, seed=3)
    for parameter in image.unet.parameters():  # as if trained: nothing left at its initial value
        parameter.data.add_(0.01 * torch.randn_like(parameter))
    return image


def _video_unet(video: object, latents: torch.Tensor, timesteps: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """The video UNet's prediction for whole clips, each given its caption as training gives it."""
    return _predict_noise("video", video, latents, timesteps, text)


# 64 channels for UNet3D: both UNets split attention in 8 heads; the motion UNet takes the image UNet's heads
@pytest.mark.parametrize("extra", [{"channels": [8, 64]}, {"motion_modules": True}], ids=["unet3d", "motion"])
def test_the_inflated_video_unet_draws_each_frame_as_the_image_unet_does(extra: dict) -> None:
    config = {**CONFIGS["image"], **extra}
    image = _trained_image_decoder(config)
    video = inflate_video_decoder(image, config, seed=4)

    assert video.vae is image.vae and video.tokenizer is image.tokenizer
    # its own text encoder, to train on its captions, starting as the image decoder's
    assert video.text_encoder is not image.text_encoder
    assert all(torch.equal(a, b) for a, b in zip(video.text_encoder.parameters(), image.text_encoder.parameters(),
                                                   strict=True))
    latents = torch.randn(2, 4, 3, 16, 16)  # (batch, channels, frames, h, w)
    text = torch.randn(2, 8, 16)
    timesteps = torch.tensor([10, 700])
    with torch.no_grad():
        moving = _video_unet(video, latents, timesteps, text)
        frames = latents.permute(0, 2, 1, 3, 4).flatten(0, 1)
        still = image.unet(frames, timesteps.repeat_interleave(3),
                           encoder_hidden_states=text.repeat_interleave(3, 0)).sample
    assert torch.allclose(moving, still.unflatten(0, (2, 3)).permute(0, 2, 1, 3, 4), atol=1e-4)


def test_the_motion_modules_know_which_frame_is_which() -> None:
    """Why the world's video decoder has them: drawing a shape further along each frame needs the
    frame's place. Trained (non-zero) motion modules answer frames in another order differently, not
    with the same answers reordered."""
    config = {**CONFIGS["image"], "motion_modules": True}
    video = inflate_video_decoder(_trained_image_decoder(config), config, seed=4)
    for name, parameter in video.unet.named_parameters():
        if ".motion_modules." in name:
            parameter.data.add_(0.2 * torch.randn_like(parameter))
    latents = torch.randn(1, 4, 4, 16, 16)
    order = torch.tensor([3, 2, 1, 0])
    timesteps, text = torch.tensor([500]), torch.randn(1, 8, 16)
    with torch.no_grad():
        forward = _video_unet(video, latents, timesteps, text)
        backward = _video_unet(video, latents[:, :, order], timesteps, text)
    assert not torch.allclose(backward, forward[:, :, order], atol=1e-3)


def test_inflation_refuses_unets_that_split_attention_differently() -> None:
    image = build_decoder_pipeline("image", CONFIGS["image"])  # 16 channels: 8 heads of 2, the 3-D UNet 2 of 8
    with pytest.raises(ValueError, match="attention heads"):
        inflate_video_decoder(image, CONFIGS["video"])


def test_zero_terminal_snr_trains_v_prediction_and_the_saved_decoder_samples_with_it(world: Path,
                                                                                    tmp_path: Path) -> None:
    torch.set_num_threads(2)
    options = DecoderTrainingOptions(**{**OPTIONS.__dict__, "vae_steps": 0, "unet_steps": 3,
                                        "zero_terminal_snr": True})
    pipeline, report = train_decoder("image", world, tmp_path / "image", CONFIGS["image"], options)

    scheduler = pipeline.scheduler
    assert scheduler.config.prediction_type == "v_prediction" and scheduler.config.rescale_betas_zero_snr
    assert float(scheduler.alphas_cumprod[-1]) < 1e-6  # the last step is pure noise
    assert report.unet_steps == 3 and all(np.isfinite(report.unet_losses))
    loaded = load_pipeline(str(tmp_path / "image"), CPU)
    assert loaded.scheduler.config.prediction_type == "v_prediction"
    decoder = DiffusionDecoder(Modality.IMAGE, loaded, CPU, steps=2, guidance=2.0, size=64)
    assert isinstance(decoder(decoder.text_embeddings(["a red circle"])[0]), ImageData)


def test_the_vae_decoder_fine_tune_keeps_the_latents_and_the_earlier_report(world: Path, tmp_path: Path) -> None:
    torch.set_num_threads(2)
    first, _ = train_decoder("image", world, tmp_path / "first", CONFIGS["image"],
                             DecoderTrainingOptions(**{**OPTIONS.__dict__, "vae_steps": 3, "unet_steps": 2}))
    options = DecoderTrainingOptions(**{**OPTIONS.__dict__, "vae_steps": 0, "unet_steps": 0, "vae_decoder_steps": 4})
    tuned, report = train_decoder("image", world, tmp_path / "tuned", CONFIGS["image"], options,
                                  resume_from=tmp_path / "first")

    saved = load_pipeline(str(tmp_path / "first"), CPU)  # what the UNet learnt on, as stored (fp16)
    assert report.vae_decoder_steps == 4 and report.unet_steps == 0 and len(report.vae_decoder_losses) == 1
    assert report.resumed_from is not None and report.resumed_from["unet_steps"] == 2
    for name in ("encoder", "quant_conv"):
        for before, after in zip(getattr(saved.vae, name).parameters(), getattr(tuned.vae, name).parameters(),
                                 strict=True):
            assert torch.equal(before, after)
    assert any(not torch.equal(a, b) for a, b in zip(saved.vae.decoder.parameters(), tuned.vae.decoder.parameters(),
                                                     strict=True))
    assert all(torch.equal(a, b) for a, b in zip(saved.unet.parameters(), tuned.unet.parameters(), strict=True))
    assert tuned.vae.config.scaling_factor == saved.vae.config.scaling_factor


def test_inflation_separates_the_words_only_video_captions_hold() -> None:
    torch.set_num_threads(2)
    image = _trained_image_decoder(CONFIGS["image"])
    known = [f"a {c} {s}" for c in ("red", "green", "blue", "yellow") for s in ("circle", "square", "triangle")]
    videos = [f"{k} moving {d}" for k in known for d in ("left", "right", "up", "down")]
    video = inflate_video_decoder(image, CONFIGS["video-motion"], seed=4)
    image_table = image.text_encoder.get_input_embeddings().weight.detach().clone()
    before = [p.detach().clone() for p in video.text_encoder.parameters()]
    separation = separate_new_words(video, known, videos, steps=60)

    assert separation.words == ["down", "left", "moving", "right", "up"]
    assert separation.after > 2 * separation.before
    table = video.text_encoder.get_input_embeddings().weight
    rows = video.tokenizer.convert_tokens_to_ids(separation.words)
    untouched = torch.ones(table.shape[0], dtype=torch.bool)
    untouched[rows] = False
    assert torch.equal(table[untouched], before[0][untouched]) and not torch.equal(table[rows], before[0][rows])
    for old, new in zip(before[1:], list(video.text_encoder.parameters())[1:], strict=True):
        assert torch.equal(old, new)
    assert torch.equal(image.text_encoder.get_input_embeddings().weight, image_table)  # the image decoder's own


def test_a_noisiest_share_draws_that_share_of_each_batch_from_the_noisiest_steps() -> None:
    plain = torch.cat([_timesteps(8, 1000, 0.0, torch.Generator().manual_seed(i)) for i in range(200)])
    half = torch.stack([_timesteps(8, 1000, 0.5, torch.Generator().manual_seed(i)) for i in range(200)])

    assert (plain >= 950).float().mean() < 0.08  # about 5% of uniform draws
    assert bool((half[:, :4] >= 950).all()) and half.min() >= 0 and half.max() <= 999
    assert (half[:, 4:] < 950).float().mean() > 0.9  # the rest still over the whole schedule


def test_conditioning_noise_jitters_the_captioned_rows_and_leaves_the_unconditional_ones_exact() -> None:
    conditioning = torch.randn(400, 6, 16)
    captioned = torch.arange(400) % 4 != 0  # every fourth row an unconditional ""
    jittered = _jitter(conditioning, captioned, 0.2, torch.Generator().manual_seed(0))
    spread = (jittered - conditioning).std(dim=(1, 2))

    assert torch.equal(_jitter(conditioning, captioned, 0.0, torch.Generator()), conditioning)
    assert torch.equal(jittered[~captioned], conditioning[~captioned])
    assert bool((spread[captioned] < 0.25).all())  # at most the largest deviation asked for (and sampling error)
    assert 0.07 < float(spread[captioned].mean()) < 0.13  # spread over [0, 0.2): about half of it on average
    assert float(spread[captioned].max()) > 0.17 and float(spread[captioned].min()) < 0.03


def test_follow_up_runs_train_on_from_the_run_before_and_can_start_reading_the_caption(world: Path,
                                                                                      tmp_path: Path) -> None:
    from models.decoders.caption_motion import MARKER
    from models.world.build import FollowUp, train_decoder_runs

    go_on = replace(OPTIONS, vae_steps=0, unet_steps=3)
    follow_ups = (FollowUp(go_on, read_caption=True), FollowUp(replace(go_on, unet_steps=2, noisiest_share=0.5)))
    folder, work = tmp_path / "video_decoder", tmp_path / "work"

    pipeline, report = train_decoder_runs("video", world, folder, work, CONFIGS["video-motion"], OPTIONS, follow_ups)

    assert [report["unet_steps"], report["after"]["unet_steps"], report["after"]["after"]["unet_steps"]] == [2, 3, 12]
    assert "after" not in report["after"]["after"] and report["after"]["after"]["vae_steps"] == 12
    assert json.loads((folder / "training.json").read_text())["unet_steps"] == 2  # the folder gets the last run's
    readers = caption_readers(pipeline.unet)
    assert len(readers) == 4 and json.loads((folder / MARKER).read_text())["motion_modules"] == readers
    assert sorted(p.name for p in work.iterdir()) == ["video_decoder_run0", "video_decoder_run1"]
    assert not (work / "video_decoder_run0" / MARKER).exists() and (work / "video_decoder_run1" / MARKER).exists()
