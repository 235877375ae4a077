"""The training-record loader, on data files written here in every NExT-GPT format."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any

import pytest

from models.errors import InputError
from models.modality import Modality
from models.training.records import (
    Example,
    MediaInput,
    MediaOutput,
    RecordError,
    Turn,
    load_records,
)

MEDIA_FILES = ("images/a.png", "images/b.png", "sounds/s.wav", "sounds/t.wav", "videos/v.mp4", "videos/w.mp4")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A media root holding a few tiny input files (the loader only checks that they exist)."""
    media = tmp_path / "media"
    for name in MEDIA_FILES:
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(b"\x89PNG fake" if name.endswith(".png") else b"RIFF fake")
    return media


def write(path: Path, records: list[Any]) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def one(tmp_path: Path, root: Path, record: dict) -> Example:
    records = load_records([write(tmp_path / "data.json", [record])], root)
    assert len(records.examples) == 1
    return records.examples[0]


def human(value: str, **extra: Any) -> dict:
    return {"from": "human", "value": value, **extra}


def gpt(value: str, **extra: Any) -> dict:
    return {"from": "gpt", "value": value, **extra}


# --- formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("modality", "file"), [("image", "images/a.png"), ("audio", "sounds/s.wav"),
                                                ("video", "videos/v.mp4")])
def test_comprehension(tmp_path: Path, root: Path, modality: str, file: str) -> None:
    record = {f"input_{modality}": file, "conversations": [human(f"<{modality}>\nWhat is this?"), gpt("a thing")]}
    example = one(tmp_path, root, record)
    assert example.kind == "comprehension"
    assert example.source == f"{tmp_path / 'data.json'}[0]"
    assert example.turns == (
        Turn("user", f"<{modality}>\nWhat is this?", (MediaInput(Modality(modality), (root / file).resolve()),), ()),
        Turn("assistant", "a thing", (), ()),
    )


def test_generation_with_embeddings(tmp_path: Path, root: Path) -> None:
    record = {"output_image": "images/gen.png", "image_captions": ["a red circle"],
              "image_caption_embeddings": ["embeddings/image/00001.npy"],
              "conversations": [human("Draw a red circle."), gpt("Here is a red circle. <image>")]}
    example = one(tmp_path, root, record)
    assert example.kind == "generation"
    user, answer = example.turns
    assert user.inputs == () and answer.inputs == ()
    # neither the embedding nor the output medium exists: both are allowed to be missing
    embedding, medium = (root / "embeddings/image/00001.npy").resolve(), (root / "images/gen.png").resolve()
    assert answer.outputs == (MediaOutput(Modality.IMAGE, "a red circle", embedding, medium),)


def test_generation_without_embeddings(tmp_path: Path, root: Path) -> None:
    record = {"audio_captions": "a dog barking",
              "conversations": [human("Make a dog bark."), gpt("<audio>")]}
    example = one(tmp_path, root, record)
    assert example.kind == "generation"
    assert example.turns[1].outputs == (MediaOutput(Modality.AUDIO, "a dog barking", None, None),)


def test_instruction_per_turn_caption_takes_precedence(tmp_path: Path, root: Path) -> None:
    record = {"image_captions": ["the list's caption"], "image_caption_embeddings": ["embeddings/image/00001.npy"],
              "conversations": [human("Can you draw me a red circle?", input_modality="text"),
                                gpt("Sure, here it is. <image>", output_modality="image", caption="a red circle")]}
    example = one(tmp_path, root, record)
    assert example.kind == "instruction"
    assert example.turns[1].outputs == (
        MediaOutput(Modality.IMAGE, "a red circle", (root / "embeddings/image/00001.npy").resolve(), None),)


def test_instruction_with_only_per_turn_captions(tmp_path: Path, root: Path) -> None:
    record = {"video_captions": ["a wave"], "video_caption_embeddings": ["wave.npy"],
              "conversations": [human("Show me the sea."), gpt("The sea: <video>", caption="the calm sea"),
                                human("And a wave?"), gpt("A wave: <video>")]}
    example = one(tmp_path, root, record)
    # the first <video> has its own caption; the list's single caption (and embedding) goes to the other
    assert [(o.caption, o.embedding) for o in example.turns[1].outputs + example.turns[3].outputs] == [
        ("the calm sea", None), ("a wave", (root / "wave.npy").resolve())]
    assert example.kind == "mosit"


def test_single_exchange_with_per_turn_caption_and_no_list(tmp_path: Path, root: Path) -> None:
    record = {"conversations": [human("Show me the sea."), gpt("The sea: <video>", caption="the calm sea")]}
    example = one(tmp_path, root, record)
    assert example.turns[1].outputs == (MediaOutput(Modality.VIDEO, "the calm sea", None, None),)
    assert example.kind == "instruction"


def test_single_exchange_with_inputs_and_outputs_is_instruction(tmp_path: Path, root: Path) -> None:
    record = {"input_image": "images/a.png", "audio_captions": ["rain"],
              "conversations": [human("<image>\nWhat would this sound like?"), gpt("Like this: <audio>")]}
    assert one(tmp_path, root, record).kind == "instruction"


def test_mosit_multi_turn(tmp_path: Path, root: Path) -> None:
    record = {"input_audio": ["sounds/s.wav", "sounds/t.wav"], "input_image": ["images/a.png", "images/b.png"],
              "image_captions": ["a blue square", "a green dot"], "video_captions": "a spinning top",
              "conversation": [  # NExT-GPT's alias
                  {"from": "system", "value": "You are helpful."},
                  {"from": "user", "value": "<audio>\nWhat do you hear?"},
                  {"from": "assistant", "value": "a steady low tone"},
                  human("<image> and <audio> and <image>: compare."),
                  gpt("Here you go. <image>"),
                  human("More."),
                  gpt("<video> and <image>"),
              ]}
    example = one(tmp_path, root, record)
    assert example.kind == "mosit"
    assert [turn.role for turn in example.turns] == ["system", "user", "assistant"] * 1 + ["user", "assistant"] * 2
    path = lambda name: (root / name).resolve()  # noqa: E731
    assert example.turns[1].inputs == (MediaInput(Modality.AUDIO, path("sounds/s.wav")),)
    assert example.turns[3].inputs == (MediaInput(Modality.IMAGE, path("images/a.png")),
                                       MediaInput(Modality.AUDIO, path("sounds/t.wav")),
                                       MediaInput(Modality.IMAGE, path("images/b.png")))
    assert [o.caption for o in example.turns[4].outputs] == ["a blue square"]
    assert [(o.modality, o.caption) for o in example.turns[6].outputs] == [
        (Modality.VIDEO, "a spinning top"), (Modality.IMAGE, "a green dot")]
    assert example.turns[0].inputs == example.turns[0].outputs == ()


def test_llava_text_only(tmp_path: Path, root: Path) -> None:
    record = {"id": "x1", "conversations": [human("Hi"), gpt("Hello!"), human("Bye"), gpt("Goodbye!")]}
    example = one(tmp_path, root, record)
    assert example.kind == "text"
    assert [(t.role, t.text) for t in example.turns] == [("user", "Hi"), ("assistant", "Hello!"),
                                                          ("user", "Bye"), ("assistant", "Goodbye!")]


@pytest.mark.parametrize(("record", "prompt"), [
    ({"instruction": "Translate.", "input": "bonjour", "output": "hello"}, "Translate.\n\nbonjour"),
    ({"instruction": "Translate.", "input": "", "output": "hello"}, "Translate."),
    ({"instruction": "Translate.", "output": "hello"}, "Translate."),
])
def test_alpaca(tmp_path: Path, root: Path, record: dict, prompt: str) -> None:
    example = one(tmp_path, root, record)
    assert example.kind == "text"
    assert example.turns == (Turn("user", prompt, (), ()), Turn("assistant", "hello", (), ()))


def test_jsonl_keeps_line_indices(tmp_path: Path, root: Path) -> None:
    path = tmp_path / "data.jsonl"
    lines = [json.dumps({"instruction": "a", "output": "b"}), "",
             json.dumps({"input_image": "images/a.png", "conversations": [human("<image>"), gpt("c")]})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = load_records([path], root)
    assert [(e.source, e.kind) for e in records.examples] == [(f"{path}[0]", "text"), (f"{path}[2]", "comprehension")]


def test_several_files_and_absolute_paths(tmp_path: Path, root: Path) -> None:
    absolute = tmp_path / "elsewhere.png"
    absolute.write_bytes(b"x")
    first = write(tmp_path / "one.json", [{"instruction": "a", "output": "b"}])
    second = write(tmp_path / "two.json",
                   [{"input_image": str(absolute), "conversations": [human("<image>"), gpt("c")]}])
    records = load_records([first, second], root)
    assert [e.source for e in records.examples] == [f"{first}[0]", f"{second}[0]"]
    assert records.examples[1].turns[0].inputs[0].path == absolute.resolve()


# --- bad records ---------------------------------------------------------------------------------

GOOD = {"instruction": "a", "output": "b"}
IMG = "images/a.png"

BAD = {
    "not an object": ([1, 2], "must be an object, not a list"),
    "a string": ("hello", "must be an object, not a string"),
    "no conversation": ({"id": 3, "text": "hi"}, 'no "conversations" and not Alpaca'),
    "conversations not a list": ({"conversations": "hi"}, '"conversations" must be a list'),
    "alpaca output not a string": ({"instruction": "a", "output": 3}, 'Alpaca "output" must be a string'),
    "turn not an object": ({"conversations": [human("hi"), "hello"]}, "turn 1 must be an object"),
    "turn lacks from": ({"conversations": [{"value": "hi"}, gpt("x")]}, 'turn 0 has no "from"'),
    "turn lacks value": ({"conversations": [human("hi"), {"from": "gpt"}]}, 'turn 1 has no "value"'),
    "unknown role": ({"conversations": [human("hi"), {"from": "bot", "value": "x"}]}, 'turn 1 is from "bot"'),
    "value not a string": ({"conversations": [human("hi"), gpt(["x"])]}, 'turn 1 "value" must be a string'),
    "no assistant turn": ({"conversations": [human("hi")]}, "no assistant turn"),
    "empty conversation": ({"conversations": []}, "no assistant turn"),
    "two user turns in a row": ({"conversations": [human("a"), human("b"), gpt("c")]},
                                "turn 1 is from user where assistant should speak"),
    "system turn later": ({"conversations": [human("a"), gpt("b"), {"from": "system", "value": "c"}, gpt("d")]},
                          "turn 2 is from system where user should speak"),
    "unanswered last turn": ({"conversations": [human("a"), gpt("b"), human("c")]}, "the last turn (2) is a user turn"),
    "media not a string": ({"input_image": 7, "conversations": [human("<image>"), gpt("x")]},
                           "input_image must be a string or a list of strings, not a number"),
    "media list with a non-string": ({"input_image": [IMG, None], "conversations": [human("<image><image>"), gpt("x")]},
                                     "input_image[1] must be a string"),
    "fewer inputs than placeholders": ({"input_image": IMG, "conversations": [human("<image> <image>"), gpt("x")]},
                                       "2 <image> in human turns but 1 input_image entries"),
    "input without placeholder": ({"input_audio": "sounds/s.wav", "conversations": [human("hear"), gpt("x")]},
                                  "0 <audio> in human turns but 1 input_audio entries"),
    "placeholder in gpt turn is no input": ({"input_image": IMG, "conversations": [human("hi"), gpt("<image>")]},
                                            "0 <image> in human turns but 1 input_image"),
    "outputs without captions": ({"conversations": [human("draw"), gpt("<image>")]},
                                 "1 <image> in gpt turns but 0 image_captions"),
    "more captions than outputs": ({"video_captions": ["a", "b"], "conversations": [human("film"), gpt("<video>")]},
                                   "1 <video> in gpt turns but 2 video_captions"),
    "embeddings differ from captions": ({"image_captions": ["a"], "image_caption_embeddings": ["e1.npy", "e2.npy"],
                                         "conversations": [human("draw"), gpt("<image>")]},
                                        "2 image_caption_embeddings but 1 image_captions"),
    "output media differ from placeholders": ({"image_captions": ["a"], "output_image": ["x.png", "y.png"],
                                               "conversations": [human("draw"), gpt("<image>")]},
                                              "1 <image> in gpt turns but 2 output_image entries"),
    "input_modality contradicts": ({"input_image": IMG, "conversations": [human("<image>", input_modality="audio"),
                                                                          gpt("x")]},
                                   'turn 0 says input_modality "audio" but has <image>'),
    "output_modality contradicts": ({"conversations": [human("draw"), gpt("done", output_modality="image")]},
                                    'turn 1 says output_modality "image" but has no placeholder'),
    "unknown modality": ({"conversations": [human("hi", input_modality=["text", "smell"]), gpt("x")]},
                         'turn 0 "input_modality" names smell'),
    "empty caption in list": ({"image_captions": [" "], "conversations": [human("draw"), gpt("<image>")]},
                              "image_captions[0] is empty"),
    "empty per-turn caption": ({"conversations": [human("draw"), gpt("<image>", caption="")]},
                               "turn 1 has an empty caption"),
    "per-turn caption with two outputs": ({"image_captions": ["a", "b"],
                                           "conversations": [human("draw"), gpt("<image><image>", caption="c")]},
                                          "turn 1 has a caption but 2 output placeholders"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_record_raises_with_file_index_and_problem(tmp_path: Path, root: Path, name: str) -> None:
    record, message = BAD[name]
    path = write(tmp_path / "data.json", [GOOD, record])
    with pytest.raises(RecordError) as caught:
        load_records([path], root)
    error = caught.value
    assert isinstance(error, InputError)
    assert (error.file, error.index) == (path, 1)
    assert message in error.problem
    assert str(error) == f"{path}[1]: {error.problem}"


def test_missing_input_names_the_resolved_path_and_the_media_root(tmp_path: Path, root: Path) -> None:
    path = write(tmp_path / "data.json", [{"input_image": "images/gone.png",
                                           "conversations": [human("<image>"), gpt("x")]}])
    with pytest.raises(RecordError) as caught:
        load_records([path], root)
    assert str(caught.value) == (f'{path}[0]: input_image "images/gone.png" not found under {root}: '
                                 f"no file {(root / 'images/gone.png').resolve()} (is --media-root right?)")


def test_bad_jsonl_line_is_a_bad_record_at_its_line(tmp_path: Path, root: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        load_records([path], root)
    assert (caught.value.file, caught.value.index) == (path, 2)
    assert "line 3 is not JSON" in caught.value.problem
    records = load_records([path], root, skip_bad=True)
    assert len(records.examples) == 2 and [e.index for e in records.skipped] == [2]


def test_skip_bad_keeps_the_good_and_counts_the_bad(tmp_path: Path, root: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    bad_first = write(tmp_path / "a.json", [GOOD, "oops", GOOD, {"conversations": [human("hi")]}])
    bad_second = write(tmp_path / "b.json", [{"input_video": "videos/none.mp4",
                                              "conversations": [human("<video>"), gpt("x")]}, GOOD])
    with caplog.at_level(logging.WARNING, logger="models.training.records"):
        records = load_records([bad_first, bad_second], root, skip_bad=True)
    assert [e.source for e in records.examples] == [f"{bad_first}[0]", f"{bad_first}[2]", f"{bad_second}[1]"]
    assert [(e.file, e.index) for e in records.skipped] == [(bad_first, 1), (bad_first, 3), (bad_second, 0)]
    assert "not found" in records.skipped[2].problem
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 3 bad record(s)" in warnings[0].getMessage()
    assert records.counts()["records"] == 3 and records.counts()["skipped"] == 3


def test_no_warning_when_nothing_is_skipped(tmp_path: Path, root: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="models.training.records"):
        records = load_records([write(tmp_path / "a.json", [GOOD])], root, skip_bad=True)
    assert records.skipped == [] and caplog.records == []


# --- whole-file errors ---------------------------------------------------------------------------


def whole_file_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "broken.json").write_text('[{"instruction": "a",', encoding="utf-8")
    (tmp_path / "object.json").write_text('{"instruction": "a", "output": "b"}', encoding="utf-8")
    (tmp_path / "latin1.json").write_bytes('[{"instruction": "caf\xe9"}]'.encode("latin-1"))
    (tmp_path / "folder.json").mkdir()
    return {"missing": (tmp_path / "missing.json", "no such data file"),
            "invalid JSON": (tmp_path / "broken.json", "invalid JSON"),
            "top level not a list": (tmp_path / "object.json", "the top level is an object, not a list of records"),
            "not UTF-8": (tmp_path / "latin1.json", "is not UTF-8 text"),
            "a directory": (tmp_path / "folder.json", "cannot read it")}


@pytest.mark.parametrize("case", ["missing", "invalid JSON", "top level not a list", "not UTF-8", "a directory"])
@pytest.mark.parametrize("skip_bad", [False, True])
def test_whole_file_errors_always_raise(tmp_path: Path, root: Path, case: str, skip_bad: bool) -> None:
    path, message = whole_file_cases(tmp_path)[case]
    good = write(tmp_path / "good.json", [GOOD])
    with pytest.raises(RecordError) as caught:
        load_records([good, path], root, skip_bad=skip_bad)
    assert (caught.value.file, caught.value.index) == (path, None)
    assert message in caught.value.problem
    assert str(caught.value) == f"{path}: {caught.value.problem}"


def test_record_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(RecordError(Path("d.json"), 4, "bad")))
    assert (error.file, error.index, error.problem, str(error)) == (Path("d.json"), 4, "bad", "d.json[4]: bad")


# --- counts --------------------------------------------------------------------------------------


def test_counts_for_a_mixed_file(tmp_path: Path, root: Path) -> None:
    records = [
        {"input_image": IMG, "conversations": [human("<image>\nWhat?"), gpt("a")]},  # image→text
        {"input_audio": "sounds/s.wav", "conversations": [human("<audio>"), gpt("b")]},  # audio→text
        {"image_captions": ["c"], "image_caption_embeddings": ["e.npy"],
         "conversations": [human("draw"), gpt("<image>")]},  # text→image
        {"image_captions": ["c"], "conversations": [human("draw", input_modality="text"),
                                                    gpt("<image>", output_modality="image", caption="c")]},
        {"input_image": [IMG, "images/b.png"], "input_audio": "sounds/s.wav", "video_captions": ["v"],
         "image_captions": ["i"],
         "conversations": [human("<image><audio><image>"), gpt("ok"), human("go"), gpt("<video><image>")]},
        {"conversations": [human("hi"), gpt("hello")]},  # text→text
        {"instruction": "a", "output": "b"},  # text→text
        "not a record",
    ]
    loaded = load_records([write(tmp_path / "mixed.json", records)], root, skip_bad=True)
    assert loaded.counts() == {
        "records": 7,
        "skipped": 1,
        "kinds": {"comprehension": 2, "generation": 1, "instruction": 1, "mosit": 1, "text": 2},
        "directions": {"audio+image→text": 1, "audio→text": 1, "image→text": 1, "text→image": 2,
                       "text→image+video": 1, "text→text": 2},
        "media": {"input_audio": 2, "input_image": 3, "output_image": 3, "output_video": 1},
    }


def test_counts_of_nothing() -> None:
    assert load_records([], Path("/nowhere")).counts() == {
        "records": 0, "skipped": 0, "kinds": {}, "directions": {}, "media": {}}
