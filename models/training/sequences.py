"""A training example as the LLM sees it: token pieces, media slots, labels and signal targets.

The conversation goes through the same chat template as at inference (`SignalLLM.render`),
turn by turn, so the prompt the model learns on is the prompt it will be given. In user turns
each `<image>`/`<audio>`/`<video>` becomes a media slot (filled with projected encoder features
at training time); in assistant turns each output placeholder becomes that modality's signal
group (`[IMG0]…[IMG3]`), whose hidden states the output projector learns to map onto the
caption's decoder embedding. Only assistant tokens are labelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..modality import Modality
from ..signal_llm import PLACEHOLDERS, SignalLLM, split_placeholders
from .records import Example, RecordError

IGNORE = -100  # the label of a position that is not learned (prompt, media, padding)
_PLACEHOLDER_MODALITY = {text: modality for modality, text in PLACEHOLDERS.items()}


@dataclass(frozen=True)
class MediaSlot:
    modality: Modality
    path: Path


@dataclass(frozen=True)
class SignalTarget:
    modality: Modality
    caption: str
    embedding: Path | None  # a `.npy` of the caption's decoder embedding, computed when missing


@dataclass
class TokenSequence:
    """Pieces in order: token ids with their labels, or a media slot (labels None)."""

    source: str
    pieces: list[list[int] | MediaSlot] = field(default_factory=list)
    labels: list[list[int] | None] = field(default_factory=list)
    targets: list[SignalTarget] = field(default_factory=list)  # in the order their groups appear

    def add_tokens(self, ids: list[int], labels: list[int]) -> None:
        if ids:
            self.pieces.append(ids)
            self.labels.append(labels)

    def add_media(self, slot: MediaSlot) -> None:
        self.pieces.append(slot)
        self.labels.append(None)

    @property
    def media(self) -> list[MediaSlot]:
        return [piece for piece in self.pieces if isinstance(piece, MediaSlot)]


class SequenceBuilder:
    """Turns `Example`s into `TokenSequence`s for one LLM.

    `label_scope` "answers" labels every assistant token; "signals" only the signal tokens
    (decoder-side alignment learns when to emit a group, not the words around it)."""

    def __init__(self, llm: SignalLLM, label_scope: str = "answers") -> None:
        if label_scope not in ("answers", "signals"):
            raise ValueError(f"label_scope {label_scope!r}: choose answers or signals")
        self.llm = llm
        self.label_scope = label_scope
        self.signal_ids = {i for ids in llm.signal_ids.values() for i in ids}

    def build(self, example: Example) -> TokenSequence:
        sequence = TokenSequence(example.source)
        messages: list[dict[str, str]] = []
        rendered = ""
        for turn in example.turns:
            if turn.role == "assistant":
                head = self._extend(example, rendered, messages, add_generation_prompt=True)
                self._add_prompt(sequence, head[len(rendered):], [])
                messages.append({"role": "assistant", "content": self._with_signals(turn.text)})
                full = self._extend(example, head, messages)
                self._add_answer(sequence, full[len(head):])
                sequence.targets += [SignalTarget(o.modality, o.caption, o.embedding) for o in turn.outputs]
            else:
                messages.append({"role": turn.role, "content": turn.text})
                full = self._extend(example, rendered, messages)
                self._add_prompt(sequence, full[len(rendered):], [MediaSlot(i.modality, i.path) for i in turn.inputs])
            rendered = full
        return sequence

    def _extend(self, example: Example, before: str, messages: list[dict[str, str]], **options: bool) -> str:
        text = self.llm.render(messages, **options)
        if not text.startswith(before):
            raise RecordError(
                Path(example.source), None,
                "the LLM's chat template does not render this conversation turn by turn; "
                "training needs a template whose earlier turns do not change when a turn is added",
            )
        return text

    def _with_signals(self, text: str) -> str:
        pieces = split_placeholders(text)
        return "".join(
            self.llm.signal_text(_PLACEHOLDER_MODALITY[piece]) if index % 2 else piece
            for index, piece in enumerate(pieces)
        )

    def _tokens(self, text: str) -> list[int]:
        return self.llm.tokenizer(text, add_special_tokens=False).input_ids if text else []

    def _add_prompt(self, sequence: TokenSequence, text: str, inputs: list[MediaSlot]) -> None:
        pieces = split_placeholders(text)
        slots = iter(inputs)
        for index, piece in enumerate(pieces):
            if index % 2:
                slot = next(slots)
                assert slot.modality is _PLACEHOLDER_MODALITY[piece], "the loader matched placeholders to media"
                sequence.add_media(slot)
            else:
                ids = self._tokens(piece)
                sequence.add_tokens(ids, [IGNORE] * len(ids))

    def _add_answer(self, sequence: TokenSequence, text: str) -> None:
        ids = self._tokens(text)
        if self.label_scope == "signals":
            labels = [i if i in self.signal_ids else IGNORE for i in ids]
        else:
            labels = list(ids)
        sequence.add_tokens(ids, labels)
