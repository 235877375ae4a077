"""The perception role: detector, classifier and text reader run on one image, giving a Scene."""

from __future__ import annotations

import time

import numpy as np

from .classifier import ImageClassifier
from .detector import ObjectDetector
from .ocr import TextReader
from .scene import Scene

#: Images are looked at no larger than this on their longer side (a 20-megapixel photo is
#: shrunk first, which the detector and classifier do anyway; OCR keeps enough to read a sign).
MAX_SIDE = 1280


def _shrink(pixels: np.ndarray) -> np.ndarray:
    import cv2

    height, width = pixels.shape[:2]
    scale = MAX_SIDE / max(height, width)
    if scale >= 1:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


class Perceiver:
    """What is in an image: COCO objects with boxes, ImageNet classes, and text."""

    def __init__(self, detector: ObjectDetector, classifier: ImageClassifier, reader: TextReader | None) -> None:
        self.detector = detector
        self.classifier = classifier
        self.reader = reader

    def __call__(self, pixels: np.ndarray, read_text: bool = True, thorough: bool = True) -> Scene:
        """`pixels`: (H, W, 3) uint8 RGB. `read_text` False skips OCR (the slowest part);
        `thorough` False classifies one view, not two (a live camera's frames)."""
        timings: dict[str, float] = {}
        pixels = _shrink(np.ascontiguousarray(pixels))
        started = time.perf_counter()
        detections = self.detector(pixels)
        timings["detect_ms"] = _ms_since(started)
        started = time.perf_counter()
        classes = self.classifier(pixels, both_views=thorough)
        timings["classify_ms"] = _ms_since(started)
        lines = []
        reading = read_text and self.reader is not None
        if reading:
            started = time.perf_counter()
            lines = self.reader(pixels)
            timings["ocr_ms"] = _ms_since(started)
        return Scene(tuple(detections), tuple(classes), tuple(lines), reading, timings)


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
