"""`ask`: one request, any inputs to any outputs, written to a folder (and printed as JSON).

A front-end like the others: the request becomes a turn that the engine answers; its events are
printed as they stream and its media written to the folder (the spoken answer as one file).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from models import (
    EXTENSION,
    MIME,
    AnyToAnyModel,
    AudioData,
    InputError,
    Media,
    parse_want,
    read_audio,
    read_image,
    read_video,
    write_media,
)

from ..engine import Engine, EngineConfig
from ..frames import ErrorEvent, FinalText, MediaOutput, SpeechOutput, TextDelta, Turn, TurnDone
from ..turn_inputs import prepare_inputs

log = logging.getLogger(__name__)


@dataclass
class AskOptions:
    text: str = ""
    images: list[str] = field(default_factory=list)
    audios: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    want: str | None = None
    out: Path = Path("out")
    profile: str = "local"
    as_json: bool = False


def run_ask(options: AskOptions, stdout: TextIO | None = None) -> int:
    """Runs one request; raises InputError (exit 2 at the caller) for anything the user can fix."""
    stdout = stdout or sys.stdout  # the stream of the moment, not the one at import
    return asyncio.run(_ask(options, stdout))


async def _ask(options: AskOptions, stdout: TextIO) -> int:
    started = time.perf_counter()
    # 1. check every input before any model loads: bad input fails fast
    want = parse_want(options.want)
    media = [read_image(p) for p in options.images] + [read_video(p) for p in options.videos]
    audios = [read_audio(p) for p in options.audios]
    if not options.text.strip() and not media and not audios:
        raise InputError("nothing to ask: give --text, --image, --audio or --video")
    model = AnyToAnyModel.from_profile(options.profile)
    options.out.mkdir(parents=True, exist_ok=True)
    outputs: list[dict[str, str]] = []
    warnings: list[str] = []
    speech: list[AudioData] = []
    text, seen, timings = "", [], {}
    async with Engine(model, EngineConfig(timeout_s=None)) as engine:  # one request: as long as it takes
        # 2. speech in an audio input is the user talking: it becomes their text; other sounds are media
        prepared = await engine.run_on_device(prepare_inputs, model, options.text, media + audios)
        turn = Turn(text=prepared.text, media=tuple(prepared.media), transcript=prepared.transcript,
                    want=frozenset(want) if want is not None else None)
        # 3. stream the reply; write each medium as it arrives
        async for event in engine.submit(turn):
            if isinstance(event, TextDelta) and not options.as_json:
                stdout.write(event.text)
                stdout.flush()
            elif isinstance(event, MediaOutput):
                outputs.append(_save(event.media, event.modality, options.out, len(outputs)))
                if event.untrained_roles:
                    warnings.append(f"the {event.modality} was made with untrained weights "
                                    f"({', '.join(event.untrained_roles)}): it shows what the pipeline does, "
                                    "not what a trained model would make")
            elif isinstance(event, SpeechOutput):
                speech.append(event.audio)
            elif isinstance(event, FinalText):
                text, seen = event.text, list(event.seen)
            elif isinstance(event, ErrorEvent):
                _raise(event)
            elif isinstance(event, TurnDone):
                timings = dict(event.timings_ms)
    # 4. speech: the answer read aloud, its sentences in one file
    if speech:
        outputs.append(_save(AudioData(np.concatenate([a.samples for a in speech]), speech[0].rate), "speech",
                             options.out, len(outputs)))
    if prepared.asr_ms:
        timings["asr_ms"] = prepared.asr_ms
    timings["load_ms"] = round(sum(model.models.load_times_ms().values()), 1)
    timings["wall_ms"] = _ms(started)

    if options.as_json:
        result = {
            "text": text,
            "transcript": prepared.transcript,
            "outputs": outputs,
            "seen": seen,
            "timings_ms": timings,
            "profile": model.profile.name,
            "weights": {role: source.describe() for role, source in model.sources().items()},
            "warnings": warnings,
        }
        stdout.write(json.dumps(result) + "\n")
    else:
        stdout.write("\n")
        for output in outputs:
            stdout.write(f"[{output['modality']}] {output['path']}\n")
        for warning in warnings:
            stdout.write(f"note: {warning}\n")
    return 0


def _raise(event: ErrorEvent) -> None:
    """A refused request is the user's to fix (exit 2); anything else is a failure of ours."""
    if event.code == "bad_request":
        raise InputError(event.message)
    raise RuntimeError(f"{event.code}: {event.message}")


def _save(media: Media, label: str, folder: Path, index: int) -> dict[str, str]:
    kind = "audio" if label == "speech" else label
    path = write_media(media, folder / f"{index:02d}-{label}{EXTENSION[kind]}")
    return {"modality": label, "path": str(path), "mime": MIME[kind]}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
