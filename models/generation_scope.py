"""What the profile's decoders can make, so a request for anything else is told so plainly
instead of getting whatever the decoder draws nearest (a blue square for "draw a cat")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .wording import in_words

#: A request to make something: "draw", "paint", "show me a picture of", "animate", "play a sound"...
_MAKE = re.compile(
    r"\b(?:draw|paint|sketch|illustrate|animate|"
    r"(?:make|create|generate|render|compose|show|give|play)(?: me)? (?:a |an |some )?"
    r"(?:picture|image|photo|drawing|video|clip|animation|"
    r"sound|tone|noise|music|song)s?|(?:picture|image|photo|video|clip|sound|animation) of)\b", re.I)
#: Words that ask for nothing drawable themselves (politeness, sizes, the canvas).
_NEUTRAL = frozenset("""
a an the of me for you to it its and or with on in please can could would will i like want some any
this that now next also then just really very nice big small large little simple new another one
picture image photo drawing painting video clip animation sound tone noise white background shape
moving move moves going goes something thing kind quick short""".split())


@dataclass(frozen=True)
class GenerationScope:
    """The words requests to a profile's decoders may use; `words` None: the decoders make anything."""

    words: frozenset[str] | None
    summary: str = ""  # what the decoders can make, in a sentence

    def beyond(self, request: str) -> list[str]:
        """The words of a request to make something that the decoders do not know (none: fine)."""
        if self.words is None or not _MAKE.search(request):
            return []
        asked = re.findall(r"[a-z]+", request.lower())
        return list(dict.fromkeys(w for w in asked if w not in self.words and w not in _NEUTRAL and len(w) > 1))

    def decline(self, unknown: list[str]) -> str:
        named = in_words((f'"{w}"' for w in unknown[:4]), "or")
        return (f"I can't make {named} offline. {self.summary} "
                "Drawing anything needs a GPU and the full profile's real decoders (Stable Diffusion, AudioLDM, "
                "Zeroscope).")


ANYTHING = GenerationScope(None)


def world_scope() -> GenerationScope:
    from .world.attributes import COLOURS, DIRECTIONS, PATTERNS, PITCHES, SHAPES
    from .world.vocabulary import world_words

    summary = (f"My offline image, sound and video models know only a small synthetic world: "
               f"{in_words((s + 's' for s in SHAPES), 'or')} in {in_words(COLOURS, 'or')}, still or moving "
               f"{in_words(DIRECTIONS, 'or')}, and {in_words(PITCHES, 'or')} tones, {in_words(PATTERNS, 'or')}. "
               "Try \"draw a red circle\", \"animate a blue square moving left\" or \"play a high pulsing tone\".")
    return GenerationScope(world_words(), summary)
