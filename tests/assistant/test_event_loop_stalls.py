"""History writes run on the writer thread: the event loop (VAD, barge-in, MQTT) keeps ticking
while a full-size video is encoded and a long answer's speech is saved. The stall is compared with
the same writes done on the loop, in the same run (bench/event_loop.py reports the figures)."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from assistant.frames import MediaOutput, SpeechOutput, TurnDone
from assistant.history import History
from assistant.history.recorder import HistoryRecorder
from assistant.processor import QueueSink
from models import AudioData, VideoData

TICK_S = 0.005


async def _worst_stall_ms(work) -> tuple[float, float]:
    """(the longest the loop was late for a 5 ms tick, how long `work` took), both in ms."""
    lates: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            due = time.perf_counter() + TICK_S
            await asyncio.sleep(TICK_S)
            lates.append((time.perf_counter() - due) * 1000)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(TICK_S * 4)
    started = time.perf_counter()
    await work()
    took = (time.perf_counter() - started) * 1000
    done.set()
    await ticker
    return max(lates), took


@pytest.mark.asyncio
async def test_saving_a_video_and_speech_leaves_the_loop_free(tmp_path: Path):
    rng = np.random.default_rng(0)
    video = VideoData(rng.integers(0, 256, (24, 320, 576, 3), dtype=np.uint8), 8.0)  # the full profile's size
    speech = AudioData((rng.standard_normal(160_000) * 0.1).astype(np.float32), 16_000)  # 10 s of answer
    history = History(tmp_path)
    conversation = history.new_conversation("stalls")
    with ThreadPoolExecutor(1, thread_name_prefix="history") as writer:
        recorder = HistoryRecorder(history, writer)
        sink = QueueSink()
        recorder.link(sink)

        async def through_recorder() -> None:
            history.start_turn(conversation, "threaded", "write")
            for event in (MediaOutput("threaded", "video", video), SpeechOutput("threaded", speech, 0, "long"),
                          TurnDone("threaded")):  # the turn's end waits for everything before it
                await recorder.process(event)

        async def on_the_loop() -> None:  # what the engine did before: the same writes, blocking the loop
            history.start_turn(conversation, "blocking", "write")
            for event in (MediaOutput("blocking", "video", video), SpeechOutput("blocking", speech, 0, "long")):
                history.record(event)

        blocking_stall, blocking_took = await _worst_stall_ms(on_the_loop)
        threaded_stall, threaded_took = await _worst_stall_ms(through_recorder)
    history.close()
    saved = [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]
    assert [type(event) for event in saved] == [MediaOutput, SpeechOutput, TurnDone]
    assert all(Path(event.path).is_file() for event in saved[:2])
    assert blocking_stall > 0.8 * blocking_took  # the measure sees a blocked loop for what it is
    assert threaded_stall < 0.25 * threaded_took  # the loop ticked on while the writer thread worked
