"""The reading probe: the shipped adapters read every attribute of held-out clips, untrained projectors do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.world import VideoAttributes, generate_world
from models.world.reading_probe import _swapped, reading_probe


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("world")
    generate_world(folder, seed=1, train_per_kind=1, heldout_per_kind=6)
    return folder


def test_the_shipped_adapters_read_what_untrained_projectors_cannot(world: Path, tmp_path: Path) -> None:
    shipped = reading_probe("local", None, world, ("video",), count=4)  # nearly all read right (docs/world.md)
    assert {name: (score.correct, score.total) for name, score in shipped.items()} == {
        "video colour": (4, 4), "video shape": (4, 4), "video direction": (4, 4)}
    untrained = reading_probe("local", tmp_path, world, ("video",), count=4)  # an empty adapters folder
    assert sum(score.correct for score in untrained.values()) <= 6  # of 12; chance is 3 to 4


def test_a_swapped_answer_names_the_other_value_and_keeps_its_case() -> None:
    truth = VideoAttributes("red", "circle", "left")
    assert _swapped("A red circle moving left.", truth, "direction", "up") == "A red circle moving up."
    assert _swapped("It shows a red circle moving left", truth, "colour", "blue") == \
        "It shows a blue circle moving left"
