"""The world evaluation: every figure on the tiny model and on a perfect oracle, the CLI, and each judge shown
to fail and to succeed."""

from __future__ import annotations

import functools
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import main
from models.media.types import AudioData, ImageData, VideoData
from models.modality import Modality
from models.pipeline import DecoderStep, GeneratedText, MediaResult, ModelEvent, ModelRequest, ReplyDone, SignalEmitted
from models.signal_llm import GenerationCancelled
from models.weights import WeightSource
from models.world import evaluation
from models.world.analysers import analyse_image, analyse_sound, analyse_video
from models.world.attributes import DIRECTIONS, Attributes, ImageAttributes, SoundAttributes, VideoAttributes
from models.world.dataset import generate_world
from models.world.evaluation import evaluate_world, open_world
from models.world.judges import (
    CHAT_QUESTIONS,
    judge_caption,
    judge_chat,
    judge_generation,
    judge_switching,
    words_of,
)
from models.world.render import render_image, render_sound, render_video
from models.world.report import GOALS, WorldReport, format_table

LIMIT = 2


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("world")
    generate_world(folder, seed=1, train_per_kind=1, heldout_per_kind=3)
    return folder


@pytest.fixture(scope="module")
def tiny_run(tiny_model, world: Path) -> tuple[WorldReport, list[tuple[str, int, int]]]:
    heard: list[tuple[str, int, int]] = []
    report = evaluate_world(tiny_model, world, limit=LIMIT, progress=lambda *step: heard.append(step),
                            max_new_tokens=8)
    return report, heard


# --- the tiny model: garbage answers, but every figure there and counted right ---------------------


def test_every_figure_is_a_share_of_the_limited_items(tiny_run: tuple[WorldReport, list]) -> None:
    report, _ = tiny_run
    scores = report.scores()
    assert list(scores) == list(GOALS)
    for name, score in scores.items():
        assert score.total == LIMIT, name
        assert 0.0 <= score.accuracy <= 1.0, name
        assert len(score.failures) == min(score.total - score.correct, 3), name
    assert len(report.chat_lost) == report.chat.total - report.chat.correct
    assert 0 <= report.chat_signals <= report.chat.total
    assert report.profile == "tiny-saved" and report.weights["llm"]["trained"] is False
    assert set(report.section_seconds) == {"captioning", "generation", "switching", "chat"}
    assert report.seconds >= sum(report.section_seconds.values()) > 0


def test_progress_is_told_per_item(tiny_run: tuple[WorldReport, list]) -> None:
    _, heard = tiny_run
    for section in GOALS:
        if not section.startswith("generation"):
            assert (section, 0, LIMIT) in heard and (section, LIMIT, LIMIT) in heard, section
    assert ("generation sound", LIMIT, LIMIT) in heard


def test_the_table_puts_each_figure_beside_its_goal(tiny_run: tuple[WorldReport, list]) -> None:
    report, _ = tiny_run
    table = format_table(report)
    for name in GOALS:
        assert name in table
    assert ">= 95%" in table and ">= 98%" in table and "none lost" in table
    assert "untrained (random weights): " in table
    data = json.loads(json.dumps(report.as_dict()))
    assert set(data["figures"]) == set(GOALS)
    assert data["figures"]["generation video shape"]["goal"] == 0.90


def test_only_generation_waits_for_the_decoders(tiny_model, world: Path) -> None:
    run = evaluation._Run(tiny_model, world, None, lambda *step: None, max_new_tokens=4)
    judged = run._ask("draw", (), want={Modality.IMAGE}, decode=True)
    assert judged.signalled == [Modality.IMAGE] and isinstance(judged.media[Modality.IMAGE], ImageData)
    counted = run._ask("draw", (), want={Modality.IMAGE}, decode=False)  # the decoder is stopped at its first step
    assert counted.signalled == [Modality.IMAGE] and counted.media == {}


# --- a perfect model scores 100 % on every figure -------------------------------------------------


def _captions_in(text: str, kinds: tuple[type, ...]) -> Attributes | None:
    """The longest world caption of one of ``kinds`` in ``text``."""
    every = [a for kind in kinds for a in kind.every()]
    found = [a for a in every if a.caption in text.lower()]
    return max(found, key=lambda a: len(a.caption), default=None)


@dataclass
class _Profile:
    name: str = "oracle"


class Oracle:
    """A model that answers the world perfectly: it measures media, reads captions and follows references."""

    profile = _Profile()
    media = {ImageAttributes: (Modality.IMAGE, render_image), SoundAttributes: (Modality.AUDIO, render_sound),
             VideoAttributes: (Modality.VIDEO, render_video)}

    def sources(self) -> dict[str, WeightSource]:
        return {"llm": WeightSource("folder", "oracle", trained=True)}

    def respond(self, request: ModelRequest, should_stop: Callable[[], bool],
                on_progress: Callable[[DecoderStep], None]) -> Iterator[ModelEvent]:
        answer, make = self._answer(request)
        yield GeneratedText(answer)
        if make is not None and request.want is None:
            modality, render = self.media[type(make)]
            yield SignalEmitted(modality)
            on_progress(DecoderStep(modality, 1, 1))
            if should_stop():
                raise GenerationCancelled
            yield MediaResult(modality, render(make, np.random.default_rng(0)), ())
        yield ReplyDone(answer, {})

    @staticmethod
    def _answer(request: ModelRequest) -> tuple[str, Attributes | None]:
        if request.media:
            medium = request.media[0]
            seen = {ImageData: analyse_image, AudioData: analyse_sound, VideoData: analyse_video}[type(medium)](medium)
            return f"It is {seen.caption}.", None
        for item in CHAT_QUESTIONS:
            if item.question == request.text:
                return f"That is {item.keywords[0]}.", None
        named = _captions_in(request.text, (ImageAttributes, SoundAttributes, VideoAttributes))
        if named is None:  # "it": the shape of the last caption in the conversation
            last = _captions_in(request.history[-1]["content"], (VideoAttributes, ImageAttributes))
            still = last.still if isinstance(last, VideoAttributes) else last
            direction = next((d for d in DIRECTIONS if d in words_of(request.text)), None)
            named = still if direction is None else VideoAttributes(still.colour, still.shape, direction)
        return f"Here is {named.caption}.", named


def _records(world: Path, name: str) -> list[dict]:
    return json.loads((world / "heldout" / name).read_text(encoding="utf-8"))


def test_a_perfect_model_scores_every_figure_full(world: Path) -> None:
    report = evaluate_world(Oracle(), world)  # type: ignore[arg-type]
    for name, score in report.scores().items():
        assert score.correct == score.total > 0, (name, score.failures)
    conversations = [*_records(world, "instruction.json"), *_records(world, "mosit.json")]
    assert report.switching.total == sum(len(record["conversations"]) // 2 for record in conversations)
    assert report.chat.total == len(CHAT_QUESTIONS) and report.chat_lost == [] and report.chat_signals == 0
    assert "NO" not in format_table(report).split()


# --- the command line -------------------------------------------------------------------------------


def _eval(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main.main(["eval", *args])
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def test_cli_prints_one_json_object(tiny_saved_profile: Path, world: Path) -> None:
    code, out, err = _eval("--suite", "world", "--profile", str(tiny_saved_profile), "--world", str(world),
                           "--limit", "1", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["suite"] == "world" and result["limit"] == 1 and result["profile"] == "tiny-saved"
    assert {name: figure["total"] for name, figure in result["figures"].items()} == dict.fromkeys(GOALS, 1)
    assert all(0.0 <= figure["accuracy"] <= 1.0 for figure in result["figures"].values())
    assert "general chat: 1/1" in err


@pytest.mark.parametrize("make, problem", [
    (lambda folder: folder, "is not a world folder"),
    (lambda folder: folder / "missing", "is not a world folder"),
    (lambda folder: (folder / "manifest.json").write_text("[1, 2]") and folder, "is not a world manifest"),
])
def test_cli_refuses_a_folder_that_is_no_world(tmp_path: Path, make: Callable[[Path], Path], problem: str) -> None:
    code, out, err = _eval("--world", str(make(tmp_path)), "--profile", "no-such-profile-is-loaded")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and problem in err and err.count("\n") == 1


def test_cli_refuses_a_limit_below_one(world: Path) -> None:
    code, _, err = _eval("--world", str(world), "--limit", "0")
    assert code == 2 and err.startswith("error: --limit")


def test_the_default_world_is_generated_once_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Path] = []

    def small_world(folder: Path, seed: int) -> None:
        made.append(folder)
        functools.partial(generate_world, train_per_kind=1, heldout_per_kind=1)(folder, seed=seed)

    monkeypatch.setenv("NEXTGPT_CACHE", str(tmp_path))
    monkeypatch.setattr(evaluation, "generate_world", small_world)
    assert open_world() == tmp_path / "world-seed0"
    assert open_world() == tmp_path / "world-seed0"
    assert made == [tmp_path / "world-seed0"]


# --- the judges, failing and succeeding -------------------------------------------------------------


@pytest.mark.parametrize("expected, answer, right", [
    (ImageAttributes("red", "circle"), "It is a red circle.", True),
    (ImageAttributes("red", "circle"), "A RED CIRCLE!", True),
    (ImageAttributes("red", "circle"), "It is a blue circle.", False),  # wrong colour
    (ImageAttributes("red", "circle"), "It is something red.", False),  # no shape
    (ImageAttributes("red", "circle"), "A red or blue circle.", False),  # contradicting colours
    (ImageAttributes("red", "circle"), "A red circle, or a square.", False),  # contradicting shapes
    (ImageAttributes("red", "circle"), "", False),
    (SoundAttributes("high", "pulsing"), "I hear a pulsing high tone.", True),
    (SoundAttributes("high", "pulsing"), "I hear a high tone.", False),  # no pattern
    (SoundAttributes("high", "pulsing"), "A pulsing low tone.", False),  # wrong pitch
    (SoundAttributes("high", "pulsing"), "A steady, then pulsing high tone.", False),
    (VideoAttributes("blue", "square", "left"), "The video shows a blue square moving left.", True),
    (VideoAttributes("blue", "square", "left"), "A blue square moving.", False),  # no direction
    (VideoAttributes("blue", "square", "left"), "A blue square moving left, then up.", False),
    (VideoAttributes("blue", "square", "left"), "A green square moving left.", False),
])
def test_caption_judging(expected: Attributes, answer: str, right: bool) -> None:
    assert judge_caption(expected, answer) is right


@pytest.mark.parametrize("expected, emitted, right", [
    ([], [], True),
    (["image"], [Modality.IMAGE], True),
    (["audio", "video"], ["video", "audio", "video"], True),
    (["image"], [], False),
    ([], ["audio"], False),
    (["video"], ["image", "video"], False),
])
def test_switching_judging(expected: list[str], emitted: list[str], right: bool) -> None:
    assert judge_switching(expected, emitted) is right


@pytest.mark.parametrize("keywords, answer, right", [
    (("paris",), "The capital of France is Paris.", True),
    (("paris",), "It is Lyon.", False),
    (("paris",), "Parisian food is good.", False),  # a whole word, not a piece of one
    (("7", "seven"), "A week has seven days.", True),
    (("7", "seven"), "A week is approximately 7 days.", True),
    (("7", "seven"), "17 days.", False),
    (("cat",), "", False),
])
def test_chat_judging(keywords: tuple[str, ...], answer: str, right: bool) -> None:
    assert judge_chat(keywords, answer) is right


def test_generation_judging_on_rendered_truth_and_on_blank_media() -> None:
    rng = np.random.default_rng(0)
    picture, tone = ImageAttributes("green", "triangle"), SoundAttributes("high", "pulsing")
    clip = VideoAttributes("yellow", "square", "up")
    assert judge_generation(picture, render_image(picture, rng)) == {"colour": True, "shape": True}
    assert judge_generation(tone, render_sound(tone, rng)) == {"pitch": True, "pattern": True}
    assert judge_generation(clip, render_video(clip, rng)) == {"direction": True, "colour": True, "shape": True}
    blank = ImageData(np.full((64, 64, 3), 255, np.uint8))
    assert judge_generation(picture, blank) == {"colour": False, "shape": False}
    assert judge_generation(tone, AudioData(np.zeros(16000, np.float32), 16000)) == {"pitch": False,
                                                                                    "pattern": False}
    still = VideoData(np.full((8, 64, 64, 3), 255, np.uint8), 4.0)
    assert judge_generation(clip, still) == {"direction": False, "colour": False, "shape": False}
    assert judge_generation(picture, None) == {"colour": False, "shape": False}  # nothing made
    assert judge_generation(picture, render_sound(tone, rng)) == {"colour": False, "shape": False}  # wrong kind
    # each attribute counts on its own: a red circle asked for as a red square is half right
    assert judge_generation(ImageAttributes("red", "square"), render_image(ImageAttributes("red", "circle"), rng)) \
        == {"colour": True, "shape": False}
