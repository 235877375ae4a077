"""Issue 26 figures: the Wyoming server on loopback with the `local` profile, driven by the `wyoming`
package's own client, as Home Assistant drives it.

- `stt`: a 5 s spoken command (espeak-ng): audio-stop → transcript.
- `tts`: synthesize → the first audio-chunk.
- `streaming`: a 3-sentence answer written word by word at ~15 words/s (an LLM's pace on 2 cores)
  through synthesize-chunk: does its first sentence sound before its third is written?
- `handle`: transcript → the first handled-chunk (SmolLM2 answers through the engine), a different
  short question each time.
- `concurrency`: 10 clients × 100 requests each, a question per request, each with its own
  conversation id: every answer arrives, on the right connection (the echoed context says so).
- `malformed`: malformed events, each on its own connection, answered with an error: rate, and
  the process's memory over three rounds (flat: the server keeps nothing of them).

Writes bench/results/wyoming.json.
Run: `.venv/bin/python -m bench.wyoming [--repeats 10]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.handle import Handled
from wyoming.info import Describe
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from bench.result_file import write_result
from models import AnyToAnyModel, AudioData, read_audio
from tests.assistant.wyoming_client import client, exchange_raw, frame, read_until, running_server, speech_events
from tests.clips import make_speech

COMMAND = ["Turn on the kitchen light and set the heating to twenty degrees, please.", 0.6]
QUESTIONS = ["What is the capital of France?", "Name a colour of the sky.", "How many days are in a week?",
             "What is two plus two?", "Name a fruit that is yellow.", "What do bees make?",
             "Which animal says meow?", "What is the opposite of hot?", "How many legs does a spider have?",
             "What season comes after winter?"]
ANSWER = "The kitchen light is on now. The heating is set to twenty degrees. Is there anything else?"
MALFORMED = [
    b"{not json\n",
    b'{"type": "audio-chunk", "payload_length": 1000000000}\n',
    json.dumps({"type": "x" * 40_000}).encode() + b"\n",
    frame(Event("audio-start", {"rate": 16000, "width": 5, "channels": 1})),
    frame(Synthesize(text="a" * 20_000).event()),
]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _summary(name: str, values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {f"{name}_median": round(statistics.median(ordered), 1), f"{name}_p90": ordered[int(len(ordered) * 0.9) - 1],
            f"{name}_min": ordered[0]}


async def stt(server, command: AudioData, repeats: int) -> dict[str, object]:
    latencies, text = [], ""
    events = speech_events(command)
    for _ in range(repeats):
        async with client(server) as c:
            for event in events:
                await c.write_event(event)
            stopped = time.perf_counter()
            replies = await read_until(c, ["transcript"])
            latencies.append(_ms(time.perf_counter() - stopped))
            text = replies[-1].data["text"]
    return {**_summary("stt_ms", latencies), "stt_audio_s": round(len(command.samples) / command.rate, 2),
            "stt_transcript": text}


async def tts(server, repeats: int) -> dict[str, object]:
    latencies = []
    for _ in range(repeats):
        async with client(server) as c:
            started = time.perf_counter()
            await c.write_event(Synthesize(text="Turn on the kitchen light, please. The door is locked.").event())
            await read_until(c, ["audio-chunk"])
            latencies.append(_ms(time.perf_counter() - started))
            await read_until(c, ["audio-stop"])
    return _summary("tts_first_chunk_ms", latencies)


async def streaming(server, words_per_s: float = 15.0) -> dict[str, object]:
    """The answer written a word at a time; when did its first audio come, against when its third
    sentence began to be written?"""
    words = ANSWER.split(" ")
    third_starts = len(" ".join(ANSWER.split(". ")[:2]).split(" "))  # index of the third sentence's first word
    first_audio: list[float] = []
    async with client(server) as c:
        async def listen() -> None:
            await read_until(c, ["audio-chunk"])
            first_audio.append(time.perf_counter())
            await read_until(c, ["synthesize-stopped"])

        listening = asyncio.create_task(listen())
        started = time.perf_counter()
        await c.write_event(SynthesizeStart().event())
        third_written = 0.0
        for i, word in enumerate(words):
            if i == third_starts:
                third_written = time.perf_counter()
            await c.write_event(SynthesizeChunk(text=word + " ").event())
            await asyncio.sleep(1 / words_per_s)  # the writer's pace
        await c.write_event(Synthesize(text=ANSWER).event())
        await c.write_event(SynthesizeStop().event())
        done = time.perf_counter()
        await asyncio.wait_for(listening, 120)
    return {"streaming_first_audio_ms": _ms(first_audio[0] - started),
            "streaming_third_sentence_written_ms": _ms(third_written - started),
            "streaming_all_written_ms": _ms(done - started),
            "streaming_first_sentence_before_third": first_audio[0] < third_written}


async def handle(server, repeats: int) -> dict[str, object]:
    """A different question each time (the same one again would be prefilled from the LLM's cache)."""
    latencies, answers = [], []
    for n in range(repeats):
        question = QUESTIONS[n % len(QUESTIONS)]
        async with client(server) as c:
            started = time.perf_counter()
            await c.write_event(Transcript(text=question, context={"conversation_id": f"bench-{n}"}).event())
            await read_until(c, ["handled-chunk", "not-handled"])
            latencies.append(_ms(time.perf_counter() - started))
            replies = await read_until(c, ["handled-stop", "not-handled"])
            answers.append(next((Handled.from_event(e).text for e in replies if e.type == "handled"), ""))
    return {**_summary("handle_first_text_ms", latencies), "handle_first_answer": f"{QUESTIONS[0]} {answers[0]}"}


async def concurrency(server, clients: int = 10, each: int = 100) -> dict[str, object]:
    async def one(k: int) -> tuple[int, int]:
        answered = mixed = 0
        for n in range(each):
            context = {"conversation_id": f"client{k}-request{n}"}
            async with client(server) as c:
                if n % 10 == 0:
                    await c.write_event(Describe().event())
                    await read_until(c, ["info"])
                await c.write_event(Transcript(text="What can you do?", context=context).event())
                replies = await read_until(c, ["handled-stop", "not-handled"], timeout=120)
            handled = [Handled.from_event(e) for e in replies if e.type == "handled"]
            if handled and handled[0].text:
                answered += 1
                mixed += handled[0].context != context
        return answered, mixed

    started = time.perf_counter()
    results = await asyncio.gather(*(one(k) for k in range(clients)))
    return {"concurrency_requests": clients * each, "concurrency_answered": sum(a for a, _ in results),
            "concurrency_lost": clients * each - sum(a for a, _ in results),
            "concurrency_mixed": sum(m for _, m in results),
            "concurrency_seconds": round(time.perf_counter() - started, 1)}


async def malformed(server, rounds: int = 3, per_round: int = 2000, at_once: int = 16) -> dict[str, object]:
    process = psutil.Process()
    rss: list[float] = []
    rates: list[float] = []
    errors = 0
    pending = asyncio.Semaphore(at_once)

    async def one(n: int) -> int:
        async with pending:
            events = await exchange_raw(server.port, MALFORMED[n % len(MALFORMED)], timeout=30)
        return sum(e.type == "error" for e in events)

    for _ in range(rounds):
        started = time.perf_counter()
        errors += sum(await asyncio.gather(*(one(n) for n in range(per_round))))
        rates.append(per_round / (time.perf_counter() - started))
        await asyncio.wait_for(server.idle.wait(), 30)
        rss.append(round(process.memory_info().rss / 2**20, 1))
    return {"malformed_per_s": round(statistics.median(rates), 1), "malformed_sent": rounds * per_round,
            "malformed_errors": errors, "malformed_rss_mb_after_each_round": rss,
            "malformed_rss_growth_mb": round(rss[-1] - rss[0], 1)}


async def main_async(repeats: int) -> dict[str, object]:
    model = AnyToAnyModel.from_profile("local")
    model.load_all()
    with tempfile.TemporaryDirectory() as tmp:
        command = read_audio(make_speech(Path(tmp) / "command.wav", COMMAND))
        async with running_server(model, Path(tmp) / "history", max_queued=256) as server:
            await tts(server, 2)  # warm-up: the first synthesis and transcription pay one-off costs
            await stt(server, command, 2)
            result: dict[str, object] = {"benchmark": "wyoming", "profile": "local", "cores": psutil.cpu_count()}
            result.update(await stt(server, command, repeats))
            result.update(await tts(server, repeats * 2))
            result.update(await streaming(server))
            result.update(await handle(server, repeats))
            result.update(await concurrency(server))
            result.update(await malformed(server))
    result["goals"] = {"stt_ms_median": 800, "tts_first_chunk_ms_median": 150,
                       "streaming_first_sentence_before_third": True, "handle_first_text_ms_median": 600,
                       "concurrency_lost": 0, "concurrency_mixed": 0, "malformed_per_s": 1000,
                       "malformed_rss_growth_mb": 5}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    result = asyncio.run(main_async(parser.parse_args().repeats))
    write_result("wyoming", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
