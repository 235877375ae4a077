"""How the world evaluation decides that one answer is right: plain functions of an answer and the truth.

- a caption is right when, for every attribute of the medium, the answer names the right value and
  no other value of the same kind ("a red circle" for a red circle; "a red or blue circle" is wrong);
- a generated medium is judged attribute by attribute with the analysers' ``*_traits``;
- a turn switches modality right when the model signals exactly the outputs the reference answer has;
- a chat answer is right when it contains one of the expected keywords as a word (``CHAT_QUESTIONS``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from models.media.types import AudioData, ImageData, VideoData
from models.world.analysers import image_traits, sound_traits, video_traits
from models.world.attributes import (
    COLOURS,
    DIRECTIONS,
    PATTERNS,
    PITCHES,
    SHAPES,
    Attributes,
    ImageAttributes,
    SoundAttributes,
)

#: The world's words, by the attribute they name.
VOCABULARY: dict[str, tuple[str, ...]] = {
    "colour": tuple(COLOURS),
    "shape": SHAPES,
    "pitch": tuple(PITCHES),
    "pattern": PATTERNS,
    "direction": DIRECTIONS,
}
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class ChatQuestion:
    question: str
    keywords: tuple[str, ...]  # a right answer holds one of these as a word


#: Everyday questions that SmolLM2-135M-Instruct (the local profile's LLM) answers right before any
#: world training, each checked by hand; training on the world must not lose them.
CHAT_QUESTIONS: tuple[ChatQuestion, ...] = (
    ChatQuestion("What is the capital of France?", ("paris",)),
    ChatQuestion("What is the capital of Italy? Answer in one word.", ("rome",)),
    ChatQuestion("What is the capital of Japan?", ("tokyo",)),
    ChatQuestion("What is the capital of Germany?", ("berlin",)),
    ChatQuestion("What is the capital of England?", ("london",)),
    ChatQuestion("How many days are in a week?", ("7", "seven")),
    ChatQuestion("What colour is the sky?", ("blue",)),
    ChatQuestion("What is the opposite of hot?", ("cold",)),
    ChatQuestion("Which animal says meow?", ("cat", "cats", "kitten")),
    ChatQuestion("What is the opposite of up?", ("down",)),
    ChatQuestion("What is the opposite of big?", ("small", "little")),
    ChatQuestion("What is 2 plus 2?", ("4", "four")),
)


def words_of(text: str) -> list[str]:
    """The lower-case words of ``text`` (letters and digits; punctuation separates)."""
    return _WORD.findall(text.lower())


def named_values(answer: str) -> dict[str, set[str]]:
    """Every world attribute value ``answer`` names, by attribute: ``{"colour": {"red"}, "shape": set(), …}``."""
    words = set(words_of(answer))
    return {attribute: words & set(values) for attribute, values in VOCABULARY.items()}


def judge_caption(expected: Attributes, answer: str) -> bool:
    """Whether ``answer`` names each of ``expected``'s attribute values and no other value of the same attribute."""
    named = named_values(answer)
    return all(named[attribute] == {value} for attribute, value in asdict(expected).items())


def judge_generation(expected: Attributes, medium: ImageData | AudioData | VideoData | None) -> dict[str, bool]:
    """Whether ``medium`` shows each of ``expected``'s attributes, by attribute ("colour", "shape", …).

    A missing medium, or one of the wrong kind, is wrong on every attribute.
    """
    measured = measure(expected, medium)
    return {attribute: measured[attribute] == value for attribute, value in asdict(expected).items()}


def measure(expected: Attributes, medium: ImageData | AudioData | VideoData | None) -> dict[str, str | None]:
    """What ``medium`` shows, read attribute by attribute as ``expected``'s kind; None where it shows nothing clear."""
    if isinstance(expected, ImageAttributes):
        if isinstance(medium, ImageData):
            return image_traits(medium)
    elif isinstance(expected, SoundAttributes):
        if isinstance(medium, AudioData):
            return sound_traits(medium)
    elif isinstance(medium, VideoData):
        return video_traits(medium)
    return dict.fromkeys(asdict(expected))


def judge_switching(expected: Iterable[str], emitted: Iterable[str]) -> bool:
    """Whether the modalities the model signalled are exactly those the reference answer outputs (both may be empty)."""
    return {str(m) for m in expected} == {str(m) for m in emitted}


def judge_chat(keywords: Iterable[str], answer: str) -> bool:
    """Whether ``answer`` contains one of ``keywords`` as a whole word (or phrase), ignoring case."""
    spaced = f" {' '.join(words_of(answer))} "
    return any(f" {' '.join(words_of(keyword))} " in spaced for keyword in keywords)
