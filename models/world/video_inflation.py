"""Start the video decoder from the trained image decoder, as ModelScope's text-to-video model was
started from Stable Diffusion: the world's video frames are the world's images, smaller and moving.

The video pipeline takes the image pipeline's VAE and tokenizer as they are, a copy of its text encoder
(so that a video decoder trained with `train_text_encoder` leaves the image decoder's alone), and every
UNet weight the two UNets share (the spatial convolutions, attentions and embeddings; 1x1 projections
reshaped where the 3-D UNet stores them as convolutions). The 3-D UNet's temporal layers start as the
identity (their last projection zeroed, as diffusers already does for the temporal convolutions), so
before any video training the video decoder draws each frame as the image decoder would; training
then only has to teach it motion.

A video config with `motion_modules = true` builds AnimateDiff's pipeline instead: its UNetMotionModel
holds the image UNet's blocks under the same names (every tensor is copied) with motion modules that
start as the identity too (`random_pipelines.motion_adapter`).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch
from diffusers import DiffusionPipeline
from diffusers.models.attention_processor import Attention

from models.decoders.random_pipelines import build_random_pipeline

log = logging.getLogger(__name__)


def inflate_video_decoder(image: DiffusionPipeline, video_config: dict[str, Any], seed: int = 0) -> DiffusionPipeline:
    """A video pipeline built from `video_config` (a profile's video decoder `config`) whose VAE, text
    encoder and spatial UNet weights come from the trained `image` pipeline."""
    video = build_random_pipeline("video", video_config, seed=seed)
    _check_heads(image.unet, video.unet)
    copied, tensors = copy_shared_weights(image.unet, video.unet), len(image.unet.state_dict())
    if video_config.get("motion_modules") and copied != tensors:
        raise ValueError(f"the motion UNet took {copied} of the image UNet's {tensors} tensors: give the video "
                         "decoder the image decoder's channels")
    zero_temporal_outputs(video.unet)
    video.register_modules(vae=image.vae, text_encoder=copy.deepcopy(image.text_encoder), tokenizer=image.tokenizer)
    log.info("video decoder: %d UNet tensors, the VAE and the text encoder from the image decoder", copied)
    return video


def copy_shared_weights(source: torch.nn.Module, target: torch.nn.Module) -> int:
    """Copy each tensor of `source` into the same-named tensor of `target` when they hold as many numbers
    (a Linear's (o, i) into a 1x1 convolution's (o, i, 1, 1)); returns how many were copied."""
    target_state = target.state_dict()
    taken = {}
    for name, tensor in source.state_dict().items():
        if name in target_state and target_state[name].numel() == tensor.numel():
            taken[name] = tensor.reshape(target_state[name].shape)
    target.load_state_dict(taken, strict=False)
    return len(taken)


@torch.no_grad()
def zero_temporal_outputs(unet: torch.nn.Module) -> None:
    """Make every temporal transformer of a UNet3DConditionModel the identity (it adds its output to its input)."""
    for name, module in unet.named_modules():
        if (name == "transformer_in" or ".temp_attentions." in name) and hasattr(module, "proj_out"):
            module.proj_out.weight.zero_()
            if module.proj_out.bias is not None:
                module.proj_out.bias.zero_()


def _check_heads(image_unet: torch.nn.Module, video_unet: torch.nn.Module) -> None:
    """Copied attention weights compute the same only when split into as many heads. diffusers' 2-D UNet
    reads `attention_head_dim` as a head count and its 3-D UNet as a head size, so they agree only on
    64-channel blocks (8 heads of 8)."""
    video_modules = dict(video_unet.named_modules())
    for name, module in image_unet.named_modules():
        other = video_modules.get(name)
        if isinstance(module, Attention) and isinstance(other, Attention) and module.heads != other.heads:
            raise ValueError(f"{name}: the image UNet has {module.heads} attention heads, the video UNet "
                             f"{other.heads}; give the blocks with attention 64 channels")
