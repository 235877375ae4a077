"""Reading text in images: PP-OCRv4 (PaddleOCR's detection, orientation and recognition networks) through
RapidOCR's ONNX Runtime pipeline."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextLine:
    """One line of text read: the text, the recogniser's confidence, its box as image fractions."""

    text: str
    score: float
    box: tuple[float, float, float, float]


class TextReader:
    """Reads the lines of text in an RGB image, top to bottom."""

    def __init__(self, folder: str | Path, min_score: float = 0.6) -> None:
        from rapidocr_onnxruntime import RapidOCR

        folder = Path(folder)
        self.engine = RapidOCR(
            det_model_path=str(folder / "ch_PP-OCRv4_det_infer.onnx"),
            rec_model_path=str(folder / "ch_PP-OCRv4_rec_infer.onnx"),
            cls_model_path=str(folder / "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
        )
        self.min_score = min_score

    def __call__(self, pixels: np.ndarray) -> list[TextLine]:
        height, width = pixels.shape[:2]
        if min(height, width) < 8:  # nothing legible, and the detector's resizing fails on slivers
            return []
        result, _ = self.engine(np.ascontiguousarray(pixels[:, :, ::-1]))  # RapidOCR reads BGR, as OpenCV
        lines = []
        for corners, text, score in result or []:
            text = str(text).strip()
            if not text or float(score) < self.min_score:
                continue
            xs, ys = [p[0] for p in corners], [p[1] for p in corners]
            box = (min(xs) / width, min(ys) / height, max(xs) / width, max(ys) / height)
            lines.append(TextLine(text, float(score), tuple(float(np.clip(v, 0, 1)) for v in box)))
        return reading_order(lines)


def reading_order(lines: list[TextLine]) -> list[TextLine]:
    """Boxes in the order a person reads them: rows top to bottom, each row left to right. Two
    boxes share a row when their vertical centres are within half the taller one's height, so
    a slightly tilted sign whose words were found apart still reads "Room 204", not "204 Room"."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda line: (line.box[1] + line.box[3]) / 2):
        centre = (line.box[1] + line.box[3]) / 2
        row = rows[-1] if rows else None
        if row is not None:
            last = row[-1]
            height = max(last.box[3] - last.box[1], line.box[3] - line.box[1])
            if abs(centre - (last.box[1] + last.box[3]) / 2) <= height / 2:
                row.append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda line: line.box[0])]
