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
    # everyday words the world also uses (colour, shape, sound, motion), asked for an answer in words
    "How many sides does a triangle have?",
    "What colour do you get when you mix blue and yellow?",
    "What shape is a football?",
    "What is a musical note?",
    "Why does thunder make a loud sound?",
    "Which way does the sun move across the sky?",
    "What does a red traffic light mean?",
    "How many corners does a square have?",
    "What makes a sound high or low?",
    "Describe the colour of the sea.",
    # more of the everyday kind
    "What is the opposite of open?",
    "What is the opposite of early?",
    "What is the opposite of wet?",
    "What is the capital of Egypt?",
    "What is the capital of Australia?",
    "Which animal gives us milk?",
    "What animal has a long trunk?",
    "How many days are in a year?",
    "What is five plus three?",
    "What is twelve divided by four?",
    "What is the largest planet in our solar system?",
    "What gas do people breathe in?",
    "What do you call a baby dog?",
    "Which is colder, ice or steam?",
    "What is the colour of snow?",
    "Where do fish live?",
    "What do you wear on your feet?",
    "What is the first letter of the English alphabet?",
    "How many minutes are in an hour?",
    "What do we call frozen water?",
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
