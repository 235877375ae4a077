"""The world's constants, attribute dataclasses, captions and caption parsing."""

from __future__ import annotations

import pytest

from models.world.attributes import (
    COLOURS,
    DIRECTIONS,
    PATTERNS,
    PITCHES,
    SHAPES,
    ImageAttributes,
    SoundAttributes,
    VideoAttributes,
    parse_caption,
)


def test_the_world_is_exactly_as_specified() -> None:
    assert COLOURS == {"red": (220, 40, 40), "green": (40, 170, 70), "blue": (40, 90, 220), "yellow": (230, 200, 30)}
    assert SHAPES == ("circle", "square", "triangle")
    assert PITCHES == {"low": 262.0, "mid": 523.0, "high": 1046.0}
    assert PATTERNS == ("steady", "pulsing")
    assert DIRECTIONS == ("left", "right", "up", "down")


def test_captions() -> None:
    assert ImageAttributes("red", "circle").caption == "a red circle"
    assert SoundAttributes("high", "pulsing").caption == "a pulsing high tone"
    assert SoundAttributes("low", "steady").caption == "a steady low tone"
    assert VideoAttributes("blue", "square", "left").caption == "a blue square moving left"
    assert VideoAttributes("blue", "square", "left").still == ImageAttributes("blue", "square")


def test_every_combination_once() -> None:
    assert len(set(ImageAttributes.every())) == 12
    assert len(set(SoundAttributes.every())) == 6
    assert len(set(VideoAttributes.every())) == 48


@pytest.mark.parametrize("make", [
    lambda: ImageAttributes("purple", "circle"),
    lambda: ImageAttributes("red", "hexagon"),
    lambda: SoundAttributes("medium", "steady"),
    lambda: SoundAttributes("low", "beeping"),
    lambda: VideoAttributes("red", "circle", "north"),
])
def test_unknown_values_are_refused(make) -> None:
    with pytest.raises(ValueError, match="unknown"):
        make()


def test_parse_caption_inverts_caption() -> None:
    for attrs in [*ImageAttributes.every(), *SoundAttributes.every(), *VideoAttributes.every()]:
        assert parse_caption(attrs.caption) == attrs
    assert parse_caption("  A Red Circle. ") == ImageAttributes("red", "circle")
    for text in ("", "a red", "a purple circle", "a red circle moving sideways", "a loud low tone", "hello"):
        assert parse_caption(text) is None
