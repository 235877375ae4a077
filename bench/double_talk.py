"""Issue 25: what the echo canceller leaves of a voice that talks over the answer, by how soon the
answer's voice goes quiet after that voice starts.

Offline and repeatable: each talker clip (the barge-in phrases of `bench.voice_room`, in their
espeak-ng voices) is said 3 s into a long Piper answer, through the simulated room's echo path; the
product's `EchoCanceller` (AEC3 through livekit) cleans the microphone on a virtual clock with the
exact reference; Whisper transcribes the cleaned talker (0.3 s either side). The answer's voice
stops `stop_after_s` after the talker's first sound (never: it talks on). The word error rate of
each against the same clips alone says what the double talk costs, and so how fast a barge-in must
silence the voice for the talker's first words to survive.

Writes bench/results/double_talk.json. Run: `.venv/bin/python -m bench.double_talk [--trials 8]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np

from assistant.capture.simulated_room import EchoPath
from assistant.echo import RATE, EchoCanceller, EchoReference
from assistant.frames import AudioChunk
from assistant.processor import QueueSink
from bench.speech_set import speak, wer
from bench.voice_room import OVER_VOICES, OVERS
from models import AnyToAnyModel, AudioData, resample

RESULTS = Path(__file__).resolve().parent / "results"
ANSWER = ("Once upon a time, in a land far away, there lived a mighty dragon who guarded a castle of gold. "
          "Every night the dragon flew over the hills, and the villagers hid in their houses, afraid of its fire.")
ONSET_S = 3.0  # the canceller has heard the room for this long when the talker starts
STOPS = (0.0, 0.1, 0.18, 0.3, None)  # the answer's voice goes quiet this long after the talker's onset
BLOCK = 512  # the microphone's blocks, as the live session gets them (32 ms)


async def cleaned(answer: np.ndarray, talker: np.ndarray, stop_after_s: float | None, path: EchoPath) -> np.ndarray:
    """The microphone (the answer's echo, the talker from `ONSET_S`, room noise, the preamp's clip)
    after the product's canceller, given exactly what played."""
    played = answer.copy()
    if stop_after_s is not None:
        played[int((ONSET_S + stop_after_s) * RATE):] = 0.0
    length = int((ONSET_S + len(talker) / RATE + 1.0) * RATE)
    played = np.pad(played, (0, max(0, length - len(played))))[:length]
    heard = np.convolve(played, path.impulse_response())[:length]
    heard[int(ONSET_S * RATE):int(ONSET_S * RATE) + len(talker)] += talker
    heard += np.random.default_rng(path.seed).standard_normal(length).astype(np.float32) * path.noise
    heard = np.clip(heard, -path.clip, path.clip).astype(np.float32)
    now = [0.0]
    reference = EchoReference(max_seconds=60.0, clock=lambda: now[0])
    reference.add(played, at=0.0)
    canceller, sink = EchoCanceller(reference), QueueSink()
    canceller.link(sink)
    for start in range(0, length - BLOCK + 1, BLOCK):
        now[0] = (start + BLOCK) / RATE
        await canceller.process(AudioChunk(heard[start:start + BLOCK], RATE, start / RATE, created=now[0]))
    chunks = [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]
    return np.concatenate([c.samples for c in chunks if isinstance(c, AudioChunk)])


async def main_async(trials: int) -> dict[str, object]:
    model = AnyToAnyModel.from_profile("local")
    answer = resample(model.synthesize(ANSWER), RATE).samples
    path = EchoPath(delay_ms=80, gain=0.7)
    alone: list[float] = []
    over: dict[str, list[float]] = {str(stop): [] for stop in STOPS}
    heard: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        for trial in range(trials):
            said = OVERS[trial % len(OVERS)]
            clip = resample(speak(said, Path(folder), voice=OVER_VOICES[trial % len(OVER_VOICES)]), RATE).samples
            loud = np.nonzero(np.abs(clip) > 0.02)[0]
            talker = clip[loud[0]:] if len(loud) else clip  # the onset is the talker's first sound
            alone.append(wer(said, model.transcribe(AudioData(talker, RATE))))
            row = {"said": said}
            for stop in STOPS:
                out = await cleaned(answer, talker, stop, path)
                window = out[int((ONSET_S - 0.3) * RATE):int((ONSET_S + len(talker) / RATE + 0.3) * RATE)]
                text = model.transcribe(AudioData(window.astype(np.float32), RATE))
                over[str(stop)].append(wer(said, text))
                row[f"stop_after_{stop}"] = text
            heard.append(row)
    base = statistics.mean(alone)
    return {"trials": trials, "wer_alone": round(base, 3),
            "wer_by_voice_stopping_after_s": {stop: round(statistics.mean(errors), 3) for stop, errors in over.items()},
            "ratio_by_voice_stopping_after_s": {stop: round(statistics.mean(errors) / base, 2) if base else None
                                                for stop, errors in over.items()},
            "heard": heard}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    result = asyncio.run(main_async(args.trials))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "double_talk.json"
    path.write_text(json.dumps(result, indent=2))
    print(path)


if __name__ == "__main__":
    main()
