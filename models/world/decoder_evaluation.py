"""`evaluate_decoders`: each decoder of a profile on its own, asked for every caption the world has.

The world suite's generation figures judge the whole chain (the LLM's signal tokens, the output
projector, the decoder); when one falls short they cannot say which link did. Here each decoder
gets its own text encoder's embedding of every world caption (12 images, 6 sounds, 48 videos),
exactly where an output projector's conditioning would go, once per seed, and the analysers
measure what it made, attribute by attribute, with the generation figures' goals. A decoder that
misses a goal here cannot meet it through any projector.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from models.errors import InputError
from models.modality import Modality
from models.world.attributes import EVERY, Attributes
from models.world.evaluation import GENERATION_FIGURES
from models.world.judges import measure
from models.world.report import GOALS, Score, figure_rows

if TYPE_CHECKING:
    from models.model_set import ModelSet

log = logging.getLogger(__name__)

SEEDS = (0, 1)  # each caption decoded once per seed: 24 images, 12 sounds, 96 videos

Progress = Callable[[str, int, int], None]  # (section, items done, items in the section)


@dataclass
class DecoderReport:
    """Every decoder figure of one profile, with where the decoders' weights came from."""

    profile: str
    weights: dict[str, dict[str, Any]]  # decoder role → its WeightSource.as_dict()
    limit: int | None  # at most this many captions per decoder
    seeds: tuple[int, ...]
    scores: dict[str, Score] = field(default_factory=dict)  # "video direction", … (no decoder: absent)
    seconds: float = 0.0

    def goals(self) -> dict[str, float]:
        """Each figure's goal: the goal of the generation figure of the same name."""
        return {name: GOALS[f"generation {name}"] for name in self.scores}

    def as_dict(self) -> dict[str, Any]:
        goals = self.goals()
        figures = {name: score.as_figure(goals[name]) for name, score in self.scores.items()}
        return {"suite": "decoders", "profile": self.profile, "weights": self.weights, "limit": self.limit,
                "seeds": list(self.seeds), "figures": figures, "seconds": round(self.seconds, 1)}


def evaluate_decoders(models: ModelSet, limit: int | None = None, progress: Progress | None = None,
                      seeds: tuple[int, ...] = SEEDS) -> DecoderReport:
    """Every decoder ``models``' profile has, on every world caption of its kind (``limit``: at most
    that many, spread over the attributes by a fixed shuffle), once per seed."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError(f"the limit must be a positive number of captions, not {limit!r}")
    progress = progress or (lambda section, done, total: None)
    roles = [f"{kind}_decoder" for kind in GENERATION_FIGURES if models.has(f"{kind}_decoder")]
    if not roles:
        raise InputError(f"profile {models.profile.name!r} has no decoders to evaluate")
    sources = models.sources()
    report = DecoderReport(models.profile.name, {role: sources[role].as_dict() for role in roles}, limit,
                           tuple(seeds))
    started = time.perf_counter()
    for role in roles:
        kind = role.removesuffix("_decoder")
        label, attributes = GENERATION_FIGURES[kind]
        scores = judge_decoder(models.decoder(Modality(kind)), sampled(EVERY[kind], limit), attributes, seeds,
                               partial(progress, f"decoder {label}"))
        report.scores.update({f"{label} {attribute}": score for attribute, score in scores.items()})
    report.seconds = time.perf_counter() - started
    log.info("decoder evaluation of %s took %.1f s", report.profile, report.seconds)
    return report


def sampled(every: list[Attributes], limit: int | None) -> list[Attributes]:
    """``every`` caption, or ``limit`` of them drawn by a fixed shuffle (the first few would all share
    their first attributes: every() varies the last one fastest)."""
    return every if limit is None or limit >= len(every) else random.Random(0).sample(every, limit)


def judge_decoder(decoder: Any, wanted: list[Attributes], attributes: tuple[str, ...],
                  seeds: tuple[int, ...] = SEEDS, progress: Callable[[int, int], None] | None = None
                  ) -> dict[str, Score]:
    """Decode each of ``wanted``'s captions (its text encoder's embedding) once per seed; score each
    of ``attributes`` by what the analysers measure in the result."""
    scores = {attribute: Score() for attribute in attributes}
    embeddings = decoder.text_embeddings([item.caption for item in wanted])
    total = len(wanted) * len(seeds)
    done = 0
    if progress:
        progress(done, total)
    for item, embedding in zip(wanted, embeddings, strict=True):
        for seed in seeds:
            found = measure(item, decoder(embedding, seed=seed))
            for attribute in attributes:
                scores[attribute].add(found[attribute] == getattr(item, attribute),
                                      {"caption": item.caption, "seed": seed, "measured": found})
            done += 1
            if progress:
                progress(done, total)
    return scores


def format_decoder_table(report: DecoderReport) -> str:
    """The decoder figures as a table, each beside its goal, then the time and the weights."""
    limit = "every caption" if report.limit is None else f"at most {report.limit} captions per decoder"
    seeds = ", ".join(str(seed) for seed in report.seeds)
    lines = [f"decoder evaluation: profile {report.profile}, {limit}, seeds {seeds}", "",
             *figure_rows(report.scores, report.goals()), ""]
    lines.append(f"took {report.seconds:.1f} s")
    for role, source in report.weights.items():
        trained = "trained" if source.get("trained") else "untrained (random weights)"
        lines.append(f"{role}: {trained}, {source.get('location')}")
    return "\n".join(lines) + "\n"
