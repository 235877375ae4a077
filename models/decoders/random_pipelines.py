"""Diffusers pipelines with random weights, built from small configs.

The `tiny` profile uses them for tests, and the `local` profile uses them for the
roles no offline weights exist for until trained ones are bundled. They are real
pipelines: saved with `save_pretrained`, they load back through the same
`from_pretrained` path as Stable Diffusion, AudioLDM or Zeroscope.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import (
    AudioLDMPipeline,
    AutoencoderKL,
    DDIMScheduler,
    DiffusionPipeline,
    StableDiffusionPipeline,
    TextToVideoSDPipeline,
    UNet2DConditionModel,
    UNet3DConditionModel,
)
from transformers import ClapTextConfig, ClapTextModelWithProjection, SpeechT5HifiGan, SpeechT5HifiGanConfig


def _scheduler() -> DDIMScheduler:
    return DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False,
        steps_offset=1,
    )


def _vae(channels: tuple[int, ...], in_channels: int, out_channels: int, latent_channels: int) -> AutoencoderKL:
    return AutoencoderKL(
        block_out_channels=channels,
        in_channels=in_channels,
        out_channels=out_channels,
        down_block_types=("DownEncoderBlock2D",) * len(channels),
        up_block_types=("UpDecoderBlock2D",) * len(channels),
        latent_channels=latent_channels,
        norm_num_groups=min(channels),
    )


def build_image_pipeline(
    size: int = 32, channels: tuple[int, ...] = (32, 64), cross_attention_dim: int = 32, **_: Any
) -> StableDiffusionPipeline:
    """A Stable Diffusion pipeline (UNet2DConditionModel + AutoencoderKL) with random weights."""
    vae = _vae((channels[0], channels[0]), 3, 3, 4)
    latent_size = size // 2
    unet = UNet2DConditionModel(
        sample_size=latent_size,
        in_channels=4,
        out_channels=4,
        block_out_channels=channels,
        layers_per_block=1,
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (len(channels) - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (len(channels) - 1) + ("UpBlock2D",),
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=8,
        norm_num_groups=min(channels),
    )
    return StableDiffusionPipeline(
        vae=vae,
        unet=unet,
        scheduler=_scheduler(),
        text_encoder=None,
        tokenizer=None,
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        requires_safety_checker=False,
    )


def build_audio_pipeline(
    mel_bins: int = 64, channels: tuple[int, ...] = (32, 64), embedding_dim: int = 32, **_: Any
) -> AudioLDMPipeline:
    """An AudioLDM pipeline (mel UNet + VAE + HiFi-GAN vocoder at 16 kHz) with random weights."""
    unet = UNet2DConditionModel(
        sample_size=mel_bins // 2,
        in_channels=4,
        out_channels=4,
        block_out_channels=channels,
        layers_per_block=1,
        down_block_types=("DownBlock2D",) * len(channels),
        up_block_types=("UpBlock2D",) * len(channels),
        cross_attention_dim=channels,
        class_embed_type="simple_projection",
        projection_class_embeddings_input_dim=embedding_dim,
        class_embeddings_concat=True,
        norm_num_groups=min(channels),
    )
    vae = _vae((channels[0], channels[0]), 1, 1, 4)
    text_encoder = ClapTextModelWithProjection(
        ClapTextConfig(
            vocab_size=100,
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=37,
            projection_dim=embedding_dim,
            max_position_embeddings=64,
        )
    )
    vocoder = SpeechT5HifiGan(
        SpeechT5HifiGanConfig(
            model_in_dim=mel_bins,
            sampling_rate=16000,
            upsample_initial_channel=32,
            upsample_rates=[4, 4, 4, 4],
            upsample_kernel_sizes=[8, 8, 8, 8],
            resblock_kernel_sizes=[3, 7],
            resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]],
            normalize_before=False,
        )
    )
    return AudioLDMPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=None, unet=unet, scheduler=_scheduler(), vocoder=vocoder
    )


def build_video_pipeline(
    size: int = 32, channels: tuple[int, ...] = (32, 64), cross_attention_dim: int = 32, **_: Any
) -> TextToVideoSDPipeline:
    """A text-to-video pipeline (UNet3DConditionModel + AutoencoderKL) with random weights."""
    vae = _vae((channels[0], channels[0]), 3, 3, 4)
    unet = UNet3DConditionModel(
        sample_size=size // 2,
        in_channels=4,
        out_channels=4,
        block_out_channels=channels,
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock3D",) * (len(channels) - 1) + ("DownBlock3D",),
        up_block_types=("UpBlock3D",) + ("CrossAttnUpBlock3D",) * (len(channels) - 1),
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=8,
        norm_num_groups=min(channels),
    )
    return TextToVideoSDPipeline(vae=vae, text_encoder=None, tokenizer=None, unet=unet, scheduler=_scheduler())


BUILDERS = {"image": build_image_pipeline, "audio": build_audio_pipeline, "video": build_video_pipeline}


def build_random_pipeline(modality: str, config: dict[str, Any], seed: int = 0) -> DiffusionPipeline:
    """The pipeline for `modality` with weights drawn from a fixed seed."""
    torch.manual_seed(seed)
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return BUILDERS[modality](**options)
