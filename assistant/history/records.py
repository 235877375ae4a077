"""What the history store hands out: its error, its record types, and where it lives by default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from models import InputError

ROLES = ("input", "output")
MODALITIES = ("image", "audio", "video", "speech")
STATUSES = ("running", "done", "interrupted", "error")


class HistoryError(InputError):
    """An unknown conversation or turn, or a history database that cannot be used."""


def default_data_dir() -> Path:
    """Where history lives: ``$NEXTGPT_DATA`` if set, else the platform's user data folder."""
    env = os.environ.get("NEXTGPT_DATA")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("nextgpt-live"))


@dataclass(frozen=True)
class ConversationInfo:
    """One conversation as listed: its title, creation and last-update times (epoch seconds), turn count."""

    id: str
    title: str
    created: float
    updated: float
    turns: int


@dataclass(frozen=True)
class MediaRecord:
    """One saved media file of a turn: an input the user gave or an output the model made."""

    id: str
    turn_id: str
    role: str  # input | output
    modality: str  # image | audio | video | speech
    mime: str
    path: Path


@dataclass(frozen=True)
class TurnRecord:
    """One stored turn: what the user said, what came back, how it ended, and its media."""

    id: str
    conversation_id: str
    created: float
    user_text: str
    transcript: str
    want: list[str] | None
    status: str  # running | done | interrupted | error
    reply_text: str
    timings_ms: dict[str, float]
    error: str
    media: list[MediaRecord]
