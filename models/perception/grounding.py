"""From a question about a picture to the facts that answer it.

SmolLM2-135M repeats a description well but cannot reason over one: given "I see a cat and a
cup" it answers "Is there a person?" with "The person is a cat" and "How many cups?" with "two"
(docs/perception.md has the measured answers). So the facts a question asks for (is there an X,
how many, where, what does it say, what is in it) are written as the opening of the answer, and
the answer ends there: the LLM's own continuations of such answers added details that were not
in the picture ("It is a bobsled and it's wearing blue"). Every other question about the picture
("is it cute?", "what colour is the cat?") goes to the LLM with the description in the prompt."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .labels import COCO_LABELS, plural, singular
from .scene import Scene, counted

_ARTICLE = r"(?:(?:a|an|any|the|some|my|this|that)\s+)?"
_COUNT = re.compile(r"\bhow many (\w+(?: \w+)?)", re.I)
_PRESENCE = re.compile(rf"\b(?:is|are) there {_ARTICLE}(\w+(?: \w+)?)|\b(?:do|can) you see {_ARTICLE}(\w+(?: \w+)?)",
                       re.I)
_WHERE = re.compile(rf"\bwhere (?:is|are) {_ARTICLE}(\w+(?: \w+)?)", re.I)
_TEXT_WORDS = frozenset({"text", "writing", "word", "sign", "label", "caption", "letter", "number"})
#: Words that name no thing to look for ("where are you?", "is there anything?").
_NOT_THINGS = frozenset({"you", "it", "he", "she", "they", "we", "i", "me", "this", "that", "there", "here",
                         "anything", "something", "thing", "everything"})
_READ = re.compile(r"\b(?:say|says|read|written|writing|texts?|signs?|labels?|captions?|words?)\b", re.I)
_WHAT = re.compile(
    r"\b(?:what(?:'s| is| do you see| can you see| are you looking at)|describe|tell me about|"
    r"what (?:is|are) (?:in|on|this|that|these|those)|who is|what do you see)\b", re.I)


@dataclass(frozen=True)
class Grounding:
    """What the prompt says about the picture, and the answer when the question asks for a fact
    the picture holds ("" otherwise: the LLM answers)."""

    context: str
    answer: str = ""


def _label(words: str, scene: Scene) -> str:
    """The label a question's two words name: "dining table" whole, "mugs are" -> "cup", "red
    cups" -> "cup" (the first word that is a label the eyes know, else the first word)."""
    words = words.lower().strip()
    known = set(COCO_LABELS.values()) | {o.label for o in scene.objects} | {c.kind for c in scene.classes}
    if words in known:
        return words
    labels = [singular(word) for word in words.split()]
    return next((label for label in labels if label in known), labels[0] if labels else "")


def _presence(scene: Scene, label: str) -> str:
    found = scene.find(label)
    if found is not None:
        return f"Yes, I see {found.phrase()}."
    if scene.looks_like(label):
        return f"Yes, I see {counted(label, 1)}."
    others = scene.summary()
    return f"No, I don't see {counted(label, 1)}." + (f" {others}" if others else "")


def _count(scene: Scene, label: str) -> str:
    number = scene.count(label)
    if number == 0:
        return f"I don't see any {plural(label)}."
    found = scene.find(label)
    where = f", {found.where}" if found is not None else ""
    return f"I count {counted(label, number, numeral=True)}{where}."


def _where(scene: Scene, label: str) -> str:
    found = scene.find(label)
    if found is None:
        return f"I see {counted(label, 1)}, but I can't tell where." if scene.looks_like(label) \
            else f"I don't see {counted(label, 1)}."
    subject = f"The {plural(label)} are" if found.count > 1 else f"The {label} is"
    return f"{subject} {found.where}."


def _read(scene: Scene) -> str:
    if scene.text:
        return f'It says "{scene.words}".'
    return "I can't read any text in it."


def needs_text(question: str) -> bool:
    """Whether answering `question` may need the text in the picture: not for is there / how
    many / where (OCR is the slowest part of looking, a doorbell's "is there a person?" skips it)."""
    asks_fact = _COUNT.search(question) or _PRESENCE.search(question) or _WHERE.search(question)
    return not asks_fact or bool(_READ.search(question))


def ground(scene: Scene, question: str) -> Grounding:
    """The grounding of one picture for `question`."""
    context = f"In the picture: {scene.describe()}"
    if not question.strip():
        return Grounding(context, scene.describe(say_no_text=False))
    for pattern, answer in ((_COUNT, _count), (_PRESENCE, _presence), (_WHERE, _where)):
        if match := pattern.search(question):
            label = _label(next(group for group in match.groups() if group), scene)
            if label in _TEXT_WORDS:  # "is there any text?": a question about what it says
                break
            if label in _NOT_THINGS:  # "is there anything?": a question about what is in it
                return Grounding(context, scene.describe(say_no_text=False))
            return Grounding(context, answer(scene, label))
    if _READ.search(question) and scene.read_text:
        return Grounding(context, _read(scene))
    if _WHAT.search(question):
        return Grounding(context, scene.describe(say_no_text=False))
    return Grounding(context)
