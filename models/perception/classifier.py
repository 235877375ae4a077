"""ImageNet classification: EfficientNet-Lite0 (Google's TensorFlow model, converted to PyTorch)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from .labels import imagenet_kind, read_imagenet_names


@dataclass(frozen=True)
class ImageClass:
    """A kind of thing in the picture: the everyday word ("cat"), the likeliest of ImageNet's
    classes of that kind ("Egyptian cat"), the kind's summed probability and that class's own."""

    name: str
    kind: str
    score: float
    best: float = 1.0


class ImageClassifier:
    """EfficientNet-Lite0 over two views of the image, the whole of it squeezed to 224×224 and its
    central square, probabilities averaged; then summed over the classes one everyday word covers
    (118 dog breeds are one "dog"), so a kind wins even when its breeds split the vote."""

    def __init__(self, weights: str | Path, names: str | Path, variant: str = "efficientnet-lite0") -> None:
        from efficientnet_lite_pytorch import EfficientNet

        self.names = read_imagenet_names(Path(names))
        model = EfficientNet.from_name(variant)
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        self.model = model.eval().requires_grad_(False)
        self.size = int(model.input_image_size)
        kinds = [imagenet_kind(i, name) for i, name in enumerate(self.names)]
        self.kinds = sorted(set(kinds))
        self.kind_of = torch.tensor([self.kinds.index(kind) for kind in kinds])

    def _views(self, pixels: np.ndarray, both: bool) -> torch.Tensor:
        height, width = pixels.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        views = [pixels, pixels[top:top + side, left:left + side]] if both else [pixels]
        resized = [cv2.resize(v, (self.size, self.size), interpolation=cv2.INTER_AREA) for v in views]
        return torch.from_numpy((np.stack(resized).astype(np.float32) - 127.0) / 128.0).permute(0, 3, 1, 2)

    def __call__(self, pixels: np.ndarray, top: int = 5, both_views: bool = True) -> list[ImageClass]:
        """The `top` likeliest kinds, likeliest first, each named by its likeliest class.
        `pixels`: (H, W, 3) uint8 RGB; `both_views` False looks at the whole image only (half the
        time, for a live camera's frames)."""
        with torch.inference_mode(), _one_torch_thread():
            probs = self.model(self._views(pixels, both_views)).softmax(-1).mean(0)
        by_kind = torch.zeros(len(self.kinds)).index_add_(0, self.kind_of, probs)
        values, kinds = by_kind.topk(top)
        found = []
        for value, kind in zip(values.tolist(), kinds.tolist(), strict=True):
            members = torch.where(self.kind_of == kind, probs, torch.zeros_like(probs))
            best = int(members.argmax())
            found.append(ImageClass(self.names[best], self.kinds[kind], float(value), float(probs[best])))
        return found


_THREADS = threading.Lock()


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Runs the small classifier on one thread. On two threads it was barely faster, and when
    anything else kept a core busy its threads waited on each other: 25 ms became 2.3 s."""
    with _THREADS:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)
