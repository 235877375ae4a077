"""Training records about world media, in NExT-GPT's formats (see records-spec): varied wording, exact captions.

Every assistant turn that talks about a medium contains its caption verbatim ("a red circle"), and
every placeholder lines up with the record's ``input_*`` entries (human turns) or ``*_captions``
and ``output_*`` entries (assistant turns), in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.world.attributes import DIRECTIONS, Attributes, ImageAttributes, VideoAttributes

KINDS: tuple[str, ...] = ("image", "audio", "video")
PLACEHOLDER: dict[str, str] = {kind: f"<{kind}>" for kind in KINDS}

Record = dict[str, Any]


@dataclass(frozen=True)
class Medium:
    """One rendered medium of the world: its kind, its file (relative to the world folder) and what it shows."""

    kind: str  # "image" | "audio" | "video"
    path: str
    attributes: Attributes

    @property
    def caption(self) -> str:
        return self.attributes.caption


# --- wording ----------------------------------------------------------------------------------

QUESTIONS: dict[str, tuple[str, ...]] = {
    "image": ("What do you see?", "Describe this image.", "What is in the picture?", "What does this image show?"),
    "audio": ("What do you hear?", "Describe this sound.", "What is this sound?", "What does this sound like?"),
    "video": ("What happens in this video?", "Describe the video.", "What does this video show?",
              "What do you see in this clip?"),
}
ANSWERS: dict[str, tuple[str, ...]] = {
    "image": ("{c}.", "It is {c}.", "I see {c}.", "The picture shows {c}."),
    "audio": ("{c}.", "It is {c}.", "I hear {c}.", "That is {c}."),
    "video": ("{c}.", "It is {c}.", "The video shows {c}.", "I see {c}."),
}
REQUESTS: dict[str, tuple[str, ...]] = {
    "image": ("Draw {c}.", "Paint {c}.", "Show me {c}.", "Make {c}.", "Generate {c}.", "Create {c}.",
              "Draw a picture of {c}."),
    "audio": ("Play {c}.", "Make {c}.", "Generate a sound of {c}.", "Play me {c}.", "Make a sound of {c}."),
    "video": ("Animate {c}.", "Make a video of {c}.", "Show me a video of {c}.", "Generate a video of {c}."),
}
REPLIES: tuple[str, ...] = ("Here is {c}. {p}", "Here is {c}: {p}", "Sure, here is {c}. {p}", "This is {c}. {p}")
INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "image": ("Can you draw me {c}?", "I would like a picture of {c}.", "Could you paint {c} for me?",
              "Please show me {c}."),
    "audio": ("Can you play {c}?", "I would like to hear {c}.", "Could you make {c} for me?",
              "Please generate a sound of {c}."),
    "video": ("Can you animate {c}?", "I would like to see a video of {c}.", "Could you make a video of {c}?",
              "Please show me a video of {c}."),
}
INSTRUCTION_REPLIES: dict[str, tuple[str, ...]] = {
    "image": ("Sure, here is {c}. {p}", "Of course! Here is {c}. {p}", "I drew {c} for you. {p}"),
    "audio": ("Sure, here is {c}. {p}", "Of course! Here is {c}. {p}", "I made {c} for you. {p}"),
    "video": ("Sure, here is {c}. {p}", "Of course! Here is {c}. {p}", "I animated {c} for you. {p}"),
}
FOLLOW_UPS: dict[str, tuple[str, ...]] = {  # a later request in a conversation
    "image": ("Now draw {c}.", "Next, paint {c}.", "Can you also show me {c}?", "Now make a picture of {c}."),
    "audio": ("Now play {c}.", "Next, make {c}.", "Can you also generate a sound of {c}?"),
    "video": ("Now animate {c}.", "Next, make a video of {c}.", "Can you also show me a video of {c}?"),
}
# A later request that refers to the shape of the picture or video just seen or made.
SET_IT_MOVING: tuple[str, ...] = ("Now make a video of it moving {d}.", "Animate it moving {d}.",
                                  "Make it move {d} in a video.")
HOLD_IT_STILL: tuple[str, ...] = ("Now draw it standing still.", "Draw that shape as a still picture.",
                                  "Show me the same shape in a picture.")


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _human(text: str) -> dict[str, str]:
    return {"from": "human", "value": text}


def _gpt(text: str) -> dict[str, str]:
    return {"from": "gpt", "value": text}


# --- records ----------------------------------------------------------------------------------


def comprehension_record(medium: Medium, rng: np.random.Generator) -> Record:
    """X → text: the medium as input, a question, and the caption as the answer."""
    kind = medium.kind
    return {
        f"input_{kind}": medium.path,
        "conversations": [
            _human(f"{PLACEHOLDER[kind]}\n{_pick(rng, QUESTIONS[kind])}"),
            _gpt(_pick(rng, ANSWERS[kind]).format(c=medium.caption)),
        ],
    }


def generation_record(medium: Medium, rng: np.random.Generator) -> Record:
    """Text → X: a request naming the caption, and a short reply carrying the output placeholder."""
    kind = medium.kind
    return {
        f"output_{kind}": medium.path,
        f"{kind}_captions": [medium.caption],
        "conversations": [
            _human(_pick(rng, REQUESTS[kind]).format(c=medium.caption)),
            _gpt(_pick(rng, REPLIES).format(c=medium.caption, p=PLACEHOLDER[kind])),
        ],
    }


def instruction_record(medium: Medium, rng: np.random.Generator) -> Record:
    """T-T+X: a conversational request and a text reply plus the medium, with per-turn modalities and caption."""
    kind = medium.kind
    return {
        f"output_{kind}": medium.path,
        f"{kind}_captions": [medium.caption],
        "conversations": [
            {**_human(_pick(rng, INSTRUCTIONS[kind]).format(c=medium.caption)), "input_modality": "text"},
            {**_gpt(_pick(rng, INSTRUCTION_REPLIES[kind]).format(c=medium.caption, p=PLACEHOLDER[kind])),
             "output_modality": kind, "caption": medium.caption},
        ],
    }


class _Conversation:
    """A MosIT record being built one exchange at a time."""

    def __init__(self) -> None:
        self.inputs: dict[str, list[str]] = {kind: [] for kind in KINDS}
        self.outputs: dict[str, list[str]] = {kind: [] for kind in KINDS}
        self.captions: dict[str, list[str]] = {kind: [] for kind in KINDS}
        self.turns: list[dict[str, str]] = []

    def see(self, medium: Medium, rng: np.random.Generator) -> None:
        kind = medium.kind
        self.inputs[kind].append(medium.path)
        self.turns.append(_human(f"{PLACEHOLDER[kind]}\n{_pick(rng, QUESTIONS[kind])}"))
        self.turns.append(_gpt(_pick(rng, ANSWERS[kind]).format(c=medium.caption)))

    def make(self, medium: Medium, request: str, rng: np.random.Generator) -> None:
        kind = medium.kind
        self.outputs[kind].append(medium.path)
        self.captions[kind].append(medium.caption)
        self.turns.append(_human(request))
        self.turns.append(_gpt(_pick(rng, REPLIES).format(c=medium.caption, p=PLACEHOLDER[kind])))

    def record(self) -> Record:
        record: Record = {}
        for kind in KINDS:
            if self.inputs[kind]:
                record[f"input_{kind}"] = self.inputs[kind]
        for kind in KINDS:
            if self.outputs[kind]:
                record[f"output_{kind}"] = self.outputs[kind]
                record[f"{kind}_captions"] = self.captions[kind]
        record["conversations"] = self.turns
        return record


def mosit_record(pool: dict[str, list[Medium]], rng: np.random.Generator) -> Record:
    """A MosIT conversation of 2 or 3 exchanges that switch modality, about media drawn from ``pool``.

    Each exchange either shows the assistant a medium ("see") or asks it for one ("make"); there is
    at least one of each, and no two exchanges in a row share a modality. A picture asked for after
    a video (or a video after a picture) is sometimes asked for by reference ("Now make a video of
    it moving left."), so the assistant must carry the colour and shape across; that needs a medium
    with those attributes in ``pool`` and falls back to naming the caption when there is none.
    """
    steps = _plan(rng)
    by_attributes: dict[Attributes, list[Medium]] = {}
    for media in pool.values():
        for medium in media:
            by_attributes.setdefault(medium.attributes, []).append(medium)
    conversation = _Conversation()
    previous: Medium | None = None
    for index, (action, kind) in enumerate(steps):
        medium: Medium = _pick(rng, pool[kind])
        if action == "see":
            conversation.see(medium, rng)
        else:
            linked = _linked(previous, kind, by_attributes, rng) if rng.random() < 0.5 else None
            if linked is not None:
                medium, request = linked
            else:
                wording = REQUESTS[kind] if index == 0 else FOLLOW_UPS[kind]
                request = _pick(rng, wording).format(c=medium.caption)
            conversation.make(medium, request, rng)
        previous = medium
    return conversation.record()


def _plan(rng: np.random.Generator) -> list[tuple[str, str]]:
    """2 or 3 (action, kind) steps: at least one "see" and one "make", the kind changing every step."""
    while True:
        count = int(rng.integers(2, 4))
        steps: list[tuple[str, str]] = []
        for _ in range(count):
            kinds = [kind for kind in KINDS if not steps or kind != steps[-1][1]]
            steps.append((_pick(rng, ("see", "make")), _pick(rng, kinds)))
        if {action for action, _ in steps} == {"see", "make"}:
            return steps


def _linked(
    previous: Medium | None, kind: str, by_attributes: dict[Attributes, list[Medium]], rng: np.random.Generator
) -> tuple[Medium, str] | None:
    """A medium of ``kind`` showing the previous medium's shape, and a request that refers to it, if possible."""
    if previous is None:
        return None
    if kind == "video" and isinstance(previous.attributes, ImageAttributes):
        still = previous.attributes
        direction = _pick(rng, DIRECTIONS)
        matches = by_attributes.get(VideoAttributes(still.colour, still.shape, direction))
        return None if not matches else (_pick(rng, matches), _pick(rng, SET_IT_MOVING).format(d=direction))
    if kind == "image" and isinstance(previous.attributes, VideoAttributes):
        matches = by_attributes.get(previous.attributes.still)
        return None if not matches else (_pick(rng, matches), _pick(rng, HOLD_IT_STILL))
    return None
