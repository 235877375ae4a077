"""Screenshots of widgets for tests: saved under tests/artifacts/ so a person can look at them, and a
check that a screenshot is not one flat colour (a widget that drew nothing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QApplication, QWidget

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
"""tests/artifacts: where screenshots go (git-ignored)."""


def save_screenshot(widget: QWidget, name: str) -> Path:
    """Renders `widget.grab()` to tests/artifacts/<name>.png (creating the folder), after pending layout
    and paint events; returns the path."""
    QApplication.processEvents()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path


def is_blank(path: str | Path, tolerance: float = 2.0) -> bool:
    """True when the image is essentially one colour: its pixels' standard deviation is under `tolerance`."""
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    return bool(pixels.size == 0 or pixels.std() < tolerance)
