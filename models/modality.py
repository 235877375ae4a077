"""The modalities the model reads and writes, and what a user may ask for."""

from __future__ import annotations

from enum import StrEnum

from .errors import InputError


class Modality(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"


#: Modalities made by a diffusion decoder from signal tokens.
GENERATED = (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO)

#: What a user may put in `--want`: the generated modalities, text, and speech (the text read aloud).
WANTABLE = ("text", "speech", "image", "audio", "video")

#: NExT-GPT's numbers of signal tokens per output modality.
DEFAULT_SIGNAL_TOKENS = {Modality.IMAGE: 4, Modality.AUDIO: 8, Modality.VIDEO: 24}


def parse_want(value: str | list[str] | None) -> set[str] | None:
    """`"text,image"` or `["text", "image"]` to a set; None or "auto" means the model decides."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = {item.strip().lower() for item in items if item.strip()}
    if names in ({"auto"}, set()):
        return None
    unknown = names - set(WANTABLE)
    if unknown:
        raise InputError(f"unknown output {sorted(unknown)}: choose from {', '.join(WANTABLE)} (or auto)")
    return names | {"text"}
