"""The decoders suite: each decoder alone on world captions, the trained ones told apart from random ones."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

import main
from models.model_set import ModelSet
from models.profile import load_profile
from models.world.attributes import VideoAttributes
from models.world.decoder_evaluation import evaluate_decoders, format_decoder_table, sampled
from models.world.evaluation import GENERATION_FIGURES

FIGURES = {f"{label} {attribute}" for label, attributes in GENERATION_FIGURES.values() for attribute in attributes}


def _eval(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main.main(["eval", "--suite", "decoders", *args])
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def test_the_shipped_decoders_draw_what_random_ones_cannot(tiny_saved_profile: Path) -> None:
    heard: list[tuple[str, int, int]] = []
    shipped = evaluate_decoders(ModelSet(load_profile("local")), limit=3, seeds=(0,),
                                progress=lambda *step: heard.append(step))
    assert set(shipped.scores) == FIGURES and all(score.total == 3 for score in shipped.scores.values())
    # the world-trained image and sound decoders: right on nearly every caption (docs/world.md)
    trained = ("image colour", "image shape", "sound pitch", "sound pattern")
    assert sum(shipped.scores[name].correct for name in trained) >= 11
    assert all(source["trained"] for source in shipped.weights.values())
    assert ("decoder video", 3, 3) in heard and ("decoder image", 0, 3) in heard

    random = evaluate_decoders(ModelSet(load_profile(tiny_saved_profile)), limit=3, seeds=(0,))
    assert sum(random.scores[name].correct for name in trained) <= 4  # noise: the analysers read no shape
    table = format_decoder_table(random)
    assert "image colour" in table and "NO" in table.split()


def test_a_limit_samples_captions_across_every_attribute() -> None:
    chosen = sampled(VideoAttributes.every(), 8)
    assert len(chosen) == len(set(chosen)) == 8
    assert len({item.direction for item in chosen}) >= 3 and len({item.colour for item in chosen}) >= 3
    assert sampled(VideoAttributes.every(), 100) == VideoAttributes.every()


def test_cli_prints_one_json_object(tiny_saved_profile: Path) -> None:
    code, out, err = _eval("--profile", str(tiny_saved_profile), "--limit", "1", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["suite"] == "decoders" and result["limit"] == 1 and result["seeds"] == [0, 1]
    assert {name: figure["total"] for name, figure in result["figures"].items()} == dict.fromkeys(FIGURES, 2)
    assert result["figures"]["video direction"]["goal"] == 0.9
    assert "decoder video: 2/2" in err


@pytest.mark.parametrize("args, problem", [
    (("--world", "/tmp"), "--world is for the world suite"),
    (("--limit", "0"), "--limit must be at least 1"),
    (("--profile", "no-such-profile"), "no-such-profile"),
])
def test_cli_refuses_what_the_user_can_fix(args: tuple[str, ...], problem: str) -> None:
    code, out, err = _eval(*args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and problem in err
