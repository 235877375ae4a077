"""What a speech model is, for a service that lists what it offers (Home Assistant's Wyoming
`describe` asks): its name and the languages it hears or speaks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpeechModelInfo:
    """One speech role's model. `rate` is the sample rate it takes (recognition) or speaks at (a voice)."""

    name: str
    description: str
    languages: tuple[str, ...]
    rate: int
