"""Issue 25: what the echo canceller leaves of a voice that talks over the answer, by how soon the
answer's voice goes quiet after that voice starts, and by how long the canceller has heard the room.

Offline (AEC3 itself varies a little from run to run): each talker clip (the barge-in phrases of
`bench.voice_room`, in their espeak-ng voices) is said 3 s (the first answer of a session) or 8 s
into a long Piper answer, through the simulated room's echo path; the product's `EchoCanceller`
cleans the microphone on a virtual clock with the exact reference; Whisper transcribes the talker
(0.3 s either side) from the audio the product transcribes over the echo (`for_words`: the linear
filter's once it removes the echo well, else AEC3's, through the noise suppressor) and, to compare,
from AEC3's output. The answer's voice stops `stop_after_s` after the talker's first sound (never:
it talks on). The word error rate of each against the same clips alone says what the double talk
costs.

Writes bench/results/double_talk.json. Run: `.venv/bin/python -m bench.double_talk [--trials 8]`."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

import numpy as np

from assistant.capture.simulated_room import EchoPath
from assistant.echo import RATE, EchoCanceller, EchoReference
from assistant.frames import AudioChunk
from assistant.processor import QueueSink
from bench.result_file import write_result
from bench.speech_set import speak, wer
from bench.voice_room import OVER_VOICES, OVERS
from models import AnyToAnyModel, AudioData, resample

ANSWER = ("Once upon a time, in a land far away, there lived a mighty dragon who guarded a castle of gold. "
          "Every night the dragon flew over the hills, and the villagers hid in their houses, afraid of its fire.")
ONSETS_S = (3.0, 8.0)  # the canceller has heard the room for this long when the talker starts
STOPS = (0.0, 0.1, 0.18, 0.3, None)  # the answer's voice goes quiet this long after the talker's onset
BLOCK = 512  # the microphone's blocks, as the live session gets them (32 ms)


async def cleaned(answer: np.ndarray, talker: np.ndarray, onset_s: float, stop_after_s: float | None,
                  path: EchoPath) -> tuple[np.ndarray, np.ndarray]:
    """The microphone (the answer's echo, the talker from `onset_s`, room noise, the preamp's clip)
    after the product's canceller, given exactly what played: AEC3's audio (what the VAD hears)
    and the audio for words (what Whisper hears)."""
    played = answer.copy()
    if stop_after_s is not None:
        played[int((onset_s + stop_after_s) * RATE):] = 0.0
    length = int((onset_s + len(talker) / RATE + 1.0) * RATE)
    played = np.pad(played, (0, max(0, length - len(played))))[:length]
    heard = np.convolve(played, path.impulse_response())[:length]
    heard[int(onset_s * RATE):int(onset_s * RATE) + len(talker)] += talker
    heard = path.at_microphone(heard, np.random.default_rng(path.seed))
    now = [0.0]
    reference = EchoReference(max_seconds=60.0, clock=lambda: now[0])
    reference.add(played, at=0.0)
    canceller, sink = EchoCanceller(reference), QueueSink()
    canceller.link(sink)
    for start in range(0, length - BLOCK + 1, BLOCK):
        now[0] = (start + BLOCK) / RATE
        await canceller.process(AudioChunk(heard[start:start + BLOCK], RATE, start / RATE, created=now[0]))
    chunks = [c for c in (sink.queue.get_nowait() for _ in range(sink.queue.qsize())) if isinstance(c, AudioChunk)]
    return (np.concatenate([c.samples for c in chunks]),
            np.concatenate([c.heard_for_words for c in chunks]))


STREAMS = ("aec3", "for_words")  # AEC3's output (what the VAD hears), what Whisper hears


async def main_async(trials: int) -> dict[str, object]:
    model = AnyToAnyModel.from_profile("local")
    answer = resample(model.synthesize(ANSWER), RATE).samples
    path = EchoPath(delay_ms=80, gain=0.7)
    alone: list[float] = []
    over: dict[tuple[float, str, str], list[float]] = {}  # (onset, stream, stop) -> word error rates
    heard: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        for trial in range(trials):
            said = OVERS[trial % len(OVERS)]
            clip = resample(speak(said, Path(folder), voice=OVER_VOICES[trial % len(OVER_VOICES)]), RATE).samples
            loud = np.nonzero(np.abs(clip) > 0.02)[0]
            talker = clip[loud[0]:] if len(loud) else clip  # the onset is the talker's first sound
            alone.append(wer(said, model.transcribe(AudioData(talker, RATE))))
            row = {"said": said}
            for onset_s in ONSETS_S:
                for stop in STOPS:
                    outputs = dict(zip(STREAMS, await cleaned(answer, talker, onset_s, stop, path), strict=True))
                    for stream, out in outputs.items():
                        window = out[int((onset_s - 0.3) * RATE):int((onset_s + len(talker) / RATE + 0.3) * RATE)]
                        text = model.transcribe(AudioData(window.astype(np.float32), RATE))
                        over.setdefault((onset_s, stream, str(stop)), []).append(wer(said, text))
                        row[f"{stream} onset {onset_s} stop {stop}"] = text
            heard.append(row)
    base = statistics.mean(alone)
    table: dict[str, dict[str, dict[str, dict[str, float | None]]]] = {}
    for (onset_s, stream, stop), errors in over.items():
        figures = table.setdefault(f"onset_{onset_s}s", {}).setdefault(stream, {"wer": {}, "ratio": {}})
        figures["wer"][stop] = round(statistics.mean(errors), 3)
        figures["ratio"][stop] = round(statistics.mean(errors) / base, 2) if base else None
    return {"trials": trials, "wer_alone": round(base, 3), "by_onset_stream_and_voice_stopping_after_s": table,
            "heard": heard}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    result = asyncio.run(main_async(args.trials))
    path = write_result("double_talk", result)
    print(path)


if __name__ == "__main__":
    main()
