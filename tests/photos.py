"""Real photos that ship inside PyPI wheels (scikit-image, scikit-learn, matplotlib), for tests
that need a real camera's picture rather than a rendered one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image


def package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed (requirements-dev.txt)"
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)


PHOTOS = {
    "cat": ("skimage", "data", "chelsea.png"),
    "astronaut": ("skimage", "data", "astronaut.png"),
    "coffee": ("skimage", "data", "coffee.png"),
    "motorcycle": ("skimage", "data", "motorcycle_left.png"),
    "cameraman": ("skimage", "data", "camera.png"),
    "horse_silhouette": ("skimage", "data", "horse.png"),
    "chessboard": ("skimage", "data", "chessboard_RGB.png"),
    "page": ("skimage", "data", "page.png"),
    "china": ("sklearn", "datasets", "images", "china.jpg"),
    "hopper": ("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"),
}


def photo_path(name: str) -> Path:
    return package_file(*PHOTOS[name])


def photo(name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB pixels of one of PHOTOS."""
    return np.asarray(Image.open(photo_path(name)).convert("RGB"))
