"""Barge-in is confirmed by the words that make it: while someone may be talking over an answer,
its voice pauses and its model is held; a turn stops it for good, anything else (a cough, its own
echo) lets it go on. The answerer with the engine on the tiny profile (weights from disk)."""

import asyncio
import threading
from pathlib import Path

import pytest

from assistant.engine import Engine
from assistant.frames import BargeIn, DecoderProgress, Frame, NotATurn, SpeechStarted, Turn, TurnDone
from assistant.live.answerer import Answerer
from assistant.processor import Processor
from models import AnyToAnyModel
from tests.clips import slow_video_profile

pytestmark = pytest.mark.asyncio


class Watch(Processor):
    """Keeps every frame and lets a test await the first one that matches."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []
        self._changed = asyncio.Event()

    async def process(self, frame: Frame) -> None:
        self.frames.append(frame)
        self._changed.set()

    async def first(self, match, timeout: float = 60.0) -> Frame:
        async def wait() -> Frame:
            while True:
                found = next((f for f in self.frames if match(f)), None)
                if found is not None:
                    return found
                self._changed.clear()
                await self._changed.wait()
        return await asyncio.wait_for(wait(), timeout)

    def steps(self) -> int:
        return sum(isinstance(f, DecoderProgress) for f in self.frames)


@pytest.fixture(scope="module")
def slow_model(tiny_saved_profile: Path) -> AnyToAnyModel:
    return AnyToAnyModel.from_profile(slow_video_profile(tiny_saved_profile, steps=400))


async def _answering(engine: Engine) -> tuple[Answerer, Watch, Turn]:
    """An answerer making a long video, a few decoder steps into it."""
    answerer, watch = Answerer(engine), Watch()
    answerer.link(watch)
    turn = Turn(text="Make a video of a red square.", want=frozenset({"video"}))
    await answerer.process(turn)
    await watch.first(lambda f: isinstance(f, DecoderProgress) and f.step >= 3)
    return answerer, watch, turn


async def test_speech_that_makes_no_turn_lets_the_answer_go_on(slow_model):
    async with Engine(slow_model) as engine:
        answerer, watch, turn = await _answering(engine)
        await answerer.process(SpeechStarted(at=1.0))
        heard = await watch.first(lambda f: isinstance(f, BargeIn))
        assert (heard.state, heard.turn_id) == ("heard", turn.id)
        steps = watch.steps()
        # held: the model is stopped between steps (a negative check: the tiny decoder makes
        # dozens of steps a second when it runs)
        await asyncio.sleep(0.3)
        assert watch.steps() <= steps + 1
        await answerer.process(NotATurn("too short"))
        dismissed = await watch.first(lambda f: isinstance(f, BargeIn) and f.state == "dismissed")
        assert dismissed.turn_id == turn.id and dismissed.reason == "too short"
        await watch.first(lambda f: isinstance(f, DecoderProgress) and f.step > steps + 2)  # it goes on
        engine.cancel(turn.id)
        await watch.first(lambda f: isinstance(f, TurnDone))
    assert answerer.dismissed == 1 and len(answerer.barge_ins) == 1  # how soon the model stopped


async def test_a_turn_over_the_answer_stops_it_for_good(slow_model):
    async with Engine(slow_model) as engine:
        answerer, watch, turn = await _answering(engine)
        await answerer.process(SpeechStarted(at=1.0))
        over = Turn(text="Stop, what time is it?", want=frozenset({"text"}), transcript="Stop, what time is it?")
        await answerer.process(over)
        states = [(f.state, f.turn_id) for f in watch.frames if isinstance(f, BargeIn)]
        assert states == [("heard", turn.id), ("confirmed", turn.id)]
        done = await watch.first(lambda f: isinstance(f, TurnDone) and f.turn_id == turn.id)
        assert done.status == "interrupted"
        answered = await watch.first(lambda f: isinstance(f, TurnDone) and f.turn_id == over.id)
        assert answered.status == "done"
    assert len(answerer.barge_ins) == 1


async def test_speech_before_an_answer_has_begun_is_a_turn_of_its_own(slow_model):
    async with Engine(slow_model) as engine:
        answerer, watch = Answerer(engine), Watch()
        answerer.link(watch)
        gate = threading.Event()
        loading = asyncio.ensure_future(engine.run_on_device(gate.wait))  # the device busy (models loading)
        first = Turn(text="What colour is the square?", want=frozenset({"text"}))
        await answerer.process(first)
        await answerer.process(SpeechStarted(at=2.0))  # before it has said anything
        second = Turn(text="And what shape is it?", want=frozenset({"text"}))
        await answerer.process(second)
        gate.set()
        await loading
        for turn in (first, second):
            done = await watch.first(lambda f, t=turn: isinstance(f, TurnDone) and f.turn_id == t.id)
            assert done.status == "done"
    assert not any(isinstance(f, BargeIn) for f in watch.frames)
