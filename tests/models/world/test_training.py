"""The world's training functions on a tiny world and tiny configs: losses fall, and what they save loads
back through the profile's own loaders and decodes or encodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.decoders.diffusion_decoder import DiffusionDecoder, load_pipeline
from models.decoders.mel_vocoder import MelVocoder
from models.device import Placement
from models.encoders.clip_image import VisionTowerEncoder
from models.media.types import AudioData, ImageData, VideoData
from models.modality import Modality
from models.world import SoundAttributes, analyse_sound, generate_world, render_sound
from models.world.decoder_training import DecoderTrainingOptions, judge_decoder, train_decoder
from models.world.encoder_training import EncoderTrainingOptions, train_image_encoder

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
OPTIONS = DecoderTrainingOptions(vae_steps=12, unet_steps=12, batch_size=8, vae_learning_rate=3e-3,
                                 learning_rate=3e-3, warmup_steps=1, unconditional_share=0.0, log_every=4)
MEDIA = {"image": ImageData, "audio": AudioData, "video": VideoData}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("world")
    generate_world(folder, seed=1, train_per_kind=16, heldout_per_kind=4)
    return folder


@pytest.mark.parametrize("modality", ["image", "audio", "video"])
def test_decoder_trains_saves_and_decodes(world: Path, tmp_path: Path, modality: str) -> None:
    torch.set_num_threads(2)
    options = OPTIONS if modality != "video" else DecoderTrainingOptions(
        **{**OPTIONS.__dict__, "batch_size": 4, "vae_steps": 4, "unet_steps": 4, "log_every": 2})
    _, report = train_decoder(modality, world, tmp_path / modality, CONFIGS[modality], options)

    assert report.vae_steps == options.vae_steps and report.unet_steps == options.unet_steps
    assert report.vae_losses[-1] < report.vae_losses[0]
    assert report.unet_losses[-1] < report.unet_losses[0]
    assert report.scaling_factor > 0

    pipeline = load_pipeline(str(tmp_path / modality), CPU)
    decoder = DiffusionDecoder(Modality(modality), pipeline, CPU, steps=2, guidance=2.0, size=64, frames=8)
    media = decoder(decoder.text_embeddings(["a red circle"])[0])
    assert isinstance(media, MEDIA[modality])
    if modality == "audio":
        assert isinstance(pipeline.vocoder, MelVocoder)
        assert media.samples.shape == (16000,)
    if modality == "image":
        judged = judge_decoder(decoder, ["a red circle", "a blue square"], seeds=(0,))
        assert judged.total == 2 and set(judged.attributes) == {"colour", "shape"}
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
