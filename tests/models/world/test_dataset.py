"""generate_world: the files it writes, their determinism, the splits, and every record against records-spec."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from models.media import read_audio, read_image, read_video
from models.world.analysers import analyse_image, analyse_sound, analyse_video
from models.world.attributes import parse_caption
from models.world.dataset import RECORD_FILES, SPLITS, WorldManifest, generate_world, load_manifest

KINDS = ("image", "audio", "video")
PLACEHOLDER = re.compile(r"<(image|audio|video)>")
TRAIN, HELDOUT = 30, 16


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WorldManifest]:
    folder = tmp_path_factory.mktemp("world")
    return folder, generate_world(folder, seed=3, train_per_kind=TRAIN, heldout_per_kind=HELDOUT)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("twin")
    generate_world(folder, seed=3, train_per_kind=TRAIN, heldout_per_kind=HELDOUT)
    return folder


def _records(folder: Path, path: str) -> list[dict]:
    return json.loads((folder / path).read_text(encoding="utf-8"))


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _captions_by_medium(folder: Path, manifest: WorldManifest) -> dict[str, str]:
    """Each medium's caption, from the generation records (one per medium)."""
    captions = {}
    for split in SPLITS:
        for kind in KINDS:
            for record in _records(folder, f"{split}/{kind}_generation.json"):
                captions[record[f"output_{kind}"]] = record[f"{kind}_captions"][0]
    return captions


# --- the manifest and the files ---------------------------------------------------------------


def test_manifest_says_what_was_written(world: tuple[Path, WorldManifest]) -> None:
    folder, manifest = world
    assert load_manifest(folder) == manifest
    assert manifest.seed == 3 and manifest.per_kind == {"train": TRAIN, "heldout": HELDOUT}
    assert list(manifest.records) == [f"{split}/{name}" for split in SPLITS for name in RECORD_FILES]
    for split, per_kind in manifest.per_kind.items():
        assert manifest.record_files(split) == [f"{split}/{name}" for name in RECORD_FILES]
        for name in RECORD_FILES:
            expected = 3 * per_kind if name == "instruction.json" else per_kind
            assert manifest.records[f"{split}/{name}"] == len(_records(folder, f"{split}/{name}")) == expected
        for kind in KINDS:
            assert len(manifest.media[split][kind]) == per_kind
    assert all((folder / path).is_file() for path in manifest.files)
    media_on_disk = {p.relative_to(folder).as_posix() for p in (folder / "media").rglob("*") if p.is_file()}
    assert media_on_disk == set(manifest.files) - set(manifest.records)


def test_media_have_the_worlds_formats_and_show_their_captions(world: tuple[Path, WorldManifest]) -> None:
    folder, manifest = world
    captions = _captions_by_medium(folder, manifest)
    assert set(captions) == set(manifest.files) - set(manifest.records)
    for path, caption in captions.items():
        expected = parse_caption(caption)
        assert expected is not None, caption
        if path.endswith(".png"):
            image = read_image(folder / path)
            assert image.pixels.shape == (64, 64, 3)
            assert analyse_image(image) == expected, path
        elif path.endswith(".wav"):
            sound = read_audio(folder / path, rate=16000)
            assert sound.samples.shape == (16000,)
            assert analyse_sound(sound) == expected, path
        else:
            assert path.endswith(".mp4")
            video = read_video(folder / path)
            assert video.frames.shape == (8, 64, 64, 3) and video.fps == pytest.approx(4.0)
            assert analyse_video(video) == expected, path


def test_every_combination_is_balanced(world: tuple[Path, WorldManifest]) -> None:
    folder, _ = world
    for kind, combinations in (("image", 12), ("audio", 6), ("video", 48)):
        tally = Counter(r[f"{kind}_captions"][0] for r in _records(folder, f"train/{kind}_generation.json"))
        if TRAIN >= combinations:
            assert len(tally) == combinations
        assert max(tally.values()) - min(tally.values()) <= 1


# --- determinism and splits -------------------------------------------------------------------


def test_the_same_seed_writes_the_same_world(world: tuple[Path, WorldManifest], twin: Path) -> None:
    folder, manifest = world
    for path in [*manifest.records, "manifest.json"]:
        assert (folder / path).read_bytes() == (twin / path).read_bytes(), path
    for path in manifest.files:
        if path.endswith((".png", ".wav")):
            assert (folder / path).read_bytes() == (twin / path).read_bytes(), path
        elif path.endswith(".mp4"):
            # x264 now and then encodes identical frames slightly differently (more often on a busy
            # machine: up to 12 levels seen on a few pixels), so compare what decodes
            a, b = read_video(folder / path).frames, read_video(twin / path).frames
            difference = np.abs(a.astype(int) - b)
            assert difference.max() <= 24 and difference.mean() < 0.5, path


def test_another_seed_writes_another_world(world: tuple[Path, WorldManifest], tmp_path: Path) -> None:
    folder, _ = world
    generate_world(tmp_path, seed=4, train_per_kind=4, heldout_per_kind=2)
    for path in ("train/image_generation.json", "media/train/images/00000.png"):
        assert (tmp_path / path).read_bytes() != (folder / path).read_bytes(), path


def test_splits_share_no_media(world: tuple[Path, WorldManifest]) -> None:
    folder, manifest = world
    contents = {}
    for split in SPLITS:
        paths = [p for kind in KINDS for p in manifest.media[split][kind]]
        assert all(p.startswith(f"media/{split}/") for p in paths)
        contents[split] = {(folder / p).read_bytes() for p in paths}
        assert len(contents[split]) == len(paths)  # no medium twice within a split either
        for name in RECORD_FILES:  # the records of a split use only its own media
            for record in _records(folder, f"{split}/{name}"):
                for key in (f"{io}_{kind}" for io in ("input", "output") for kind in KINDS):
                    assert all(p.startswith(f"media/{split}/") for p in _as_list(record.get(key)))
    assert not contents["train"] & contents["heldout"]


def test_bad_counts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="train_per_kind"):
        generate_world(tmp_path, train_per_kind=0)
    with pytest.raises(ValueError, match="heldout_per_kind"):
        generate_world(tmp_path, heldout_per_kind=2.5)  # type: ignore[arg-type]


# --- records against the spec -----------------------------------------------------------------


def _check_record(record: dict, folder: Path, captions: dict[str, str]) -> dict[str, int]:
    """Check one record against records-spec; return how many exchanges it has."""
    allowed = {f"{io}_{kind}" for io in ("input", "output") for kind in KINDS} | {f"{k}_captions" for k in KINDS}
    assert set(record) - {"conversations"} <= allowed, record  # no caption embeddings: computed later
    turns = record["conversations"]
    assert len(turns) % 2 == 0 and [t["from"] for t in turns] == ["human", "gpt"] * (len(turns) // 2)
    inputs = {kind: _as_list(record.get(f"input_{kind}")) for kind in KINDS}
    outputs = {kind: _as_list(record.get(f"output_{kind}")) for kind in KINDS}
    named = {kind: _as_list(record.get(f"{kind}_captions")) for kind in KINDS}
    seen = {kind: 0 for kind in KINDS}
    made = {kind: 0 for kind in KINDS}
    for index, turn in enumerate(turns):
        kinds = PLACEHOLDER.findall(turn["value"])
        assert len(kinds) <= 1, turn
        if turn["from"] == "human":
            assert "caption" not in turn and "output_modality" not in turn
            if "input_modality" in turn:
                assert turn["input_modality"] == (kinds[0] if kinds else "text")
            if kinds:
                kind = kinds[0]
                assert turn["value"].startswith(f"<{kind}>\n")
                path = inputs[kind][seen[kind]]
                seen[kind] += 1
                assert captions[path] in turns[index + 1]["value"]  # the answer names what was shown
        else:
            assert "input_modality" not in turn
            if "output_modality" in turn:
                assert turn["output_modality"] == (kinds[0] if kinds else "text")
            if kinds:
                kind = kinds[0]
                assert turn["value"].endswith(f"<{kind}>")
                caption = turn.get("caption", named[kind][made[kind]])
                assert caption == named[kind][made[kind]]
                assert caption in turn["value"]  # the reply names what it makes
                assert captions[outputs[kind][made[kind]]] == caption  # and the medium shows it
                made[kind] += 1
            else:
                assert "caption" not in turn
    for kind in KINDS:
        assert seen[kind] == len(inputs[kind]) and made[kind] == len(outputs[kind]) == len(named[kind])
    for paths in [*inputs.values(), *outputs.values()]:
        for path in paths:
            assert not Path(path).is_absolute() and (folder / path).is_file()
    return {"exchanges": len(turns) // 2, "seen": sum(seen.values()), "made": sum(made.values())}


def test_every_record_follows_the_spec(world: tuple[Path, WorldManifest]) -> None:
    folder, manifest = world
    captions = _captions_by_medium(folder, manifest)
    for split in SPLITS:
        for kind in KINDS:
            for record in _records(folder, f"{split}/{kind}_comprehension.json"):
                assert _check_record(record, folder, captions) == {"exchanges": 1, "seen": 1, "made": 0}
                assert isinstance(record[f"input_{kind}"], str)
                assert all(set(turn) == {"from", "value"} for turn in record["conversations"])
            for record in _records(folder, f"{split}/{kind}_generation.json"):
                assert _check_record(record, folder, captions) == {"exchanges": 1, "seen": 0, "made": 1}
                assert isinstance(record[f"output_{kind}"], str)
                assert all(set(turn) == {"from", "value"} for turn in record["conversations"])
        kinds_made = Counter()
        for record in _records(folder, f"{split}/instruction.json"):
            assert _check_record(record, folder, captions) == {"exchanges": 1, "seen": 0, "made": 1}
            human, gpt = record["conversations"]
            assert human["input_modality"] == "text" and "<" not in human["value"]
            assert gpt["caption"] in gpt["value"]
            kinds_made[gpt["output_modality"]] += 1
        assert kinds_made == {kind: manifest.per_kind[split] for kind in KINDS}
        lengths = Counter()
        for record in _records(folder, f"{split}/mosit.json"):
            shape = _check_record(record, folder, captions)
            assert 2 <= shape["exchanges"] <= 3 and shape["seen"] >= 1 and shape["made"] >= 1
            assert shape["seen"] + shape["made"] == shape["exchanges"]  # media in every exchange
            modalities = [PLACEHOLDER.findall(t["value"])[0] for t in record["conversations"]
                          if PLACEHOLDER.search(t["value"])]
            assert all(a != b for a, b in zip(modalities, modalities[1:], strict=False))  # it switches
            assert all(set(turn) == {"from", "value"} for turn in record["conversations"])
            lengths[shape["exchanges"]] += 1
        assert set(lengths) == {2, 3}


def test_wording_varies(world: tuple[Path, WorldManifest]) -> None:
    folder, _ = world
    verbs = {r["conversations"][0]["value"].split()[0] for r in _records(folder, "train/image_generation.json")}
    assert {"Draw", "Paint", "Show", "Make", "Generate", "Create"} <= verbs
    questions = {r["conversations"][0]["value"] for r in _records(folder, "train/audio_comprehension.json")}
    assert {"<audio>\nWhat do you hear?", "<audio>\nDescribe this sound."} <= questions
    follow_ups = [t["value"] for r in _records(folder, "train/mosit.json") for t in r["conversations"][2::2]]
    assert any("it moving" in text or "standing still" in text or "same shape" in text for text in follow_ups)
