"""The world evaluation's figures, their goals, and the table that shows them side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FAILURE_EXAMPLES = 3  # failed items kept per figure, to show what went wrong

#: The goal of every figure: the least share of items right that counts as good enough.
GOALS: dict[str, float] = {
    "captioning image": 0.95,
    "captioning audio": 0.95,
    "captioning video": 0.95,
    "generation image colour": 0.95,
    "generation image shape": 0.90,
    "generation sound pitch": 0.95,
    "generation sound pattern": 0.90,
    "generation video direction": 0.90,
    "generation video colour": 0.95,
    "generation video shape": 0.90,
    "modality switching": 0.98,
    "general chat": 1.0,  # none lost
}


@dataclass
class Score:
    """How many items of one figure were right, of how many, and a few of the failures."""

    correct: int = 0
    total: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def add(self, right: bool, failure: dict[str, Any]) -> None:
        """Count one item; keep ``failure`` (what was asked, expected and got) among the first few failures."""
        self.total += 1
        if right:
            self.correct += 1
        elif len(self.failures) < FAILURE_EXAMPLES:
            self.failures.append(failure)

    @property
    def accuracy(self) -> float | None:
        """The share of items right, or None when there were none."""
        return self.correct / self.total if self.total else None

    def reaches(self, goal: float) -> bool | None:
        """Whether the share right reaches ``goal``; None when there were no items."""
        return None if self.accuracy is None else self.accuracy >= goal - 1e-12

    def as_figure(self, goal: float) -> dict[str, Any]:
        """The figure as a report's JSON holds it: its counts, share, goal, verdict and failures."""
        return {"accuracy": self.accuracy, "correct": self.correct, "total": self.total, "goal": goal,
                "met": self.reaches(goal), "failures": self.failures}


@dataclass
class WorldReport:
    """Every figure of one world evaluation, with what it ran on and how long it took."""

    profile: str
    weights: dict[str, dict[str, Any]]  # role → where its weights came from (``WeightSource.as_dict``)
    world: str  # the world folder; the held-out split was evaluated
    limit: int | None  # at most this many items per figure
    captioning: dict[str, Score]  # modality ("image", "audio", "video") → medium in, caption out
    generation: dict[str, Score]  # "image colour", "sound pitch", … → caption in, medium out, judged by measuring
    switching: Score  # turns whose signalled outputs match the reference answer's outputs
    chat: Score  # general questions answered with their keyword
    chat_lost: list[str] = field(default_factory=list)  # every general question answered wrong
    chat_signals: int = 0  # general answers in which the model signalled media nobody asked for
    seconds: float = 0.0
    section_seconds: dict[str, float] = field(default_factory=dict)

    def scores(self) -> dict[str, Score]:
        """Every figure by its name in GOALS, in table order."""
        return {
            **{f"captioning {name}": score for name, score in self.captioning.items()},
            **{f"generation {name}": score for name, score in self.generation.items()},
            "modality switching": self.switching,
            "general chat": self.chat,
        }

    def as_dict(self) -> dict[str, Any]:
        figures = {name: score.as_figure(GOALS[name]) for name, score in self.scores().items()}
        return {
            "suite": "world", "profile": self.profile, "weights": self.weights, "world": self.world,
            "limit": self.limit, "figures": figures, "chat_lost": self.chat_lost, "chat_signals": self.chat_signals,
            "seconds": round(self.seconds, 1),
            "section_seconds": {name: round(value, 1) for name, value in self.section_seconds.items()},
        }


def figure_rows(scores: dict[str, Score], goals: dict[str, float]) -> list[str]:
    """A header and one row per figure: its score, items right, goal and whether it is met."""
    rows = [f"{'figure':<28} {'score':>7} {'right':>11}  {'goal':<10} met"]
    for name, score in scores.items():
        accuracy = "n/a" if score.accuracy is None else f"{score.accuracy:.1%}"
        verdict = {True: "yes", False: "NO", None: "-"}[score.reaches(goals[name])]
        goal = "none lost" if goals[name] >= 1.0 else f">= {goals[name]:.0%}"
        rows.append(f"{name:<28} {accuracy:>7} {f'{score.correct}/{score.total}':>11}  {goal:<10} {verdict}")
    return rows


def format_table(report: WorldReport) -> str:
    """The figures as a table, each beside its goal, then the lost chat questions, the time and the weights."""
    limit = "every item" if report.limit is None else f"at most {report.limit} items per figure"
    lines = [f"world evaluation: profile {report.profile}, held-out split of {report.world}, {limit}", "",
             *figure_rows(report.scores(), GOALS), ""]
    if report.chat_lost:
        lines.append("general questions lost: " + "; ".join(report.chat_lost))
    lines.append(f"general answers that signalled media: {report.chat_signals} of {report.chat.total}")
    sections = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.section_seconds.items())
    lines.append(f"took {report.seconds:.1f} s ({sections})")
    untrained = sorted(role for role, source in report.weights.items() if not source.get("trained"))
    if untrained:
        lines.append(f"untrained (random weights): {', '.join(untrained)}")
    return "\n".join(lines) + "\n"
