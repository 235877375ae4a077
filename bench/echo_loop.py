"""Issue 25: the echo canceller on a real sound card loop. A long espeak-ng answer is played through
`SpeechPlayer` while `MicrophoneSource` records, and the product's `EchoCanceller` cleans each
chunk against the reference the player stamped, as in a live session; per 2 s of echo, how much
of it AEC3 and the linear filter (what Whisper hears over an answer) removed, and the echo's lag
behind the reference, measured every half second (`assistant/echo_drift.py`): on one card it
should hold to the sample.

By default the loop is a private PulseAudio server whose null sink is the speaker and whose monitor
is the microphone (tests/pulse_room.py; Debian: pulseaudio libasound2-plugins). `--devices` uses
the default speaker and microphone instead: a laptop in a quiet room, its volume up.

Writes bench/results/echo_loop.json.
Run: `.venv/bin/python -m bench.echo_loop [--seconds 40] [--runs 2] [--devices]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from assistant.capture.microphone import MicrophoneSource
from assistant.echo import RATE, EchoCanceller, EchoReference
from assistant.frames import AudioChunk
from assistant.linear_echo import LinearEcho
from assistant.playback import SpeechPlayer
from assistant.processor import QueueSink
from bench.result_file import write_result
from models import read_audio

STORY = ("Once upon a time, in a land far away, there lived a mighty dragon who guarded a castle of gold. "
         "Every night the dragon flew over the hills, and the villagers hid in their houses, afraid of its fire. ")
WINDOW = 200  # 10 ms frames: 2 s


class _Recording(LinearEcho):
    """The product's linear filter, keeping each frame's energy in, out, and of the reference in
    `frames` (shared by the filters a run starts: one, unless the echo's path changes)."""

    def __init__(self, frames: list[tuple[float, float, float]]) -> None:
        super().__init__()
        self.frames = frames

    def cancel(self, heard: np.ndarray, played: np.ndarray) -> np.ndarray:
        out = super().cancel(heard, played)
        self.frames.append((float(np.mean(heard ** 2)), float(np.mean(out ** 2)), float(np.mean(played ** 2))))
        return out


def _removed(frames: list[tuple[float, float, float]]) -> list[float | None]:
    """dB removed over each 2 s whose reference sounds in most frames."""
    values = np.array(frames)
    out: list[float | None] = []
    for start in range(0, len(values) - WINDOW + 1, WINDOW):
        window = values[start:start + WINDOW]
        sounding = window[:, 2] > 1e-5
        out.append(round(float(10 * np.log10(window[sounding, 0].sum() / max(window[sounding, 1].sum(), 1e-12))), 1)
                   if sounding.sum() > WINDOW // 2 else None)
    return out


async def one_run(answer_path: Path, seconds: float) -> dict[str, object]:
    reference = EchoReference()
    player = SpeechPlayer(reference=reference)
    if not player.available:
        raise SystemExit(f"no speaker: {player.status.detail}")
    filtered: list[tuple[float, float, float]] = []
    canceller, sink = EchoCanceller(reference, make_linear=lambda: _Recording(filtered)), QueueSink()
    canceller.link(sink)
    microphone = MicrophoneSource(None, RATE, 32)
    player.play(read_audio(answer_path))
    started = None
    frames = microphone.frames()
    try:
        async for frame in frames:
            if not isinstance(frame, AudioChunk):
                continue
            await canceller.process(frame)
            while not sink.queue.empty():
                sink.queue.get_nowait()
            started = started or frame.created
            if frame.created - started > seconds:
                break
    finally:
        microphone.stop()
        player.close()
        await frames.aclose()
    lags = list(canceller.echo_lag.measures)
    linear_db = _removed(filtered)
    return {"linear_removed_db_per_2s": linear_db,
            "linear_removed_db_median_after_10s": _median([v for v in linear_db[5:] if v is not None]),
            "aec3_removed_db_median": _median([10 * np.log10(heard / max(left, 1e-12))
                                               for _, far, heard, left in canceller.levels if far and heard > 1e-5]),
            "lag_samples": [round(lag, 2) for _, lag in lags],
            "lag_spread_samples": round(max(lag for _, lag in lags) - min(lag for _, lag in lags), 2) if lags else None,
            "drift_ppm": canceller.echo_lag.drift_ppm}


def _median(values: list[float]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        answer = Path(folder) / "answer.wav"
        subprocess.run(["espeak-ng", "-v", "en-us+m3", "-s", "160", "-w", str(answer),
                        STORY * max(1, int(args.seconds / 12) + 1)], check=True)
        if args.devices:
            loop = contextlib.nullcontext("the default speaker and microphone")
        else:
            from tests.pulse_room import pulse_loop

            loop = pulse_loop(Path(folder))
        with loop as where:
            runs = [await one_run(answer, args.seconds) for _ in range(args.runs)]
    return {"loop": where if args.devices else f"PulseAudio null sink {where!r} and its monitor",
            "seconds": args.seconds, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--devices", action="store_true",
                        help="the default speaker and microphone, not a private PulseAudio loop")
    args = parser.parse_args()
    # a run that stalls (it did twice, on a loaded machine, cause unknown) ends with every thread's
    # stack rather than waiting for ever
    faulthandler.dump_traceback_later(args.runs * (args.seconds + 60) + 120, exit=True)
    result = asyncio.run(main_async(args))
    faulthandler.cancel_dump_traceback_later()
    path = write_result("echo_loop", result)
    print(path)


if __name__ == "__main__":
    main()
