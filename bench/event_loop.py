"""How long the engine's event loop stalls while history writes a generated video and a spoken
answer (issue 24: no stall over 20 ms). A ticker on the loop wakes every 5 ms and records how
late it woke.

- `engine`: real turns of the profile (video + speech) through the engine, after one warm-up turn
  (the first video decode imports modules that hold the interpreter for ~200 ms once).
- `full_size_write`: one full-profile-sized video (576×320, 24 frames, H.264) and 10 s of speech
  saved to history on the loop itself, as the engine did before, and on a writer thread, as it
  does now; the same files, the same run. (`local`'s own videos are 64×64 and take milliseconds.)

Writes bench/results/event_loop.json.
Run: `.venv/bin/python -m bench.event_loop [--profile local] [--turns 3]`."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from assistant.engine import Engine
from assistant.frames import MediaOutput, SpeechOutput, Turn
from assistant.history import History
from bench.result_file import write_result
from models import AnyToAnyModel, AudioData, VideoData

TICK_S = 0.005
ANSWER = "Make a video of a red circle moving left."


async def _ticker(lates: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        due = time.perf_counter() + TICK_S
        await asyncio.sleep(TICK_S)
        lates.append((time.perf_counter() - due) * 1000)


async def measure(profile: str, turns: int) -> dict[str, object]:
    model = AnyToAnyModel.from_profile(profile)
    with tempfile.TemporaryDirectory() as folder:
        history = History(Path(folder))
        conversation = history.new_conversation("bench")
        async with Engine(model, history=history) as engine:
            await engine.run_on_device(model.load_all)
            async for _ in engine.submit(Turn(text=ANSWER, want=frozenset({"video", "speech"}),
                                              conversation_id=conversation)):
                pass  # warm-up
            lates: list[float] = []
            stop = asyncio.Event()
            ticker = asyncio.create_task(_ticker(lates, stop))
            written = {"video": 0, "speech": 0}
            for _ in range(turns):
                turn = Turn(text=ANSWER, want=frozenset({"video", "speech"}), conversation_id=conversation)
                async for event in engine.submit(turn):
                    if isinstance(event, MediaOutput) and event.path:
                        written["video"] += 1
                    elif isinstance(event, SpeechOutput) and event.path:
                        written["speech"] += 1
            stop.set()
            await ticker
        history.close()
    stalls = _stalls(lates)
    return {"profile": profile, "turns": turns, "written": written, "stall_ms": stalls}


def _stalls(lates: list[float]) -> dict[str, float]:
    lates = sorted(lates)
    return {"max": round(lates[-1], 1), "p99": round(lates[int(len(lates) * 0.99)], 1),
            "median": round(lates[len(lates) // 2], 2), "ticks": len(lates)}


async def full_size_write() -> dict[str, object]:
    rng = np.random.default_rng(0)
    video = VideoData(rng.integers(0, 256, (24, 320, 576, 3), dtype=np.uint8), 8.0)
    speech = AudioData((rng.standard_normal(160_000) * 0.1).astype(np.float32), 16_000)
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(1) as writer:
        history = History(Path(folder))
        conversation = history.new_conversation("bench")
        loop = asyncio.get_running_loop()
        for way in ("on_the_loop", "writer_thread"):
            turn_id = f"{way}-turn"
            history.start_turn(conversation, turn_id, "write")
            events = [MediaOutput(turn_id, "video", video), SpeechOutput(turn_id, speech, 0, "ten seconds")]
            lates: list[float] = []
            stop = asyncio.Event()
            ticker = asyncio.create_task(_ticker(lates, stop))
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            for event in events:
                if way == "on_the_loop":
                    history.record(event)
                else:
                    await loop.run_in_executor(writer, history.record, event)
            took = (time.perf_counter() - started) * 1000
            await asyncio.sleep(0.05)
            stop.set()
            await ticker
            result[way] = {"write_ms": round(took, 1), "stall_ms": _stalls(lates)}
        history.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="local")
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    engine = asyncio.run(measure(args.profile, args.turns))
    written = asyncio.run(full_size_write())
    worst = max(engine["stall_ms"]["max"], written["writer_thread"]["stall_ms"]["max"])
    result = {"engine": engine, "full_size_write": written, "goal_max_stall_ms": 20.0, "met": worst <= 20.0}
    path = write_result("event_loop", result)
    print(path)


if __name__ == "__main__":
    main()
