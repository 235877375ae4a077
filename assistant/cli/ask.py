"""`ask`: one request, any inputs to any outputs, written to a folder (and printed as JSON)."""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from models import (
    EXTENSION,
    MIME,
    AnyToAnyModel,
    GeneratedText,
    InputError,
    MediaResult,
    Modality,
    ModelRequest,
    ReplyDone,
    parse_want,
    read_audio,
    read_image,
    read_video,
    write_media,
)

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
    started = time.perf_counter()
    # 1. check every input before any model loads: bad input fails fast
    want = parse_want(options.want)
    media = [read_image(p) for p in options.images] + [read_video(p) for p in options.videos]
    audios = [read_audio(p) for p in options.audios]
    if not options.text.strip() and not media and not audios:
        raise InputError("nothing to ask: give --text, --image, --audio or --video")
    model = AnyToAnyModel.from_profile(options.profile)
    timings: dict[str, float] = {}

    # 2. speech in an audio input is the user talking: it becomes their text; other sounds are media
    prepared = prepare_inputs(model, options.text, media + audios)
    if prepared.asr_ms:
        timings["asr_ms"] = prepared.asr_ms
    transcript = prepared.transcript
    request = ModelRequest(
        text=prepared.text,
        media=prepared.media,
        want={Modality(w) for w in want if w in {m.value for m in Modality}} if want is not None else None,
    )

    # 3. stream the reply; write each medium as it arrives
    options.out.mkdir(parents=True, exist_ok=True)
    outputs: list[dict[str, str]] = []
    warnings: list[str] = []
    text = ""
    seen: list[dict[str, object]] = []
    for event in model.respond(request):
        if isinstance(event, GeneratedText) and not options.as_json:
            stdout.write(event.text)
            stdout.flush()
        elif isinstance(event, MediaResult):
            outputs.append(_save(event.media, event.modality.value, options.out, len(outputs)))
            if event.untrained_roles:
                warnings.append(
                    f"the {event.modality.value} was made with untrained weights ({', '.join(event.untrained_roles)}):"
                    " it shows what the pipeline does, not what a trained model would make"
                )
        elif isinstance(event, ReplyDone):
            text = event.text
            seen = list(event.seen)
            timings.update(event.timings_ms)

    # 4. speech: the answer read aloud
    if want is not None and "speech" in want and text:
        tts_start = time.perf_counter()
        speech = model.synthesize(text)
        timings["tts_ms"] = _ms(tts_start)
        outputs.append(_save(speech, "speech", options.out, len(outputs)))
    timings["load_ms"] = round(sum(model.models.load_times_ms().values()), 1)
    timings["wall_ms"] = _ms(started)

    if options.as_json:
        result = {
            "text": text,
            "transcript": transcript,
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


def _save(media: object, label: str, folder: Path, index: int) -> dict[str, str]:
    kind = "audio" if label == "speech" else label
    path = write_media(media, folder / f"{index:02d}-{label}{EXTENSION[kind]}")
    return {"modality": label, "path": str(path), "mime": MIME[kind]}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
