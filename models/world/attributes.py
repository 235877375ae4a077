"""What the synthetic world holds: its exact constants, and the attributes that caption one medium.

The world is tiny and exact so that a model trained on it can be judged by measuring its outputs:
- an image is a 64×64 white picture of one filled circle, square or upward triangle in one of four colours;
- a sound is one second of a low, mid or high sine, steady or pulsing;
- a video is eight frames of one such shape moving left, right, up or down.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

# --- images -----------------------------------------------------------------------------------

#: The colours a shape may have, by name, as exact RGB values.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 70),
    "blue": (40, 90, 220),
    "yellow": (230, 200, 30),
}
BACKGROUND: tuple[int, int, int] = (255, 255, 255)
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")  # the triangle points up

IMAGE_SIZE = 64  # images and video frames are IMAGE_SIZE × IMAGE_SIZE
IMAGE_BOX_RANGE = (20, 44)  # side of a still shape's bounding box, inclusive

# --- sounds -----------------------------------------------------------------------------------

#: The pitches a tone may have, by name, in Hz.
PITCHES: dict[str, float] = {"low": 262.0, "mid": 523.0, "high": 1046.0}
PATTERNS: tuple[str, ...] = ("steady", "pulsing")

SAMPLE_RATE = 16_000
SOUND_SECONDS = 1.0
AMPLITUDE = 0.5
PULSE_SECONDS = 0.125  # a pulsing tone is on for this long, then off for this long, and so on
FADE_SECONDS = 0.005  # every onset and offset is faded over this long, so there are no clicks

# --- videos -----------------------------------------------------------------------------------

DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")  # on screen: "up" is towards row 0

VIDEO_FRAMES = 8
VIDEO_FPS = 4.0
VIDEO_BOX_RANGE = (16, 24)  # side of a moving shape's bounding box, inclusive
VIDEO_STEP_RANGE = (3, 4)  # pixels moved per frame, inclusive; constant within a clip


def _check(name: str, value: str, allowed: tuple[str, ...] | dict[str, object]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}: choose from {', '.join(allowed)}")


@dataclass(frozen=True)
class ImageAttributes:
    """One still shape: its colour and its shape."""

    colour: str
    shape: str

    def __post_init__(self) -> None:
        _check("colour", self.colour, COLOURS)
        _check("shape", self.shape, SHAPES)

    @property
    def caption(self) -> str:
        """"a red circle"."""
        return f"a {self.colour} {self.shape}"

    @classmethod
    def every(cls) -> list[ImageAttributes]:
        """Every colour × shape, in a fixed order."""
        return [cls(colour, shape) for colour, shape in itertools.product(COLOURS, SHAPES)]


@dataclass(frozen=True)
class SoundAttributes:
    """One tone: its pitch and whether it is steady or pulsing."""

    pitch: str
    pattern: str

    def __post_init__(self) -> None:
        _check("pitch", self.pitch, PITCHES)
        _check("pattern", self.pattern, PATTERNS)

    @property
    def caption(self) -> str:
        """"a pulsing high tone"."""
        return f"a {self.pattern} {self.pitch} tone"

    @classmethod
    def every(cls) -> list[SoundAttributes]:
        """Every pitch × pattern, in a fixed order."""
        return [cls(pitch, pattern) for pitch, pattern in itertools.product(PITCHES, PATTERNS)]


@dataclass(frozen=True)
class VideoAttributes:
    """One moving shape: its colour, its shape and the way it moves."""

    colour: str
    shape: str
    direction: str

    def __post_init__(self) -> None:
        _check("colour", self.colour, COLOURS)
        _check("shape", self.shape, SHAPES)
        _check("direction", self.direction, DIRECTIONS)

    @property
    def caption(self) -> str:
        """"a blue square moving left"."""
        return f"a {self.colour} {self.shape} moving {self.direction}"

    @property
    def still(self) -> ImageAttributes:
        """The same shape, standing still."""
        return ImageAttributes(self.colour, self.shape)

    @classmethod
    def every(cls) -> list[VideoAttributes]:
        """Every colour × shape × direction, in a fixed order."""
        return [cls(c, s, d) for c, s, d in itertools.product(COLOURS, SHAPES, DIRECTIONS)]


Attributes = ImageAttributes | SoundAttributes | VideoAttributes

#: Every caption's attributes of each kind of medium, in each class's fixed order.
EVERY: dict[str, list[Attributes]] = {
    "image": list(ImageAttributes.every()),
    "audio": list(SoundAttributes.every()),
    "video": list(VideoAttributes.every()),
}


def parse_caption(caption: str) -> Attributes | None:
    """The attributes a world caption names ("a red circle" → ImageAttributes), or None for any other text.

    Surrounding whitespace, letter case and one trailing full stop are forgiven.
    """
    words = caption.strip().lower().removesuffix(".").split()
    if len(words) == 3 and words[0] == "a" and words[1] in COLOURS and words[2] in SHAPES:
        return ImageAttributes(words[1], words[2])
    if len(words) == 4 and words[0] == "a" and words[1] in PATTERNS and words[2] in PITCHES and words[3] == "tone":
        return SoundAttributes(words[2], words[1])
    if (len(words) == 5 and words[0] == "a" and words[1] in COLOURS and words[2] in SHAPES
            and words[3] == "moving" and words[4] in DIRECTIONS):
        return VideoAttributes(words[1], words[2], words[4])
    return None
