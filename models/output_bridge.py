"""The output bridge: a medium made from a caption through its decoder's own text encoder, with no
trained output projector.

NExT-GPT's stage 2 trains each output projector to reproduce the decoder's text-encoder embedding
of a caption, so the caption's own embedding is the very target the projector approximates. When
the LLM signals a modality, the bridge takes the caption from the answer (its first sentence
without a lead-in: "Here is a blue square moving right." → "a blue square moving right"), else from
the request (without the imperative: "Draw a cat" → "a cat"), and gives the decoder what its
pipeline would make of that text.

A profile chooses per modality (`[output_projector] mode`, one value or a table per modality):
`projector`, `bridge`, or `auto`: the projector when trained weights for it are in the profile's
adapters, else the bridge.
"""

from __future__ import annotations

import re

MODES = ("projector", "bridge", "auto")
MAX_CAPTION_CHARS = 300  # a decoder's tokenizer truncates at 77 tokens anyway

_LEAD_IN = re.compile(
    r"^(?:(?:sure|okay|ok|of course|certainly|alright|yes)\b[,!.]?\s*)*"
    r"(?:(?:here(?:'s| is| are| you go)|this is|these are|there(?:'s| is)|it(?:'s| is)|"
    r"i(?:'ve| have)? ?(?:drawn|made|painted|created|generated|animated|composed)(?: you)?)\b[,:]?\s*)?",
    re.IGNORECASE)
_IMPERATIVE = re.compile(
    r"^(?:(?:please|now|and|then|can you|could you|would you)\b[,]?\s*)*"
    r"(?:draw|paint|make|show(?: me)?|generate|create|render|animate|play|sketch|compose|give me|"
    r"let me (?:see|hear))\b\s*(?:me\s+)?(?:(?:a |an )?(?:picture|image|photo|video|clip|sound|drawing|painting) "
    r"of\s+)?", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?:\n]+")


def caption_for(answer: str, request: str) -> str:
    """What the medium should show, in a caption's words (see the module's docstring); "" when
    neither the answer nor the request says anything."""
    for text, pattern in ((answer, _LEAD_IN), (request, _IMPERATIVE)):
        for sentence in _SENTENCE.findall(text):
            caption = pattern.sub("", sentence.strip(" \t,;\"'")).strip(" ,;\"'")
            if re.search(r"\w", caption):
                return caption[:MAX_CAPTION_CHARS]
    return ""
