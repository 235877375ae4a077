"""Diffusers pipelines with random weights, built from small configs.

The `tiny` profile uses them for tests, and the `local` profile uses them for the
roles no offline weights exist for until trained ones are bundled. They are real
pipelines: saved with `save_pretrained`, they load back through the same
`from_pretrained` path as Stable Diffusion, AudioLDM or Zeroscope.

Each builder takes an optional `text_encoder` table, e.g.
`text_encoder = { hidden_size = 32, layers = 1, heads = 2, max_length = 8, words = ["a", "red", ...] }`:

- `max_length`: tokens per caption, [BOS] and [EOS] included (default 16). It is the tokenizer's
  `model_max_length`, so the image and video decoders' `tokens` option must equal it (or be left out).
- `words`: the word-level vocabulary, a list or one space-separated string (default
  `word_tokenizer.DEFAULT_WORDS`); other words map to [UNK].
- `hidden_size`, `layers`, `heads`, `intermediate_size` (default 2 x hidden_size): the transformer.
  Image and video get a `CLIPTextModel` whose hidden size is the UNet's `cross_attention_dim` (the
  default; another value is an error). Audio gets a `ClapTextModelWithProjection` projecting to
  `embedding_dim` (hidden_size default 32).

With the table the pipeline gets a word tokenizer and a text encoder, so `encode_prompt` turns captions
into `prompt_embeds`. Without it the image and video pipelines have no text encoder and the audio one a
CLAP text encoder without a tokenizer, as before: they can only be driven with `prompt_embeds`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import (
    AnimateDiffPipeline,
    AudioLDMPipeline,
    AutoencoderKL,
    DDIMScheduler,
    DiffusionPipeline,
    MotionAdapter,
    StableDiffusionPipeline,
    TextToVideoSDPipeline,
    UNet2DConditionModel,
    UNet3DConditionModel,
    UNetMotionModel,
)
from transformers import (
    ClapTextConfig,
    ClapTextModelWithProjection,
    CLIPTextConfig,
    CLIPTextModel,
    PreTrainedTokenizerFast,
    SpeechT5HifiGan,
    SpeechT5HifiGanConfig,
)

from .caption_motion import read_caption
from .word_tokenizer import DEFAULT_WORDS, build_word_tokenizer


@dataclass(frozen=True)
class TextEncoderOptions:
    """The `text_encoder` config table of a builder."""

    hidden_size: int | None = None
    layers: int = 1
    heads: int = 2
    intermediate_size: int | None = None
    max_length: int = 16
    words: tuple[str, ...] = DEFAULT_WORDS

    @classmethod
    def parse(cls, table: dict[str, Any]) -> TextEncoderOptions:
        known = set(cls.__dataclass_fields__)
        if unknown := set(table) - known:
            raise ValueError(f"unknown text_encoder option(s) {sorted(unknown)}; known: {sorted(known)}")
        options = dict(table)
        if "words" in options:
            options["words"] = _words(options["words"])
        return cls(**options)

    def tokenizer(self) -> PreTrainedTokenizerFast:
        return build_word_tokenizer(self.words, self.max_length)

    def intermediate(self, hidden_size: int) -> int:
        return self.intermediate_size or 2 * hidden_size


def _words(words: str | Iterable[str]) -> tuple[str, ...]:
    return tuple(words.split()) if isinstance(words, str) else tuple(words)


def _clip_text_encoder(
    options: TextEncoderOptions, cross_attention_dim: int
) -> tuple[CLIPTextModel, PreTrainedTokenizerFast]:
    """A CLIP text encoder whose last hidden state is the UNet's `encoder_hidden_states`, and its tokenizer."""
    hidden_size = options.hidden_size or cross_attention_dim
    if hidden_size != cross_attention_dim:
        raise ValueError(
            f"text_encoder hidden_size {hidden_size} must equal cross_attention_dim {cross_attention_dim}: "
            "its output is the UNet's prompt_embeds"
        )
    tokenizer = options.tokenizer()
    encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=hidden_size,
            intermediate_size=options.intermediate(hidden_size),
            projection_dim=hidden_size,
            num_hidden_layers=options.layers,
            num_attention_heads=options.heads,
            max_position_embeddings=options.max_length,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )
    return encoder, tokenizer


def _clap_text_encoder(
    options: TextEncoderOptions, embedding_dim: int
) -> tuple[ClapTextModelWithProjection, PreTrainedTokenizerFast]:
    """A CLAP text encoder projecting to AudioLDM's class-embedding input, and its tokenizer."""
    tokenizer = options.tokenizer()
    hidden_size = options.hidden_size or 32
    encoder = ClapTextModelWithProjection(
        ClapTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=hidden_size,
            num_hidden_layers=options.layers,
            num_attention_heads=options.heads,
            intermediate_size=options.intermediate(hidden_size),
            projection_dim=embedding_dim,
            # RoBERTa-style positions start after the padding id
            max_position_embeddings=options.max_length + tokenizer.pad_token_id + 1,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )
    return encoder, tokenizer


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


def _vae_scale(vae: AutoencoderKL) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def build_image_pipeline(
    size: int = 32,
    channels: tuple[int, ...] = (32, 64),
    cross_attention_dim: int = 32,
    text_encoder: dict[str, Any] | None = None,
    vae_channels: tuple[int, ...] | None = None,
    **_: Any,
) -> StableDiffusionPipeline:
    """A Stable Diffusion pipeline (UNet2DConditionModel + AutoencoderKL, and a CLIP text encoder with a
    word tokenizer when `text_encoder` is given) with random weights. `vae_channels` (default two blocks of
    `channels[0]`) sets the VAE's blocks: n blocks shrink the image 2^(n-1) times into the latents."""
    vae = _vae(vae_channels or (channels[0], channels[0]), 3, 3, 4)
    unet = UNet2DConditionModel(**_unet_layout(size // _vae_scale(vae), channels, cross_attention_dim, "2D"))
    encoder, tokenizer = (
        _clip_text_encoder(TextEncoderOptions.parse(text_encoder), cross_attention_dim)
        if text_encoder is not None
        else (None, None)
    )
    return StableDiffusionPipeline(
        vae=vae,
        unet=unet,
        scheduler=_scheduler(),
        text_encoder=encoder,
        tokenizer=tokenizer,
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        requires_safety_checker=False,
    )


def build_audio_pipeline(
    mel_bins: int = 64,
    channels: tuple[int, ...] = (32, 64),
    embedding_dim: int = 32,
    text_encoder: dict[str, Any] | None = None,
    vae_channels: tuple[int, ...] | None = None,
    **_: Any,
) -> AudioLDMPipeline:
    """An AudioLDM pipeline (mel UNet + VAE + HiFi-GAN vocoder at 16 kHz, CLAP text encoder) with random
    weights; with `text_encoder` the CLAP encoder is built from that table and gets a word tokenizer.
    `vae_channels` as for images."""
    vae = _vae(vae_channels or (channels[0], channels[0]), 1, 1, 4)
    unet = UNet2DConditionModel(
        sample_size=mel_bins // _vae_scale(vae),
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
    if text_encoder is not None:
        encoder, tokenizer = _clap_text_encoder(TextEncoderOptions.parse(text_encoder), embedding_dim)
    else:  # as before: an encoder without a tokenizer, driven only with prompt_embeds
        encoder, tokenizer = ClapTextModelWithProjection(
            ClapTextConfig(
                vocab_size=100,
                hidden_size=32,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=37,
                projection_dim=embedding_dim,
                max_position_embeddings=64,
            )
        ), None
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
        vae=vae, text_encoder=encoder, tokenizer=tokenizer, unet=unet, scheduler=_scheduler(), vocoder=vocoder
    )


def _unet_layout(latent_size: int, channels: tuple[int, ...], cross_attention_dim: int, blocks: str) -> dict[str, Any]:
    """The small UNets' layout, the same block for block in 2-D and 3-D (`blocks` "2D" or "3D"), so that
    a trained image UNet can initialise a video one."""
    return {
        "sample_size": latent_size,
        "in_channels": 4,
        "out_channels": 4,
        "block_out_channels": channels,
        "layers_per_block": 1,
        "down_block_types": (f"DownBlock{blocks}",) + (f"CrossAttnDownBlock{blocks}",) * (len(channels) - 1),
        "up_block_types": (f"CrossAttnUpBlock{blocks}",) * (len(channels) - 1) + (f"UpBlock{blocks}",),
        "cross_attention_dim": cross_attention_dim,
        "attention_head_dim": 8,
        "norm_num_groups": min(channels),
    }


def motion_adapter(channels: tuple[int, ...], max_frames: int = 32) -> MotionAdapter:
    """AnimateDiff motion modules for a UNet with `channels` blocks: after each spatial block, attention
    across the frames with sinusoidal frame positions; each starts as the identity (its last projection
    zeroed, as AnimateDiff starts them), so the video UNet first draws each frame as the image UNet."""
    adapter = MotionAdapter(block_out_channels=channels, motion_layers_per_block=1,
                            motion_mid_block_layers_per_block=1, motion_num_attention_heads=4,
                            motion_norm_num_groups=min(channels), motion_max_seq_length=max_frames,
                            use_motion_mid_block=True)
    with torch.no_grad():
        for name, module in adapter.named_modules():
            if name.endswith("proj_out"):
                module.weight.zero_()
                module.bias.zero_()
    return adapter


def build_video_pipeline(
    size: int = 32,
    channels: tuple[int, ...] = (32, 64),
    cross_attention_dim: int = 32,
    text_encoder: dict[str, Any] | None = None,
    vae_channels: tuple[int, ...] | None = None,
    motion_modules: bool = False,
    caption_motion: bool = False,
    **_: Any,
) -> TextToVideoSDPipeline | AnimateDiffPipeline:
    """A text-to-video pipeline with random weights: TextToVideoSD's UNet3DConditionModel, or with
    `motion_modules` AnimateDiff's UNetMotionModel (the image UNet's layout with `motion_adapter`'s
    modules, which with `caption_motion` also attend to the caption: `caption_motion.read_caption`); an
    AutoencoderKL (`vae_channels` as for images), and a CLIP text encoder with a word tokenizer when
    `text_encoder` is given.

    UNet3D's temporal attention has no frame positions, so only its temporal convolutions' zero padding
    tells one frame from another; AnimateDiff's motion modules know each frame's place, which is what
    drawing a shape further along each frame needs."""
    vae = _vae(vae_channels or (channels[0], channels[0]), 3, 3, 4)
    latent_size = size // _vae_scale(vae)
    if motion_modules:
        image_unet = UNet2DConditionModel(**_unet_layout(latent_size, channels, cross_attention_dim, "2D"))
        unet = UNetMotionModel.from_unet2d(image_unet, motion_adapter(channels))
        if caption_motion:
            read_caption(unet)
    else:
        if caption_motion:
            raise ValueError("caption_motion needs motion_modules: UNet3D's temporal layers cannot read the caption")
        unet = UNet3DConditionModel(**_unet_layout(latent_size, channels, cross_attention_dim, "3D"))
    encoder, tokenizer = (
        _clip_text_encoder(TextEncoderOptions.parse(text_encoder), cross_attention_dim)
        if text_encoder is not None
        else (None, None)
    )
    if motion_modules:
        return AnimateDiffPipeline(vae=vae, text_encoder=encoder, tokenizer=tokenizer, unet=unet,
                                   motion_adapter=None, scheduler=_scheduler())
    return TextToVideoSDPipeline(vae=vae, text_encoder=encoder, tokenizer=tokenizer, unet=unet, scheduler=_scheduler())


BUILDERS = {"image": build_image_pipeline, "audio": build_audio_pipeline, "video": build_video_pipeline}


def build_random_pipeline(modality: str, config: dict[str, Any], seed: int = 0) -> DiffusionPipeline:
    """The pipeline for `modality` with weights drawn from a fixed seed."""
    torch.manual_seed(seed)
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return BUILDERS[modality](**options)
