"""ImageNet classification: EfficientNet-Lite0 (Google's TensorFlow model, converted to PyTorch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from .labels import imagenet_kind, read_imagenet_names


@dataclass(frozen=True)
class ImageClass:
    """One of ImageNet's classes: its own name ("Egyptian cat"), the everyday word ("cat"), its probability."""

    name: str
    kind: str
    score: float


class ImageClassifier:
    """EfficientNet-Lite0 over the whole image (squeezed to 224×224, as the Lite models were trained)."""

    def __init__(self, weights: str | Path, names: str | Path, variant: str = "efficientnet-lite0") -> None:
        from efficientnet_lite_pytorch import EfficientNet

        self.names = read_imagenet_names(Path(names))
        model = EfficientNet.from_name(variant)
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        self.model = model.eval().requires_grad_(False)
        self.size = int(model.input_image_size)

    def __call__(self, pixels: np.ndarray, top: int = 5) -> list[ImageClass]:
        """The `top` likeliest classes, likeliest first. `pixels`: (H, W, 3) uint8 RGB."""
        resized = cv2.resize(pixels, (self.size, self.size), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy((resized.astype(np.float32) - 127.0) / 128.0).permute(2, 0, 1)[None]
        with torch.inference_mode():
            probs = self.model(x).softmax(-1)[0]
        values, indices = probs.topk(top)
        return [ImageClass(self.names[i], imagenet_kind(i, self.names[i]), float(v))
                for v, i in zip(values.tolist(), indices.tolist(), strict=True)]
