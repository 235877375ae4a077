"""`evaluate_world`: ask a model about the synthetic world's held-out split and score it, figure by figure.

1. captioning: each comprehension record's medium and question, text-only output; the answer must
   name the medium's attributes (``judges.judge_caption``);
2. generation: each generation record's request, the model deciding what to make; the medium of the
   right modality is measured attribute by attribute (``judges.judge_generation``);
3. modality switching: instruction and MosIT conversations replayed turn by turn with the reference
   history as text (placeholders dropped: the runtime's history, too, keeps only text); the model
   must signal exactly the outputs the reference answer has;
4. general chat: a fixed list of everyday questions, the model deciding what to make; the answer must
   hold the expected keyword, and signalled media are counted.

Only captioning and generation need the decoders' media; elsewhere a decoder is stopped at its
first step, since which signal tokens the LLM emitted is all that is judged.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import InputError
from models.gguf_conversion import cache_root
from models.media import Media, read_audio, read_image, read_video
from models.modality import Modality
from models.pipeline import DecoderStep, GeneratedText, MediaResult, ModelRequest, SignalEmitted
from models.signal_llm import GenerationCancelled
from models.training.records import Example, MediaInput, load_records
from models.world.attributes import EVERY, Attributes, parse_caption
from models.world.dataset import MANIFEST_NAME, generate_world, load_manifest
from models.world.judges import CHAT_QUESTIONS, judge_caption, judge_chat, judge_generation, judge_switching
from models.world.records import KINDS
from models.world.report import Score, WorldReport

if TYPE_CHECKING:
    from models.any_to_any import AnyToAnyModel

log = logging.getLogger(__name__)

SEED = 0  # every request's seed, so that a run repeats exactly
MAX_NEW_TOKENS = 48  # enough for a caption, a short reply with its signal tokens, or a one-line fact
WORLD_SEED = 0  # the seed of the default world
HELDOUT = "heldout"
NEEDED_FILES = (*(f"{k}_comprehension.json" for k in KINDS), *(f"{k}_generation.json" for k in KINDS),
                "instruction.json", "mosit.json")
GENERATION_FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {  # kind → (its name in figures, attributes judged)
    "image": ("image", ("colour", "shape")),
    "audio": ("sound", ("pitch", "pattern")),
    "video": ("video", ("direction", "colour", "shape")),
}
_READERS: dict[Modality, Callable[[Path], Media]] = {
    Modality.IMAGE: read_image, Modality.AUDIO: read_audio, Modality.VIDEO: read_video,
}
_PLACEHOLDER = re.compile(r"\s*<(?:image|audio|video)>\s*")

Progress = Callable[[str, int, int], None]  # (section, items done, items in the section)


def default_world_folder() -> Path:
    """Where the default world lives: the user cache folder (``$NEXTGPT_CACHE`` if set)."""
    return cache_root() / f"world-seed{WORLD_SEED}"


def open_world(folder: Path | None = None, progress: Progress | None = None) -> Path:
    """A world folder with a held-out split to evaluate on: ``folder``, or the default world, generated once.

    Raises InputError when ``folder`` is not a world written by ``generate_world``.
    """
    if folder is None:
        folder = default_world_folder()
        if not (folder / MANIFEST_NAME).is_file():
            log.warning("no world at %s yet: generating it (once; it takes a while)", folder)
            if progress is not None:
                progress("generating the world", 0, 1)
            generate_world(folder, seed=WORLD_SEED)
            if progress is not None:
                progress("generating the world", 1, 1)
    folder = Path(folder)
    try:
        manifest = load_manifest(folder)
    except OSError:
        raise InputError(f"{folder} is not a world folder (no readable {MANIFEST_NAME}); "
                         "leave out --world to use the default world, which is generated once") from None
    except (ValueError, TypeError, AttributeError) as error:
        raise InputError(f"{folder / MANIFEST_NAME} is not a world manifest ({error}); "
                         "generate the world again") from None
    missing = [name for name in NEEDED_FILES if not (folder / HELDOUT / name).is_file()]
    if missing:
        raise InputError(f"the world in {folder} has no held-out {', '.join(missing)}; generate the world again")
    log.debug("evaluating on the world of seed %d in %s", manifest.seed, folder)
    return folder


def evaluate_world(
    model: AnyToAnyModel,
    world_folder: Path | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    max_new_tokens: int = MAX_NEW_TOKENS,
) -> WorldReport:
    """Every figure of ``model`` on the held-out split of ``world_folder`` (default: the default world).

    ``limit`` evaluates at most that many items per figure (the first ones, in file order);
    ``progress`` hears (section, done, total) as items finish.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError(f"the limit must be a positive number of items, not {limit!r}")
    started = time.perf_counter()
    folder = open_world(world_folder, progress)
    files = [folder / HELDOUT / name for name in NEEDED_FILES]
    records = {file.name: load_records([file], folder).examples for file in files}
    run = _Run(model, folder, limit, progress or (lambda section, done, total: None), max_new_tokens)
    seconds: dict[str, float] = {}

    # 1. captioning: medium in, text out
    clock = time.perf_counter()
    captioning = {kind: run.captioning(kind, records[f"{kind}_comprehension.json"]) for kind in KINDS}
    seconds["captioning"] = time.perf_counter() - clock
    # 2. generation: text in, medium out, measured
    clock = time.perf_counter()
    generation: dict[str, Score] = {}
    for kind in KINDS:
        generation.update(run.generation(kind, records[f"{kind}_generation.json"]))
    seconds["generation"] = time.perf_counter() - clock
    # 3. modality switching over instruction and MosIT conversations
    clock = time.perf_counter()
    switching = run.switching(records["instruction.json"], records["mosit.json"])
    seconds["switching"] = time.perf_counter() - clock
    # 4. general chat
    clock = time.perf_counter()
    chat, lost, signalled = run.chat()
    seconds["chat"] = time.perf_counter() - clock

    report = WorldReport(
        profile=model.profile.name,
        weights={role: source.as_dict() for role, source in model.sources().items()},
        world=str(folder), limit=limit, captioning=captioning, generation=generation, switching=switching,
        chat=chat, chat_lost=lost, chat_signals=signalled, seconds=time.perf_counter() - started,
        section_seconds=seconds,
    )
    log.info("world evaluation of %s took %.1f s", report.profile, report.seconds)
    return report


@dataclass
class _Reply:
    text: str = ""
    signalled: list[Modality] = field(default_factory=list)
    media: dict[Modality, Media] = field(default_factory=dict)  # the first medium of each modality made


@dataclass
class _Run:
    """One evaluation in progress: the model, the world, and how much of it to ask about."""

    model: AnyToAnyModel
    folder: Path
    limit: int | None
    progress: Progress
    max_new_tokens: int

    def captioning(self, kind: str, examples: list[Example]) -> Score:
        score = Score()
        for example in self._items(f"captioning {kind}", examples):
            question, reference = example.turns[0], example.turns[1]
            expected = attributes_in(kind, reference.text, example.source)
            reply = self._ask(question.text, question.inputs, want={Modality.TEXT}, decode=False)
            score.add(judge_caption(expected, reply.text),
                      {"source": self._short(example.source), "expected": expected.caption, "answer": reply.text})
        return score

    def generation(self, kind: str, examples: list[Example]) -> dict[str, Score]:
        label, attributes = GENERATION_FIGURES[kind]
        scores = {attribute: Score() for attribute in attributes}
        for example in self._items(f"generation {label}", examples):
            request, reference = example.turns[0], example.turns[1]
            expected = parse_caption(reference.outputs[0].caption)
            if expected is None:
                raise InputError(f"{example.source}: the caption {reference.outputs[0].caption!r} is not a world "
                                 "caption; is this a world folder?")
            reply = self._ask(request.text, request.inputs, want=None, decode=True)
            medium = reply.media.get(Modality(kind))
            verdicts = judge_generation(expected, medium)
            for attribute in attributes:
                scores[attribute].add(verdicts[attribute], {
                    "source": self._short(example.source), "expected": expected.caption, "made": medium is not None,
                    "answer": reply.text})
        return {f"{label} {attribute}": scores[attribute] for attribute in attributes}

    def switching(self, instruction: list[Example], mosit: list[Example]) -> Score:
        """Instruction and MosIT conversations taken in turn, so that a limit keeps both kinds."""
        mixed = [example for pair in zip_longest(instruction, mosit) for example in pair if example is not None]
        turns = [(example, n) for example in mixed for n, turn in enumerate(example.turns) if turn.role == "assistant"]
        score = Score()
        for example, n in self._items("modality switching", turns):
            user, reference = example.turns[n - 1], example.turns[n]
            history = [{"role": turn.role, "content": _PLACEHOLDER.sub(" ", turn.text).strip()}
                       for turn in example.turns[:n - 1]]
            reply = self._ask(user.text, user.inputs, want=None, decode=False, history=history)
            expected = sorted({str(output.modality) for output in reference.outputs})
            emitted = sorted({str(modality) for modality in reply.signalled})
            score.add(judge_switching(expected, emitted), {
                "source": self._short(example.source), "turn": n, "request": user.text, "expected": expected,
                "emitted": emitted, "answer": reply.text})
        return score

    def chat(self) -> tuple[Score, list[str], int]:
        """The score, every question lost, and how many answers signalled media."""
        score, lost, signalled = Score(), [], 0
        for item in self._items("general chat", list(CHAT_QUESTIONS)):
            reply = self._ask(item.question, (), want=None, decode=False)
            right = judge_chat(item.keywords, reply.text)
            score.add(right, {"question": item.question, "expected": list(item.keywords), "answer": reply.text,
                              "signalled": sorted(str(m) for m in reply.signalled)})
            lost += [] if right else [item.question]
            signalled += bool(reply.signalled)
        return score, lost, signalled

    def _items(self, section: str, items: list) -> Iterator:
        chosen = items if self.limit is None else items[:self.limit]
        self.progress(section, 0, len(chosen))
        for done, item in enumerate(chosen, 1):
            yield item
            self.progress(section, done, len(chosen))

    def _ask(self, text: str, inputs: tuple[MediaInput, ...], want: set[Modality] | None, decode: bool,
             history: list[dict[str, str]] | None = None) -> _Reply:
        """The model's reply to ``text`` with the media ``inputs``; without ``decode`` decoders stop at once."""
        media = [_READERS[item.modality](item.path) for item in inputs]
        request = ModelRequest(text=text, media=media, want=want, history=history or [],
                               max_new_tokens=self.max_new_tokens, seed=SEED)
        reply, decoding = _Reply(), False

        def heard(_: DecoderStep) -> None:
            nonlocal decoding
            decoding = True

        try:
            for event in self.model.respond(request, should_stop=lambda: decoding and not decode, on_progress=heard):
                if isinstance(event, GeneratedText):
                    reply.text += event.text
                elif isinstance(event, SignalEmitted):
                    reply.signalled.append(event.modality)
                elif isinstance(event, MediaResult):
                    reply.media.setdefault(event.modality, event.media)
        except GenerationCancelled:
            if decode or not decoding:
                raise
        reply.text = reply.text.strip()
        return reply

    def _short(self, source: str) -> str:
        """A record's "FILE[INDEX]" with FILE relative to the world folder."""
        prefix = str(self.folder / HELDOUT)
        return f"{HELDOUT}{source.removeprefix(prefix)}" if source.startswith(prefix) else source


def attributes_in(kind: str, text: str, source: str) -> Attributes:
    """The attributes whose caption a reference answer holds ("It is a red circle." → red circle)."""
    found = [attributes for attributes in EVERY[kind] if attributes.caption in text.lower()]
    if len(found) != 1:
        raise InputError(f"{source}: the answer {text!r} holds no world caption of a {kind}; is this a world folder?")
    return found[0]
