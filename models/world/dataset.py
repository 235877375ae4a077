"""`generate_world`: render the synthetic world's media and write NExT-GPT training records about them.

Layout of a world folder (the folder is the ``--media-root``; every path in a record is relative
to it):

    manifest.json
    media/{split}/images/00000.png   media/{split}/sounds/00000.wav   media/{split}/videos/00000.mp4
    {split}/image_comprehension.json  {split}/audio_comprehension.json  {split}/video_comprehension.json
    {split}/image_generation.json     {split}/audio_generation.json     {split}/video_generation.json
    {split}/instruction.json          {split}/mosit.json

for the splits ``train`` and ``heldout``. Each split renders ``per_kind`` images, sounds and videos
with every attribute combination equally often (as far as the count allows); each medium gets one
comprehension, one generation and one T-T+X instruction record, and the split gets ``per_kind``
MosIT conversations over its media. The splits draw from different seeds and share no medium
(a rendering that repeats an earlier one is drawn again). The same seed writes byte-identical
JSON, PNG and WAV files and renders identical video frames; the MP4 files are almost always
byte-identical too, but x264 now and then (about one clip in a few hundred) encodes the same
frames a little differently, so compare videos by their decoded frames (they differ by a few
levels at most).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.media.kinds import EXTENSION
from models.media.types import AudioData, ImageData, VideoData
from models.media.writers import encode
from models.world.attributes import EVERY, Attributes
from models.world.records import (
    KINDS,
    Medium,
    Record,
    comprehension_record,
    generation_record,
    instruction_record,
    mosit_record,
)
from models.world.render import render_image, render_sound, render_video

logger = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "heldout")
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
MEDIA_FOLDERS: dict[str, str] = {"image": "images", "audio": "sounds", "video": "videos"}
RECORD_FILES: tuple[str, ...] = (
    *(f"{kind}_comprehension.json" for kind in KINDS),
    *(f"{kind}_generation.json" for kind in KINDS),
    "instruction.json",
    "mosit.json",
)
MAX_REDRAWS = 100  # a rendering that repeats an earlier medium is drawn again, at most this often

_RENDER: dict[str, Callable[[Attributes, np.random.Generator], ImageData | AudioData | VideoData]] = {
    "image": render_image,  # type: ignore[dict-item]
    "audio": render_sound,  # type: ignore[dict-item]
    "video": render_video,  # type: ignore[dict-item]
}


@dataclass(frozen=True)
class WorldManifest:
    """What ``generate_world`` wrote: its seed, how much, and where (paths relative to the world folder)."""

    seed: int
    per_kind: dict[str, int]  # split → media of each kind
    records: dict[str, int]  # record file → number of records in it
    media: dict[str, dict[str, list[str]]]  # split → kind → media files, in order
    version: int = MANIFEST_VERSION

    @property
    def files(self) -> list[str]:
        """Every file of the world but the manifest: the record files, then the media files."""
        return [*self.records, *(path for split in self.media.values() for paths in split.values() for path in paths)]

    def record_files(self, split: str) -> list[str]:
        """The record files of one split."""
        return [path for path in self.records if path.startswith(f"{split}/")]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> WorldManifest:
        data = json.loads(text)
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"world manifest version {data.get('version')!r} is not {MANIFEST_VERSION}; "
                             "generate the world again")
        return cls(**data)


def load_manifest(folder: Path) -> WorldManifest:
    """The manifest of a world folder written by ``generate_world``."""
    return WorldManifest.from_json((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))


def generate_world(
    folder: Path, seed: int = 0, train_per_kind: int = 960, heldout_per_kind: int = 96
) -> WorldManifest:
    """Render the world's media and write its records into ``folder``; return (and save) the manifest.

    ``train_per_kind`` and ``heldout_per_kind`` are how many images, sounds and videos (each) the
    splits render. The defaults hold every video combination (48) 20 and 2 times. Files already
    in ``folder`` with the same names are replaced; others are left alone.
    """
    for name, count in (("train_per_kind", train_per_kind), ("heldout_per_kind", heldout_per_kind)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"{name} must be a positive int, got {count!r}")
    folder = Path(folder)
    started = time.perf_counter()
    per_kind = dict(zip(SPLITS, (train_per_kind, heldout_per_kind), strict=True))
    seen: set[bytes] = set()  # content digests of every medium rendered so far, across splits
    records: dict[str, int] = {}
    media: dict[str, dict[str, list[str]]] = {}
    for split, sequence in zip(SPLITS, np.random.SeedSequence(seed).spawn(len(SPLITS)), strict=True):
        media_seed, text_seed = sequence.spawn(2)
        pool = _render_split(folder, split, per_kind[split], np.random.default_rng(media_seed), seen)
        media[split] = {kind: [medium.path for medium in pool[kind]] for kind in KINDS}
        for name, items in _split_records(pool, per_kind[split], np.random.default_rng(text_seed)).items():
            path = f"{split}/{name}"
            _write_json(folder / path, items)
            records[path] = len(items)
    manifest = WorldManifest(seed=seed, per_kind=per_kind, records=records, media=media)
    (folder / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    logger.info("wrote a world of %s media per kind and %d records to %s in %.1f s", per_kind,
                sum(records.values()), folder, time.perf_counter() - started)
    return manifest


def _render_split(
    folder: Path, split: str, count: int, rng: np.random.Generator, seen: set[bytes]
) -> dict[str, list[Medium]]:
    """Render and write ``count`` media of each kind, every attribute combination about equally often."""
    pool: dict[str, list[Medium]] = {}
    for kind in KINDS:
        pool[kind] = []
        subfolder = folder / "media" / split / MEDIA_FOLDERS[kind]
        subfolder.mkdir(parents=True, exist_ok=True)
        for index, attributes in enumerate(_balanced(EVERY[kind], count, rng)):
            rendered = _render_new(kind, attributes, rng, seen)
            path = f"media/{split}/{MEDIA_FOLDERS[kind]}/{index:05d}{EXTENSION[kind]}"
            (folder / path).write_bytes(encode(rendered))
            pool[kind].append(Medium(kind, path, attributes))
    return pool


def _render_new(
    kind: str, attributes: Attributes, rng: np.random.Generator, seen: set[bytes]
) -> ImageData | AudioData | VideoData:
    """A rendering of ``attributes`` unlike any in ``seen`` (which it joins)."""
    for _ in range(MAX_REDRAWS):
        rendered = _RENDER[kind](attributes, rng)
        array = rendered.pixels if isinstance(rendered, ImageData) else (
            rendered.samples if isinstance(rendered, AudioData) else rendered.frames)
        digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).digest()
        if digest not in seen:
            seen.add(digest)
            return rendered
    raise RuntimeError(f"could not render a new {attributes.caption} in {MAX_REDRAWS} tries; "
                       "ask for fewer media per kind")


def _balanced(options: Sequence[Attributes], count: int, rng: np.random.Generator) -> list[Attributes]:
    """``count`` options: whole shuffled rounds of all of them, then part of one more."""
    chosen: list[Attributes] = []
    while len(chosen) < count:
        chosen.extend(options[int(i)] for i in rng.permutation(len(options)))
    return chosen[:count]


def _split_records(pool: dict[str, list[Medium]], count: int, rng: np.random.Generator) -> dict[str, list[Record]]:
    """Every record file of one split, by file name."""
    files: dict[str, list[Record]] = {}
    for kind in KINDS:
        files[f"{kind}_comprehension.json"] = [comprehension_record(medium, rng) for medium in pool[kind]]
    for kind in KINDS:
        files[f"{kind}_generation.json"] = [generation_record(medium, rng) for medium in pool[kind]]
    files["instruction.json"] = [instruction_record(pool[kind][i], rng) for i in range(count) for kind in KINDS]
    files["mosit.json"] = [mosit_record(pool, rng) for _ in range(count)]
    return files


def _write_json(path: Path, records: list[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
