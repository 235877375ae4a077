"""Fitting the output projectors' target statistics before they first train (see `OutputProjector`).

The mean and spread come from the conditionings of the captions the data asks for, each caption
counted once, so a caption repeated in many records does not outweigh the rest.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..modality import Modality
from ..projectors import OutputProjector
from .caption_targets import CaptionTargets
from .records import Example

log = logging.getLogger(__name__)
MAX_CAPTIONS = 4096  # enough for a stable mean and spread; a big corpus is sampled in record order


def fit_output_projectors(
    projectors: dict[Modality, OutputProjector], examples: list[Example], targets: CaptionTargets
) -> None:
    """Fit each projector that is built to standardise and has not been fitted (a projector trained
    in an earlier stage keeps the statistics it learnt against)."""
    for modality, projector in projectors.items():
        if not projector.needs_fit:
            continue
        captions: dict[str, Path | None] = {}
        for example in examples:
            for turn in example.turns:
                for output in turn.outputs:
                    if output.modality is modality and len(captions) < MAX_CAPTIONS:
                        captions.setdefault(output.caption, output.embedding)
        if not captions:
            continue
        stacked = torch.stack([targets.target(modality, caption, embedding) for caption, embedding in captions.items()])
        projector.fit_targets(stacked)
        log.info("%s output projector: target statistics from %d captions (spread %.4f)",
                 modality.value, len(captions), float(projector.target_scale))
