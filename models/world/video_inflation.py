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

The image decoder's text encoder never read the words only video captions hold (the directions): their
embeddings are still the random ones it started with, and its trained layers map them almost onto one
another, so no decoder or projector could tell them apart. `separate_new_words` trains those words'
embeddings alone (every other weight frozen, the norms capped at the known words') until captions that
differ only in them lie as far apart as the image captions do (docs/world.md: what that changed).
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import DiffusionPipeline
from diffusers.models.attention_processor import Attention

from models.decoders.random_pipelines import build_random_pipeline
from models.world.decoder_training import _conditioning

log = logging.getLogger(__name__)


def inflate_video_decoder(image: DiffusionPipeline, video_config: dict[str, Any], seed: int = 0,
                          captions: tuple[Sequence[str], Sequence[str]] | None = None) -> DiffusionPipeline:
    """A video pipeline built from `video_config` (a profile's video decoder `config`) whose VAE, text
    encoder and spatial UNet weights come from the trained `image` pipeline. With `captions` (the image
    decoder's training captions, the video decoder's), the words only the video captions hold are
    separated in the video decoder's copy of the text encoder (`separate_new_words`)."""
    video = build_random_pipeline("video", video_config, seed=seed)
    _check_heads(image.unet, video.unet)
    copied, tensors = copy_shared_weights(image.unet, video.unet), len(image.unet.state_dict())
    if video_config.get("motion_modules") and copied != tensors:
        raise ValueError(f"the motion UNet took {copied} of the image UNet's {tensors} tensors: give the video "
                         "decoder the image decoder's channels")
    zero_temporal_outputs(video.unet)
    video.register_modules(vae=image.vae, text_encoder=copy.deepcopy(image.text_encoder), tokenizer=image.tokenizer)
    log.info("video decoder: %d UNet tensors, the VAE and the text encoder from the image decoder", copied)
    if captions is not None:
        separate_new_words(video, *captions, seed=seed)
    return video


@dataclass
class Separation:
    words: list[str]
    margin: float  # the median distance between two image captions' embeddings
    before: float  # the smallest distance between two captions that differ only in new words
    after: float


def separate_new_words(video: DiffusionPipeline, known: Sequence[str], captions: Sequence[str], steps: int = 300,
                       learning_rate: float = 0.05, seed: int = 0, longest: float | None = None) -> Separation:
    """Train, in place, the input embeddings of the `video` pipeline's text encoder for the words of
    `captions` that no `known` caption holds, and nothing else, until every two captions that differ only
    in those words are embedded (the whole token sequence the decoder attends to, as its training gets
    it) at least as far apart as the median two `known` captions.
    The new embeddings start random at the known words' mean length and stay no longer than `longest`
    (default: the longest known word's), so they cannot drown out the words around them."""
    text_encoder, tokenizer = video.text_encoder, video.tokenizer
    known_words = {w for c in known for w in c.split()}
    words = [w for w in sorted({w for c in captions for w in c.split()} - known_words)
             if tokenizer.convert_tokens_to_ids(w) != tokenizer.unk_token_id]  # [UNK] is not theirs
    distinct = sorted(set(captions))
    groups: dict[str, list[int]] = {}
    for index, caption in enumerate(distinct):  # captions alike but for their new words
        groups.setdefault(" ".join("_" if w in words else w for w in caption.split()), []).append(index)
    pairs = torch.tensor([p for members in groups.values() for p in itertools.combinations(members, 2)])
    if not words or not len(pairs):
        return Separation(words, 0.0, 0.0, 0.0)

    def embed(texts: Sequence[str]) -> torch.Tensor:
        return _conditioning("video", video, list(texts)).flatten(1).float()

    def closest() -> float:
        with torch.no_grad():
            found = embed(distinct)
        return float((found[pairs[:, 0]] - found[pairs[:, 1]]).norm(dim=1).min())

    was_training = text_encoder.training
    text_encoder.eval().requires_grad_(False)
    with torch.no_grad():
        known_embeddings = embed(sorted(set(known))[:256])
        margin = float(torch.pdist(known_embeddings).median())
    before = closest()
    table = text_encoder.get_input_embeddings().weight
    rows = torch.tensor(tokenizer.convert_tokens_to_ids(words))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # start them at the known words' scale, in random directions
        norms = table[torch.tensor(tokenizer.convert_tokens_to_ids(sorted(known_words)))].norm(dim=1)
        scale, longest = norms.mean(), float(norms.max()) if longest is None else longest
        start = torch.randn(len(words), table.shape[1], generator=generator)
        table[rows] = (start / start.norm(dim=1, keepdim=True) * scale).to(table.dtype)
    table.requires_grad_(True)
    optimizer = torch.optim.Adam([table], lr=learning_rate)
    keep = torch.ones(table.shape[0], dtype=torch.bool)
    keep[rows] = False
    for _ in range(steps):
        found = embed(distinct)
        distances = (found[pairs[:, 0]] - found[pairs[:, 1]]).norm(dim=1)
        loss = torch.relu(margin - distances).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        table.grad[keep] = 0
        optimizer.step()
        with torch.no_grad():  # no longer than the longest known word's
            table[rows] *= (longest / table[rows].norm(dim=1, keepdim=True)).clamp(max=1.0)
    table.requires_grad_(False)
    text_encoder.train(was_training)
    separation = Separation(words, margin, before, closest())
    log.info("video text encoder: %s separated; closest captions %.2f apart, then %.2f (image captions' median %.2f)",
             ", ".join(words), before, separation.after, margin)
    return separation


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
