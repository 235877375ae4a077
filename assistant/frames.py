"""Typed frames: the messages that flow from sources through processors to the engine and back.

Plain dataclasses, pipecat-style. Input frames come from capture and front-ends; reply events
are what `Engine.submit(turn)` streams back, each tagged with its turn's id.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from models import AudioData, InputMedia, Media


def new_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class Frame:
    created: float = field(default_factory=time.monotonic, kw_only=True)


@dataclass(frozen=True)
class EndOfStream(Frame):
    """The sources ended: each processor finishes what it holds, then passes this on."""


# input frames ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoFrame(Frame):
    """One camera or video-file frame: (H, W, 3) uint8 RGB at `timestamp` seconds of its source."""

    pixels: np.ndarray
    timestamp: float


@dataclass(frozen=True)
class AudioChunk(Frame):
    """A block of microphone or audio-file samples: float32 mono at `rate`, starting at `timestamp`."""

    samples: np.ndarray
    rate: int
    timestamp: float
    far_end: bool = False  # the assistant's voice was playing while this was heard (echo cancelled or not)
    echo_settled: bool = False  # the echo canceller was removing that voice's echo well (assistant/echo.py)
    voice_over_echo: bool = False  # the microphone was louder than that echo alone (assistant/double_talk.py)
    # the share of the microphone's energy the echo canceller kept (its output's over its input),
    # where the microphone was loud enough to tell; None: too quiet, or no canceller
    echo_kept: float | None = None
    # the same audio for speech recognition of a voice over the assistant's: the echo taken out so
    # as to keep that voice, what is left of it and the room's noise suppressed (assistant/echo.py);
    # None: `samples` (no canceller)
    for_words: np.ndarray | None = None

    @property
    def heard_for_words(self) -> np.ndarray:
        """The audio speech recognition is to hear over the echo: `for_words` where the canceller
        gave it, else `samples`."""
        return self.samples if self.for_words is None else self.for_words


@dataclass(frozen=True)
class Utterance(Frame):
    """A stretch of speech cut out of the microphone stream by VAD."""

    audio: AudioData
    start: float  # seconds of the source's timeline
    end: float
    pause: int = 0  # it ended in this reported pause (SpeechPaused.pause), nothing said since; 0: none


@dataclass(frozen=True)
class SpeechPaused(Frame):
    """The user stopped talking for a moment: what they said so far, to transcribe early. If the
    words look finished, the turn ends here instead of after the full silence."""

    audio: AudioData
    pause: int  # which pause of the segmenter this is (a later one supersedes it)


@dataclass(frozen=True)
class LikelyTurn(Frame):
    """Words heard before a pause that look finished: the turn will most likely be exactly these
    once the pause is long enough, so the model may ready itself for it. The Transcriber sends
    `text`; the TurnTaker adds the turn it would make of them."""

    text: str
    turn: Turn | None = None


@dataclass(frozen=True)
class SpeechStarted(Frame):
    """The VAD heard the user start talking (an answer's voice pauses on this: a barge-in, maybe)."""

    at: float  # seconds of the source's timeline


@dataclass(frozen=True)
class NotATurn(Frame):
    """What the VAD heard made no turn: too short, no words, the assistant's own voice, or
    transcription failed. An answer's voice paused for it goes on."""

    reason: str


@dataclass(frozen=True)
class BargeIn(Frame):
    """Someone may be talking over an answer. `heard`: its voice pauses; `confirmed` (their words
    made a turn): it stops for good; `dismissed` (they made none: a cough, its own echo): it goes on."""

    state: str  # heard | confirmed | dismissed
    turn_id: str | None = None  # the answer talked over
    reason: str = ""


@dataclass(frozen=True)
class PushToTalk(Frame):
    """The push-to-talk button: pressed, whatever is heard is the user's turn; released, it is sent."""

    pressed: bool


@dataclass(frozen=True)
class Transcript(Frame):
    text: str
    utterance: Utterance | None = None


@dataclass(frozen=True)
class SourceStatus(Frame):
    """A capture source's state: `started`, `ended`, `unavailable` (with why), `error`."""

    source: str
    state: str
    detail: str = ""


@dataclass(frozen=True)
class SceneSeen(Frame):
    """What perception saw in one sampled camera frame: Frigate-style detections (label, score,
    box as fractions of the frame), for a preview that draws them."""

    detections: tuple[dict[str, object], ...]
    timestamp: float


@dataclass(frozen=True)
class SceneChange(Frame):
    """Something came into or left the camera's view ("A person came in, on the left.")."""

    text: str


@dataclass(frozen=True)
class Turn(Frame):
    """One user turn, ready for the model: words, media, and what the user wants back."""

    text: str = ""
    media: tuple[InputMedia, ...] = ()
    want: frozenset[str] | None = None  # None: the model decides; else names from models.WANTABLE
    conversation_id: str | None = None
    transcript: str = ""
    id: str = field(default_factory=new_id)
    end_of_speech: float | None = None  # time.monotonic() when the user stopped talking, for latency


# reply events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyEvent(Frame):
    turn_id: str


@dataclass(frozen=True)
class Accepted(ReplyEvent):
    queued: int = 0  # turns ahead of this one


@dataclass(frozen=True)
class TextDelta(ReplyEvent):
    text: str


@dataclass(frozen=True)
class FinalText(ReplyEvent):
    text: str
    seen: tuple[dict[str, object], ...] = ()  # what perception saw in each photo or frame of the turn


@dataclass(frozen=True)
class SpeechOutput(ReplyEvent):
    """One sentence of the answer, spoken."""

    audio: AudioData
    index: int
    text: str = ""
    path: str | None = None  # where history saved it, when it did


@dataclass(frozen=True)
class DecoderProgress(ReplyEvent):
    modality: str
    step: int
    total: int


@dataclass(frozen=True)
class MediaOutput(ReplyEvent):
    modality: str
    media: Media
    untrained_roles: tuple[str, ...] = ()
    path: str | None = None  # where history saved it, when it did
    via: str = "projector"  # how the decoder was conditioned: the output projector, or the caption "bridge"
    caption: str = ""  # the bridge's caption


@dataclass(frozen=True)
class Interruption(ReplyEvent):
    """The turn was cancelled (the user spoke over it, or pressed stop)."""

    reason: str = "barge-in"


@dataclass(frozen=True)
class ErrorEvent(ReplyEvent):
    """code: bad_request | busy | timeout | internal | cancelled."""

    code: str
    message: str


@dataclass(frozen=True)
class TurnDone(ReplyEvent):
    timings_ms: dict[str, float] = field(default_factory=dict)
    status: str = "done"  # done | interrupted | error
