"""General instruction data that keeps the LLM answering ordinary questions while it learns the world.

MosIT tuning moves LoRA weights; trained on the world alone, a 135M model soon answers every
question with a shape or a tone. Mixing in ordinary questions answered by the *base* model
itself (self-distillation) anchors its general behaviour: the target is what it said before
training, so nothing new is taught and nothing old is pushed out. These questions differ from
the evaluation's general-chat questions, which measure what was kept.
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)

QUESTIONS = (
    "What is the capital of Spain?",
    "What is the largest ocean on Earth?",
    "How many hours are in a day?",
    "How many months are in a year?",
    "What do bees make?",
    "What is water made of?",
    "Which planet do we live on?",
    "What is the opposite of day?",
    "What colour is grass?",
    "What colour are bananas?",
    "What do cows drink?",
    "What animal barks?",
    "What is ten minus three?",
    "What is the capital of Canada?",
    "What is the opposite of fast?",
    "Name a fruit that is red.",
    "Name three animals that live on a farm.",
    "What season comes after winter?",
    "What do you use to write on paper?",
    "Give me a tip for sleeping better.",
    "Write one sentence about the sea.",
    "What is the freezing point of water in Celsius?",
    "Who wrote Romeo and Juliet?",
    "What language is spoken in Brazil?",
    "How many legs does a cat have?",
    "What is the tallest animal?",
    "Why do we need to drink water?",
    "What is a computer?",
    "Say hello in French.",
    "What is the sun?",
    "How do plants make food?",
    "What is a healthy breakfast?",
    "Tell me a fun fact about octopuses.",
    "What is the main ingredient of bread?",
    "Which is heavier, a kilogram of feathers or a kilogram of iron?",
    "What does a thermometer measure?",
    "What is the past tense of run?",
    "How can I save energy at home?",
    "What is the boiling point of water in Celsius?",
)


class TextAnswerer(Protocol):
    def __call__(self, question: str) -> str: ...


def distilled_chat_records(answer: TextAnswerer, questions: tuple[str, ...] = QUESTIONS) -> list[dict]:
    """Alpaca-style records of `questions` with the base model's own answers (empty answers skipped)."""
    records = []
    for question in questions:
        reply = answer(question).strip()
        if reply:
            records.append({"instruction": question, "input": "", "output": reply})
        else:
            log.warning("the base model gave no answer to %r; left out", question)
    return records
