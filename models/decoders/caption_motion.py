"""AnimateDiff motion modules that read the caption.

In AnimateDiff (diffusers' UNetMotionModel) the caption reaches only the spatial layers, which see
each frame alone; the motion modules, which alone know each frame's place, attend across the frames
and never see the text. A decoder built so learns a motion's axis (the spatial layers can draw a
shape smeared along it) but not its sign: the world's "moving left" and "moving right" came out alike.

`read_caption` turns the second attention of each motion module whose width is the caption's into a
cross-attention from the frames (with their sinusoidal positions) to the caption's tokens, so the word
"left" can tell the frame at position t where to be. No weight is added or reshaped (that attention
is a C-to-C self-attention, and C equals the caption width), so the pipeline still saves and loads
through diffusers as it is; what changes is the attention's processor, which the folder records in
`caption_motion.json` so that `restore` puts it back after `from_pretrained`.

On the synthetic world it is not the fix alone: the decoder's loss at the noisiest step stayed the
same with the sign word swapped until half of each batch came from the noisiest timesteps
(`DecoderTrainingOptions.noisiest_share`); together they learn the sign (docs/world.md). That is
`world train`'s recipe (`build.decoder_follow_ups`).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import torch
from diffusers import UNetMotionModel
from diffusers.models.attention_processor import AttnProcessor2_0

log = logging.getLogger(__name__)

MARKER = "caption_motion.json"


class _Captions(threading.local):
    """The caption of each video of the UNet call running on this thread: (videos, tokens, width)."""

    tokens: torch.Tensor | None = None


class CaptionMotionProcessor(AttnProcessor2_0):
    """Attention from each pixel's frames to its video's caption tokens."""

    def __init__(self, captions: _Captions) -> None:
        super().__init__()
        self.captions = captions

    def __call__(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 *args: Any, **kwargs: Any) -> torch.Tensor:
        tokens = self.captions.tokens
        if tokens is None:
            raise RuntimeError("a caption-reading motion module ran outside a UNet call that gave the caption")
        # the motion module lays out (videos * height * width, frames, channels), videos outermost
        repeated = tokens.repeat_interleave(hidden_states.shape[0] // tokens.shape[0], dim=0)
        return super().__call__(attn, hidden_states, repeated.to(hidden_states.dtype), *args, **kwargs)


def _keep_captions(captions: _Captions):
    def hook(_: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        sample = kwargs["sample"] if "sample" in kwargs else args[0]
        text = kwargs["encoder_hidden_states"] if "encoder_hidden_states" in kwargs else args[2]
        # the pipeline and the training give each frame its video's caption: keep one per video
        captions.tokens = text[:: sample.shape[2]]
    return hook


def _motion_attentions(unet: torch.nn.Module) -> dict[str, Any]:
    return {name: module for name, module in unet.named_modules()
            if ".motion_modules." in name and name.endswith(".attn2")}


def caption_readers(unet: torch.nn.Module) -> list[str]:
    """The motion attentions of `unet` that read the caption (none for a plain UNetMotionModel)."""
    return [name for name, attention in _motion_attentions(unet).items()
            if isinstance(attention.processor, CaptionMotionProcessor)]


def read_caption(unet: UNetMotionModel) -> list[str]:
    """Make, in place, every motion module of `unet` as wide as its caption attend to the caption with
    its second attention; returns their names. Calling it again changes nothing."""
    if not isinstance(unet, UNetMotionModel):
        raise ValueError("caption-reading motion modules need AnimateDiff's UNetMotionModel, "
                         f"not {type(unet).__name__}")
    if readers := caption_readers(unet):
        return readers
    width = int(unet.config.cross_attention_dim)
    chosen = {name: attention for name, attention in _motion_attentions(unet).items()
              if attention.to_k.in_features == width}
    if not chosen:
        raise ValueError(f"no motion module is as wide as the caption ({width}): give a UNet block {width} channels")
    captions = _Captions()
    for attention in chosen.values():
        attention.set_processor(CaptionMotionProcessor(captions))
    unet.register_forward_pre_hook(_keep_captions(captions), with_kwargs=True)
    log.info("motion modules reading the caption: %s", ", ".join(chosen))
    return list(chosen)


def start_reading_caption(unet: UNetMotionModel) -> list[str]:
    """`read_caption` for a UNet whose motion modules were trained without it. Their second attention was
    trained as a self-attention across the frames, which read as a cross-attention to the caption means
    nothing, so its output projection is zeroed (as a new motion module's is): the caption reaches the
    motion modules only as training teaches it to, and everything else the UNet learnt stays."""
    readers = read_caption(unet)
    modules = dict(unet.named_modules())
    with torch.no_grad():
        for name in readers:
            modules[name].to_out[0].weight.zero_()
            modules[name].to_out[0].bias.zero_()
    return readers


def save_marker(pipeline: Any, folder: Path) -> None:
    """Record in a saved pipeline's `folder` which motion modules read the caption, if any do."""
    if readers := caption_readers(pipeline.unet):  # none for any other UNet
        (Path(folder) / MARKER).write_text(json.dumps({"motion_modules": readers}, indent=1), encoding="utf-8")


def restore(pipeline: Any, location: str | Path) -> Any:
    """After `from_pretrained(location)`: make the motion modules `location`'s marker names read the caption
    again. A pipeline without the marker is returned as it is."""
    marker = Path(location) / MARKER
    if not marker.is_file():
        return pipeline
    wanted = json.loads(marker.read_text(encoding="utf-8"))["motion_modules"]
    readers = read_caption(pipeline.unet)
    if sorted(readers) != sorted(wanted):
        raise ValueError(f"{marker} names motion modules {wanted}, the UNet's caption-wide ones are {readers}")
    return pipeline
