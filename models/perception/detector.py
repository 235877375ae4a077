"""COCO object detection: SSD-MobileNet-v2 (TensorFlow's object-detection zoo) through OpenCV's DNN."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .labels import COCO_LABELS

GRAPH = "frozen_inference_graph.pb"
GRAPH_TEXT = "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"


@dataclass(frozen=True)
class Detection:
    """One object found: its COCO label, the detector's score, and its box as fractions of the
    image (left, top, right, bottom), so it holds at any resolution."""

    label: str
    score: float
    box: tuple[float, float, float, float]

    @property
    def area(self) -> float:
        left, top, right, bottom = self.box
        return max(0.0, right - left) * max(0.0, bottom - top)

    @property
    def centre_x(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "score": round(self.score, 3), "box": [round(v, 4) for v in self.box]}


class ObjectDetector:
    """Finds COCO's 80 kinds of object in an RGB image; OpenCV's network is not thread-safe, so
    calls take turns."""

    input_size = 300

    def __init__(self, folder: str | Path, min_score: float = 0.4) -> None:
        folder = Path(folder)
        self.net = cv2.dnn.readNetFromTensorflow(str(folder / GRAPH), str(folder / GRAPH_TEXT))
        self.min_score = min_score
        self._lock = threading.Lock()

    def __call__(self, pixels: np.ndarray) -> list[Detection]:
        """Detections of at least `min_score`, best first. `pixels`: (H, W, 3) uint8 RGB."""
        blob = cv2.dnn.blobFromImage(pixels, size=(self.input_size, self.input_size), swapRB=False)
        with self._lock:
            self.net.setInput(blob)
            out = self.net.forward()
        found = []
        for _, class_id, score, *box in out[0, 0]:
            label = COCO_LABELS.get(int(class_id))
            if label is None or score < self.min_score:
                continue
            left, top, right, bottom = (float(np.clip(v, 0.0, 1.0)) for v in box)
            if right > left and bottom > top:
                found.append(Detection(label, float(score), (left, top, right, bottom)))
        return sorted(found, key=lambda d: -d.score)
