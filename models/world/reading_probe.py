"""`reading_probe`: can a model read each attribute of a medium, with no text generated at all?

For each held-out captioning record the reference answer is scored as it is and with one attribute's
word swapped for each other value ("… moving right" against "… moving left", "up", "down"): the
teacher-forced cross-entropy of the answer, one forward pass each. The model reads the attribute
when the true answer scores best. It needs no decoding, so a few dozen records take about a minute
on 2 cores, and `world train` records it after each step that trains the input side: a build whose
LLM cannot tell a clip's direction shows it there, hours before `eval --suite world` would.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path

import torch

from models.modality import Modality
from models.model_set import ModelSet
from models.profile import load_profile
from models.training.api import load_training_data
from models.training.batches import Collator
from models.training.media_features import MediaFeatures
from models.training.records import Example
from models.training.sequences import SequenceBuilder
from models.training.trainer import TrainSettings, build_trainee
from models.world.attributes import Attributes
from models.world.evaluation import HELDOUT, attributes_in
from models.world.judges import VOCABULARY
from models.world.records import KINDS
from models.world.report import Score

log = logging.getLogger(__name__)


def reading_probe(profile: str | Path, adapters: Path | None, world: Path, kinds: tuple[str, ...] = KINDS,
                  count: int = 16) -> dict[str, Score]:
    """"video direction", "image colour", …: how often the model with ``adapters`` (None: the
    profile's own) scores the true answer of the first ``count`` held-out captioning records of each
    of ``kinds`` below every answer with one attribute swapped."""
    files = [world / HELDOUT / f"{kind}_comprehension.json" for kind in kinds]
    examples = load_training_data(files, world).examples
    chosen = {kind: [e for e in examples if e.turns[0].inputs[0].modality == Modality(kind)][:count]
              for kind in kinds}
    torch.manual_seed(0)  # projectors an adapters folder lacks start from the same random weights each time
    found = load_profile(profile)
    adapters = adapters or found.adapters
    models = ModelSet(replace(found, adapters=adapters), apply_llm_adapters=False)
    plain = [e for group in chosen.values() for e in group]
    trainee = build_trainee(models, plain, TrainSettings(stage=3, parts=["input_projectors"]), adapters)
    trainee.eval()
    collate = Collator(SequenceBuilder(models.llm(), trainee.plan.label_scope), MediaFeatures(models), None)

    def loss(example: Example) -> float:
        return float(trainee(collate([example]))["loss"])

    scores: dict[str, Score] = {}
    with torch.no_grad():
        for kind, group in chosen.items():
            for example in group:
                answer = example.turns[-1].text
                truth = attributes_in(kind, answer, example.source)
                true_loss = loss(example)
                for attribute, value in asdict(truth).items():
                    rivals = [loss(_with_answer(example, _swapped(answer, truth, attribute, other)))
                              for other in VOCABULARY[attribute] if other != value]
                    scores.setdefault(f"{kind} {attribute}", Score()).add(
                        true_loss < min(rivals), {"source": example.source, "answer": answer})
    log.info("reading probe: %s", {name: f"{s.correct}/{s.total}" for name, s in scores.items()})
    return scores


def _swapped(answer: str, truth: Attributes, attribute: str, value: str) -> str:
    """``answer`` with ``truth``'s caption in it naming ``value`` for ``attribute`` (its case kept)."""
    start = answer.lower().index(truth.caption)
    other = replace(truth, **{attribute: value}).caption
    if answer[start].isupper():
        other = other[0].upper() + other[1:]
    return answer[:start] + other + answer[start + len(truth.caption):]


def _with_answer(example: Example, answer: str) -> Example:
    return replace(example, turns=(*example.turns[:-1], replace(example.turns[-1], text=answer)))
