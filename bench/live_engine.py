"""Issue 4 figures on a profile (default `local`): end of utterance -> first text and first speech,
engine overhead, capture + windowing CPU of a 30 fps camera, and memory over a soak.
Writes bench/results/live_engine.json. Run: `.venv/bin/python -m bench.live_engine [--soak-seconds 600]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import soundfile

from assistant.capture import AudioFileSource, VideoFileSource
from assistant.engine import Engine, EngineConfig
from assistant.frames import Turn, TurnDone
from assistant.live import LiveConfig, LiveSession
from assistant.video_window import VideoWindow
from bench.result_file import write_result
from models import AnyToAnyModel, read_audio

QUESTIONS = ["What is the capital of France?", "Name a colour of the sky.", "How many days are in a week?"]


def make_speech(folder: Path, loops: int = 1) -> Path:
    parts = [np.zeros(8000, np.float32)]
    for question in QUESTIONS * loops:
        clip = folder / "q.wav"
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(clip), question], check=True)
        parts += [read_audio(clip).samples, np.zeros(16000 * 8, np.float32)]  # room for the answer
    path = folder / "questions.wav"
    soundfile.write(path, np.concatenate(parts), 16000)
    return path


def make_camera(folder: Path, seconds: float, fps: int = 30, side: int = 480) -> Path:
    path = folder / "camera.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = side * 4 // 3, side, "yuv420p"
        for i in range(int(seconds * fps)):
            frame = np.full((side, side * 4 // 3, 3), (i * 3) % 255, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def spoken_latency(model: AnyToAnyModel, folder: Path) -> dict[str, float]:
    """Three spoken questions through a live session with speech on."""
    mic = AudioFileSource(make_speech(folder))
    async with Engine(model, EngineConfig(speak=True)) as engine:
        session = LiveSession(engine, None, mic, LiveConfig(want=frozenset({"text", "speech"})))
        done = [e async for e in session.events(seconds=120) if isinstance(e, TurnDone)]
    text = [d.timings_ms["first_text_ms"] for d in done if "first_text_ms" in d.timings_ms]
    speech = [d.timings_ms["first_speech_ms"] for d in done if "first_speech_ms" in d.timings_ms]
    return {"turns": len(done), "utterance_end_to_first_text_ms_median": statistics.median(text),
            "utterance_end_to_first_speech_ms_median": statistics.median(speech),
            "utterance_end_to_first_text_ms": text, "utterance_end_to_first_speech_ms": speech}


async def barge_in(model: AnyToAnyModel, folder: Path) -> dict[str, object]:
    """Ask for a long answer, talk over it: ms from the VAD hearing speech to the answer's model
    stopping (held between steps; the words that then confirm the barge-in cancel it)."""
    parts = []
    for piece in ["Tell me a long story about a dragon and a knight.", "Stop. What is two plus two?"]:
        clip = folder / "b.wav"
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(clip), piece], check=True)
        parts += [np.zeros(8000, np.float32), read_audio(clip).samples, np.zeros(16000 * 2, np.float32)]
    parts.append(np.zeros(16000 * 8, np.float32))
    path = folder / "barge.wav"
    soundfile.write(path, np.concatenate(parts), 16000)
    async with Engine(model, EngineConfig(speak=True)) as engine:
        session = LiveSession(engine, None, AudioFileSource(path), LiveConfig(want=frozenset({"text", "speech"})))
        statuses = [e.status async for e in session.events(seconds=60) if isinstance(e, TurnDone)]
    return {"barge_in_ms": session.barge_ins, "barge_in_turns": statuses}


async def engine_overhead(model: AnyToAnyModel, repeats: int = 5) -> dict[str, float]:
    """End-to-end time of text turns through the engine over the model time they needed."""
    ratios = []
    async with Engine(model) as engine:
        for i in range(repeats):
            turn = Turn(text=QUESTIONS[i % len(QUESTIONS)], want=frozenset({"text"}))
            done = [e async for e in engine.submit(turn) if isinstance(e, TurnDone)][0]
            ratios.append(done.timings_ms["engine_total_ms"] / done.timings_ms["model_ms"])
    return {"engine_overhead_ratio_median": statistics.median(ratios), "engine_overhead_ratios": ratios}


async def camera_cost(model: AnyToAnyModel, folder: Path, seconds: float = 10.0) -> dict[str, float]:
    """CPU of a 30 fps 640x480 camera source + the rolling window, less the image encoder's own time."""
    encoder_s = 0.0

    def timed_encode(frames):
        nonlocal encoder_s
        started = time.thread_time()
        features = model.encode_frames(frames)
        encoder_s += time.thread_time() - started
        return features

    window = VideoWindow(model, lambda fn, *a: asyncio.to_thread(timed_encode, *a), sample_fps=2.0, keep=8)
    source = VideoFileSource(make_camera(folder, seconds))
    cpu_start, wall_start = time.process_time(), time.monotonic()
    frames = 0
    async for frame in source.frames():
        if hasattr(frame, "pixels"):
            frames += 1
            await window.process(frame)
    await window.settle()
    cpu, wall = time.process_time() - cpu_start, time.monotonic() - wall_start
    return {"camera_frames": frames, "camera_fps": frames / wall, "camera_dropped": source.dropped,
            "window_sampled": window.sampled, "capture_windowing_core_share": (cpu - encoder_s) / wall,
            "image_encoder_core_share": encoder_s / wall}


async def soak(model: AnyToAnyModel, folder: Path, seconds: float) -> dict[str, float]:
    """A live session on looping files (camera + spoken questions) for `seconds`; RSS over time."""
    camera = VideoFileSource(make_camera(folder, 10.0, fps=30, side=240), loop=True)
    mic = AudioFileSource(make_speech(folder), loop=True)
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    turns = 0
    async with Engine(model) as engine:
        session = LiveSession(engine, camera, mic, LiveConfig(want=frozenset({"text"})))
        async for event in session.events(seconds=seconds):
            if isinstance(event, TurnDone):
                turns += 1
            now = time.monotonic() - started
            if not samples or now - samples[-1][0] >= 10:
                samples.append((now, rss_mb()))
    warm = [mb for t, mb in samples if t >= min(60.0, seconds / 3)]
    return {"soak_s": seconds, "soak_turns": turns, "rss_mb_warm_start": warm[0], "rss_mb_end": warm[-1],
            "rss_growth_after_warmup": warm[-1] / warm[0] - 1, "rss_mb_samples": samples}


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    model = AnyToAnyModel.from_profile(args.profile)
    model.load_all()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result: dict[str, object] = {"benchmark": "live_engine", "profile": args.profile}
        result.update(await engine_overhead(model))
        result.update(await spoken_latency(model, folder))
        result.update(await barge_in(model, folder))
        result.update(await camera_cost(model, folder))
        if args.soak_seconds:
            result.update(await soak(model, folder, args.soak_seconds))
    result["goals"] = {"utterance_end_to_first_text_ms": 800, "utterance_end_to_first_speech_ms": 1500,
                       "engine_overhead_ratio": 1.05, "capture_windowing_core_share": 0.05, "barge_in_ms": 200,
                       "rss_growth_after_warmup": 0.05}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="local")
    parser.add_argument("--soak-seconds", type=float, default=0.0)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    write_result("live_engine", result)
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, list)}, indent=2))


if __name__ == "__main__":
    main()
