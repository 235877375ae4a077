"""An image encoder on a CLIP or SigLIP vision tower (transformers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import (
    AutoImageProcessor,
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    CLIPVisionModel,
    SiglipVisionModel,
)

from ..device import Placement
from ..media import ImageData

_TOWERS = {"clip": CLIPVisionModel, "siglip": SiglipVisionModel}


class VisionTowerEncoder:
    """Image in, the vision tower's last hidden states out (class token first, then patches)."""

    def __init__(self, model: torch.nn.Module, processor: Any, placement: Placement) -> None:
        self.model = model.to(placement.device, placement.dtype).eval().requires_grad_(False)
        self.processor = processor
        self.placement = placement
        self.feature_dim = int(model.config.hidden_size)

    @classmethod
    def from_config(cls, config: dict[str, Any], placement: Placement, seed: int = 0) -> VisionTowerEncoder:
        torch.manual_seed(seed)
        vision = CLIPVisionConfig(**{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                                     "num_attention_heads": 4, "image_size": 64, "patch_size": 8, **config})
        return cls(CLIPVisionModel(vision), _processor_for(vision.image_size), placement)

    @classmethod
    def from_pretrained(cls, location: str, kind: str, placement: Placement) -> VisionTowerEncoder:
        tower = _TOWERS.get(kind or "clip")
        if tower is None:
            raise ValueError(f"image encoder kind {kind!r}: choose clip or siglip")
        model = tower.from_pretrained(location, dtype=placement.dtype)
        try:
            processor = AutoImageProcessor.from_pretrained(location)
        except OSError:  # a folder saved without a processor: CLIP's at the tower's size
            processor = _processor_for(model.config.image_size)
        return cls(model, processor, placement)

    def save_pretrained(self, folder: str) -> None:
        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)

    def pixel_values(self, images: list[np.ndarray]) -> torch.Tensor:
        values = self.processor(images=images, return_tensors="pt")["pixel_values"]
        return values.to(self.placement.device, self.placement.dtype)

    @torch.inference_mode()
    def encode(self, media: ImageData) -> torch.Tensor:
        return self.model(pixel_values=self.pixel_values([media.pixels])).last_hidden_state[0].float()

    @torch.inference_mode()
    def encode_pooled(self, images: list[np.ndarray]) -> torch.Tensor:
        """One pooled vector per image: (len(images), feature_dim)."""
        return self.model(pixel_values=self.pixel_values(images)).pooler_output.float()


def _processor_for(size: int) -> CLIPImageProcessorPil:
    return CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
