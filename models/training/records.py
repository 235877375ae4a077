"""NExT-GPT's training data formats, read into one normalised form.

Comprehension, generation, T-T+X instruction, MosIT and text-only records (LLaVA or Alpaca), from
`.json` arrays or `.jsonl` lines, become `Example`s whose turns carry their media in placeholder order.
A bad record names its file and index and says what to fix; whole-file problems always raise.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import InputError
from models.modality import Modality

log = logging.getLogger(__name__)

MEDIA = (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO)
PLACEHOLDER = re.compile(r"<(image|audio|video)>")
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}
MARKERS = ("input_modality", "output_modality", "caption")


@dataclass(frozen=True)
class MediaInput:
    modality: Modality
    path: Path  # resolved, exists


@dataclass(frozen=True)
class MediaOutput:
    modality: Modality
    caption: str
    embedding: Path | None  # the caption's precomputed decoder embedding (.npy), if named; may not exist yet
    medium: Path | None  # the real medium (`output_*`), for evaluation; not checked


@dataclass(frozen=True)
class Turn:
    role: str  # "system" | "user" | "assistant"
    text: str  # with its placeholders kept, in order
    inputs: tuple[MediaInput, ...]  # user turns: one per placeholder, in order
    outputs: tuple[MediaOutput, ...]  # assistant turns: one per placeholder, in order


@dataclass(frozen=True)
class Example:
    source: str  # "FILE[INDEX]"
    kind: str  # comprehension | generation | instruction | mosit | text
    turns: tuple[Turn, ...]


class RecordError(InputError):
    """A data file, or one record in it, that cannot be trained on."""

    def __init__(self, file: Path, index: int | None, problem: str) -> None:
        super().__init__(f"{file}: {problem}" if index is None else f"{file}[{index}]: {problem}")
        self.file = file
        self.index = index
        self.problem = problem

    def __reduce__(self) -> tuple[type, tuple[Path, int | None, str]]:
        return RecordError, (self.file, self.index, self.problem)


@dataclass
class RecordSet:
    examples: list[Example] = field(default_factory=list)
    skipped: list[RecordError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def counts(self) -> dict:
        """Records, skipped, kinds, directions per exchange ("image→text") and media per role and modality."""
        kinds = Counter(example.kind for example in self.examples)
        directions = Counter(direction for example in self.examples for direction in _directions(example))
        media: Counter[str] = Counter()
        for turn in (turn for example in self.examples for turn in example.turns):
            media.update(f"input_{item.modality}" for item in turn.inputs)
            media.update(f"output_{item.modality}" for item in turn.outputs)
        return {"records": len(self.examples), "skipped": len(self.skipped), "kinds": dict(sorted(kinds.items())),
                "directions": dict(sorted(directions.items())), "media": dict(sorted(media.items()))}


class _Bad(Exception):
    """A record's problem, before the loader wraps it with the file and index."""


def load_records(files: list[Path], media_root: Path, *, skip_bad: bool = False) -> RecordSet:
    """Every record of `files`, normalised; with `skip_bad` a bad record is kept in `skipped` instead of raising."""
    records = RecordSet(files=[Path(f) for f in files])
    for file in records.files:
        for index, record in _read(file):
            try:
                if isinstance(record, _Bad):
                    raise record
                records.examples.append(_example(record, f"{file}[{index}]", Path(media_root)))
            except _Bad as bad:
                error = RecordError(file, index, str(bad))
                if not skip_bad:
                    raise error from None
                records.skipped.append(error)
    if records.skipped:
        log.warning("skipped %d bad record(s); the first: %s", len(records.skipped), records.skipped[0])
    return records


def _read(file: Path) -> list[tuple[int, Any]]:
    """(index, record) pairs; in `.jsonl` a line that is not JSON becomes a `_Bad` record at its line index."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RecordError(file, None, "no such data file (check the path)") from None
    except UnicodeDecodeError as error:
        raise RecordError(file, None, f"is not UTF-8 text ({error}); save it as UTF-8") from None
    except OSError as error:
        raise RecordError(file, None, f"cannot read it ({error})") from None
    if file.suffix.lower() == ".jsonl":
        rows: list[tuple[int, Any]] = []
        for index, line in enumerate(text.splitlines()):
            if line.strip():
                try:
                    rows.append((index, json.loads(line)))
                except json.JSONDecodeError as error:
                    rows.append((index, _Bad(f"line {index + 1} is not JSON ({error}); write one object per line")))
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(file, None, f"invalid JSON ({error}); fix it, or name a .jsonl file") from None
    if not isinstance(data, list):
        raise RecordError(file, None, f"the top level is {_kind(data)}, not a list of records; wrap them in [...]")
    return list(enumerate(data))


def _example(record: Any, source: str, root: Path) -> Example:
    # 1. the turns, from `conversations` (or `conversation`) or Alpaca's instruction/input/output
    if not isinstance(record, dict):
        raise _Bad(f"a record must be an object, not {_kind(record)}")
    raw_turns = _raw_turns(record)
    roles = [_check_turn(number, turn) for number, turn in enumerate(raw_turns)]
    _check_order(roles)
    fields = {key: _strings(record, key) for m in MEDIA
              for key in (f"input_{m}", f"output_{m}", f"{m}_captions", f"{m}_caption_embeddings")}
    # 2. placeholders: inputs in user turns, outputs in assistant turns; what a turn declares must agree
    placed = [PLACEHOLDER.findall(turn["value"]) for turn in raw_turns]
    wanted = [names if role == "user" else [] for names, role in zip(placed, roles, strict=True)]
    made = [names if role == "assistant" else [] for names, role in zip(placed, roles, strict=True)]
    for number, turn in enumerate(raw_turns):
        _check_declared(number, turn, "input_modality", wanted[number])
        _check_declared(number, turn, "output_modality", made[number])
        _check_caption(number, turn, made[number])
    # 3. media, one per placeholder, keyed by (turn, placeholder in the turn)
    inputs: dict[tuple[int, int], MediaInput] = {}
    outputs: dict[tuple[int, int], MediaOutput] = {}
    for m in MEDIA:
        _collect_inputs(m, fields[f"input_{m}"], wanted, root, inputs)
        _collect_outputs(m, fields, [turn.get("caption") for turn in raw_turns], made, root, outputs)
    turns = tuple(Turn(roles[n], turn["value"], tuple(inputs[n, i] for i in range(len(wanted[n]))),
                       tuple(outputs[n, i] for i in range(len(made[n])))) for n, turn in enumerate(raw_turns))
    marked = any(turn.get(key) is not None for turn in raw_turns for key in MARKERS)
    return Example(source, _kind_of(turns, marked), turns)


def _raw_turns(record: dict) -> list[Any]:
    for key in ("conversations", "conversation"):
        if key in record:
            if not isinstance(record[key], list):
                raise _Bad(f'"{key}" must be a list of turns, not {_kind(record[key])}')
            return record[key]
    if "instruction" in record and "output" in record:
        extra = "" if record.get("input") is None else record["input"]
        for name, value in (("instruction", record["instruction"]), ("input", extra), ("output", record["output"])):
            if not isinstance(value, str):
                raise _Bad(f'Alpaca "{name}" must be a string, not {_kind(value)}')
        prompt = f"{record['instruction']}\n\n{extra}" if extra.strip() else record["instruction"]
        return [{"from": "human", "value": prompt}, {"from": "gpt", "value": record["output"]}]
    raise _Bad('no "conversations" and not Alpaca (instruction/input/output); give the record one of the two')


def _check_turn(number: int, turn: Any) -> str:
    if not isinstance(turn, dict):
        raise _Bad(f'turn {number} must be an object with "from" and "value", not {_kind(turn)}')
    for key in ("from", "value"):
        if key not in turn:
            raise _Bad(f'turn {number} has no "{key}"; every turn needs "from" and "value"')
    role = ROLES.get(turn["from"].lower()) if isinstance(turn["from"], str) else None
    if role is None:
        raise _Bad(f'turn {number} is from {json.dumps(turn["from"])}; use "human" or "gpt" (or "user"/"assistant")')
    if not isinstance(turn["value"], str):
        raise _Bad(f'turn {number} "value" must be a string, not {_kind(turn["value"])}')
    return role


def _check_order(roles: list[str]) -> None:
    """An optional leading system turn, then user and assistant turns alternating, ending with the assistant."""
    if "assistant" not in roles:
        raise _Bad('no assistant turn: nothing to learn from; add a "gpt" turn that answers the human')
    start = 1 if roles[0] == "system" else 0
    for number in range(start, len(roles)):
        expected = "user" if (number - start) % 2 == 0 else "assistant"
        if roles[number] != expected:
            raise _Bad(f"turn {number} is from {roles[number]} where {expected} should speak; "
                       "after an optional leading system turn, turns alternate human, gpt")
    if roles[-1] != "assistant":
        raise _Bad(f"the last turn ({len(roles) - 1}) is a user turn with no answer; end with a gpt turn")


def _check_declared(number: int, turn: dict, key: str, names: list[str]) -> None:
    if turn.get(key) is None:
        return
    declared = [turn[key]] if isinstance(turn[key], str) else turn[key]
    if not isinstance(declared, list) or not all(isinstance(name, str) for name in declared):
        raise _Bad(f'turn {number} "{key}" must be a modality name or a list of them, not {_kind(turn[key])}')
    unknown = sorted(set(declared) - set(Modality))
    if unknown:
        raise _Bad(f'turn {number} "{key}" names {", ".join(unknown)}; use text, image, audio or video')
    if set(declared) - {"text"} != set(names):
        present = ", ".join(f"<{name}>" for name in sorted(set(names))) or "no placeholder"
        raise _Bad(f'turn {number} says {key} {json.dumps(turn[key])} but has {present}; make them agree')


def _check_caption(number: int, turn: dict, made: list[str]) -> None:
    if turn.get("caption") is None:
        return
    if not isinstance(turn["caption"], str):
        raise _Bad(f'turn {number} "caption" must be a string, not {_kind(turn["caption"])}')
    if not turn["caption"].strip():
        raise _Bad(f"turn {number} has an empty caption; write what the output shows")
    if len(made) != 1:
        raise _Bad(f"turn {number} has a caption but {len(made)} output placeholders; a per-turn caption belongs "
                   "to a gpt turn with exactly one <image>, <audio> or <video>")


def _collect_inputs(m: Modality, paths: list[str], wanted: list[list[str]], root: Path,
                    inputs: dict[tuple[int, int], MediaInput]) -> None:
    slots = [(number, i) for number, names in enumerate(wanted) for i, name in enumerate(names) if name == m]
    if len(slots) != len(paths):
        raise _Bad(f"{len(slots)} <{m}> in human turns but {len(paths)} input_{m} entries; "
                   f"give one input_{m} per <{m}>, in order")
    for slot, raw in zip(slots, paths, strict=True):
        path = (root / raw).resolve()
        if not path.is_file():
            under = "" if Path(raw).is_absolute() else f" under {root}"
            raise _Bad(f'input_{m} "{raw}" not found{under}: no file {path} (is --media-root right?)')
        inputs[slot] = MediaInput(m, path)


def _collect_outputs(m: Modality, fields: dict[str, list[str]], own_captions: list[Any], made: list[list[str]],
                     root: Path, outputs: dict[tuple[int, int], MediaOutput]) -> None:
    captions, embeddings, media = fields[f"{m}_captions"], fields[f"{m}_caption_embeddings"], fields[f"output_{m}"]
    slots = [((number, i), own_captions[number]) for number, names in enumerate(made)
             for i, name in enumerate(names) if name == m]
    own = sum(caption is not None for _, caption in slots)
    if embeddings and len(embeddings) != len(captions):
        raise _Bad(f"{len(embeddings)} {m}_caption_embeddings but {len(captions)} {m}_captions; "
                   "give one embedding per caption, or none (they are computed from the captions)")
    if len(captions) not in (len(slots), len(slots) - own):
        raise _Bad(f"{len(slots)} <{m}> in gpt turns but {len(captions)} {m}_captions and {own} per-turn "
                   f"caption(s); give one caption per <{m}>, in order")
    if media and len(media) != len(slots):
        raise _Bad(f"{len(slots)} <{m}> in gpt turns but {len(media)} output_{m} entries; give one per <{m}> or none")
    every = len(captions) == len(slots)  # else the list covers only the placeholders without a caption of their own
    uncaptioned = 0
    for n, (slot, own_caption) in enumerate(slots):
        k = n if every else uncaptioned
        uses_list = every or own_caption is None
        uncaptioned += own_caption is None
        caption = own_caption if own_caption is not None else captions[k]
        if not caption.strip():
            raise _Bad(f"{m}_captions[{k}] is empty; every output needs a caption to train on")
        embedding = (root / embeddings[k]).resolve() if embeddings and uses_list else None
        medium = (root / media[n]).resolve() if media else None
        outputs[slot] = MediaOutput(m, caption, embedding, medium)


def _kind_of(turns: tuple[Turn, ...], marked: bool) -> str:
    exchanges = sum(turn.role == "assistant" for turn in turns)
    has_inputs, has_outputs = any(turn.inputs for turn in turns), any(turn.outputs for turn in turns)
    if not has_inputs and not has_outputs:
        return "text"
    if exchanges > 1:
        return "mosit"
    if marked or (has_inputs and has_outputs):
        return "instruction"
    return "comprehension" if has_inputs else "generation"


def _directions(example: Example) -> list[str]:
    """One per exchange: the user turn's input modalities → the answer's output modalities (turns alternate)."""
    talk = [turn for turn in example.turns if turn.role != "system"]
    return [f"{_modalities(user.inputs)}→{_modalities(answer.outputs)}"
            for user, answer in zip(talk[::2], talk[1::2], strict=True)]


def _modalities(items: tuple[MediaInput, ...] | tuple[MediaOutput, ...]) -> str:
    return "+".join(sorted({str(item.modality) for item in items})) or "text"


def _strings(record: dict, key: str) -> list[str]:
    value = record.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise _Bad(f"{key} must be a string or a list of strings, not {_kind(value)}")
    for k, item in enumerate(value):
        if not isinstance(item, str):
            raise _Bad(f"{key}[{k}] must be a string (a path or a caption), not {_kind(item)}")
    return value


def _kind(value: Any) -> str:
    """A JSON value's type as a user would name it."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)
