"""From records to what one training step consumes: token ids, encoder features, MSE targets."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..modality import Modality
from .caption_targets import CaptionTargets
from .media_features import MediaFeatures
from .records import Example
from .sequences import MediaSlot, SequenceBuilder


@dataclass
class PreparedItem:
    """One example: pieces in order (token ids, or a medium's encoder features), the labels of
    each token piece (None for media), and the decoder embedding of each signal group's caption."""

    source: str
    text_only: bool = False  # no media in or out: the base LLM's answers are a fair anchor
    pieces: list[torch.Tensor | tuple[Modality, torch.Tensor]] = field(default_factory=list)
    labels: list[torch.Tensor | None] = field(default_factory=list)
    targets: list[tuple[Modality, torch.Tensor]] = field(default_factory=list)


class Collator:
    """The DataLoader's `collate_fn`: a list of `Example`s to a list of `PreparedItem`s."""

    def __init__(
        self, builder: SequenceBuilder, features: MediaFeatures, captions: CaptionTargets | None
    ) -> None:
        self.builder = builder
        self.features = features
        self.captions = captions  # None: this stage has no MSE term, targets are not needed

    def __call__(self, examples: list[Example]) -> list[PreparedItem]:
        return [self.prepare(example) for example in examples]

    def prepare(self, example: Example) -> PreparedItem:
        sequence = self.builder.build(example)
        item = PreparedItem(sequence.source, example.kind == "text")
        for piece, labels in zip(sequence.pieces, sequence.labels, strict=True):
            if isinstance(piece, MediaSlot):
                item.pieces.append((piece.modality, self.features.features(piece.modality, piece.path)))
                item.labels.append(None)
            else:
                item.pieces.append(torch.tensor(piece, dtype=torch.long))
                item.labels.append(torch.tensor(labels, dtype=torch.long))
        if self.captions is not None:
            item.targets = [(t.modality, self.captions.target(t.modality, t.caption, t.embedding))
                            for t in sequence.targets]
        return item
