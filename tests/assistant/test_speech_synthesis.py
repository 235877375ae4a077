"""Spoken answers: sentences synthesised in order while the text streams, the first while the
model waits."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from assistant.frames import FinalText, SpeechOutput, TextDelta, TurnDone
from assistant.processor import QueueSink
from assistant.speech_synthesis import SpeechSynthesis
from models import AudioData

pytestmark = pytest.mark.asyncio


async def test_the_model_waits_while_the_first_piece_is_synthesised_and_only_then():
    model_may_run = threading.Event()
    model_may_run.set()
    heard: list[tuple[str, bool]] = []

    def synthesize(text: str) -> AudioData:
        heard.append((text, model_may_run.is_set()))
        return AudioData(np.zeros(160, np.float32), 16000)

    with ThreadPoolExecutor(1) as voice:
        synthesis, sink = SpeechSynthesis(synthesize, voice, lambda: False, {}, model_may_run), QueueSink()
        synthesis.link(sink)
        await synthesis.process(TextDelta("t", "Hello there, my friend. It is a fine day today. "))
        await synthesis.process(TextDelta("t", "And more"))
        await synthesis.process(FinalText("t", "Hello there, my friend. It is a fine day today. And more"))
        await synthesis.process(TurnDone("t"))
    spoken = [f for f in [sink.queue.get_nowait() for _ in range(sink.queue.qsize())] if isinstance(f, SpeechOutput)]
    assert heard == [("Hello there, my friend.", False), ("It is a fine day today.", True), ("And more", True)]
    assert [s.index for s in spoken] == [0, 1, 2] and model_may_run.is_set()


async def test_a_failing_first_piece_lets_the_model_go_on():
    model_may_run = threading.Event()
    model_may_run.set()

    def synthesize(text: str) -> AudioData:
        raise RuntimeError("the voice is gone")

    with ThreadPoolExecutor(1) as voice:
        synthesis = SpeechSynthesis(synthesize, voice, lambda: False, {}, model_may_run)
        synthesis.link(QueueSink())
        await synthesis.process(TextDelta("t", "Hello there, my friend. "))
        await synthesis.process(TurnDone("t"))
    assert model_may_run.is_set()
