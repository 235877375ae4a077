"""A true answer to "what can you do?", written from what the profile really has.

SmolLM2-135M answers it from its chat tuning ("Help with any project you're working on -
whether it's writing an essay..."), which is not what this assistant does; the profile knows."""

from __future__ import annotations

import re

from .model_set import ModelSet
from .wording import in_words

_ASKS = re.compile(
    r"\b(?:what (?:can|could) (?:you|i) (?:do|ask)|what are you (?:able|capable)|what do you do|"
    r"what are your (?:abilities|capabilities|features)|how can you help|what can you make)\b", re.I)


def asks_what_it_can_do(text: str) -> bool:
    return bool(_ASKS.search(text))


def capabilities(models: ModelSet) -> str:
    """Each thing the profile can do, one clause each, then what its decoders know."""
    llm = models.profile.role("llm").options.get("about", "chat in text")
    can = [llm]
    if models.has("asr") and models.has("tts"):
        can.append("listen to you speak and answer aloud")
    if models.has("perception"):
        can.append("look at photos and the camera: I name 80 kinds of everyday object (people, animals, cups, "
                   "chairs...) and 1,000 ImageNet classes, count them, say where they are and read text")
    makes = [name for name, modality in (("images", "image"), ("sounds", "audio"), ("short videos", "video"))
             if models.has(f"{modality}_decoder")]
    if makes:
        can.append("make " + in_words(makes))
    answer = "I can " + in_words(can, serial_comma=True) + "."
    scope = models.generation_scope
    if scope.summary:
        answer += " " + scope.summary
    if models.has("perception"):
        answer += ' Send a photo and ask "what is in this picture?" or "how many cups are there?".'
    return answer
