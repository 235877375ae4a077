"""The engine on the tiny profile (weights loaded from disk): streaming, overload, cancellation,
timeouts, and a failing model call that leaves the pool working."""

import asyncio

import numpy as np
import pytest
import torch

from assistant.engine import Engine, EngineConfig
from assistant.frames import (
    Accepted,
    DecoderProgress,
    ErrorEvent,
    FinalText,
    Interruption,
    MediaOutput,
    TextDelta,
    Turn,
    TurnDone,
)
from models import EncodedVideo
from tests.prompt_runs import count_prompt_runs

pytestmark = pytest.mark.asyncio


async def collect(stream):
    return [event async for event in stream]


async def test_a_turn_streams_text_then_final_text_and_done(tiny_model):
    async with Engine(tiny_model) as engine:
        events = await collect(engine.submit(Turn(text="hello", want=frozenset({"text"}))))
    assert isinstance(events[0], Accepted)
    assert any(isinstance(e, TextDelta) for e in events)
    final = next(e for e in events if isinstance(e, FinalText))
    assert final.text == "".join(e.text for e in events if isinstance(e, TextDelta)).strip()
    done = events[-1]
    assert isinstance(done, TurnDone) and done.status == "done"
    assert done.timings_ms["first_text_ms"] >= 0 and done.timings_ms["model_ms"] > 0


async def test_decoder_progress_then_media(tiny_model):
    async with Engine(tiny_model) as engine:
        events = await collect(engine.submit(Turn(text="draw", want=frozenset({"image"}))))
    steps = [e.step for e in events if isinstance(e, DecoderProgress)]
    media = [e for e in events if isinstance(e, MediaOutput)]
    assert steps == [1, 2] and [m.modality for m in media] == ["image"]
    assert events.index(media[0]) > max(i for i, e in enumerate(events) if isinstance(e, DecoderProgress))


async def test_requests_beyond_the_queue_are_busy_at_once(tiny_model):
    async with Engine(tiny_model, EngineConfig(max_queued=1)) as engine:
        slow = Turn(text="a", want=frozenset({"video"}))
        first = engine.submit(slow)
        await asyncio.sleep(0)  # the worker takes the first turn off the queue
        second = engine.submit(Turn(text="b", want=frozenset({"text"})))
        third = engine.submit(Turn(text="c", want=frozenset({"text"})))
        refused = await collect(third)
        assert isinstance(refused[0], ErrorEvent) and refused[0].code == "busy"
        assert isinstance(refused[-1], TurnDone) and refused[-1].status == "error"
        assert (await collect(first))[-1].status == "done"
        assert (await collect(second))[-1].status == "done"


async def test_cancel_stops_the_answer_and_the_next_one_runs(tiny_model):
    async with Engine(tiny_model) as engine:
        turn = Turn(text="draw", want=frozenset({"video"}))
        stream = engine.submit(turn)
        events = []
        async for event in stream:
            events.append(event)
            if isinstance(event, DecoderProgress):
                engine.cancel(turn.id, "stop")
        assert any(isinstance(e, Interruption) and e.reason == "stop" for e in events)
        assert events[-1].status == "interrupted" and not any(isinstance(e, MediaOutput) for e in events)
        after = await collect(engine.submit(Turn(text="again", want=frozenset({"text"}))))
        assert after[-1].status == "done"


async def test_a_failing_model_call_is_an_error_event_and_the_pool_carries_on(tiny_model):
    broken = EncodedVideo(torch.zeros(3, 5), 2.0)  # 5 features: not what the video projector takes
    async with Engine(tiny_model) as engine:
        failed = await collect(engine.submit(Turn(text="what is this?", media=(broken,))))
        error = next(e for e in failed if isinstance(e, ErrorEvent))
        assert error.code == "internal" and failed[-1].status == "error"
        after = await collect(engine.submit(Turn(text="hello", want=frozenset({"text"}))))
        assert after[-1].status == "done"


async def test_a_turn_past_its_timeout_gets_a_timeout_error(tiny_model):
    async with Engine(tiny_model, EngineConfig(timeout_s=0.01)) as engine:
        events = await collect(engine.submit(Turn(text="draw", want=frozenset({"image", "audio", "video"}))))
        error = next(e for e in events if isinstance(e, ErrorEvent))
        assert error.code == "timeout" and events[-1].status == "error"
        assert not any(isinstance(e, MediaOutput) for e in events)


async def test_turns_and_their_media_persist_and_feed_the_next_turn(tiny_model, tmp_path):
    from assistant.history import History
    from models import read_image

    history = History(tmp_path / "data")
    conversation = history.new_conversation("drawing")
    async with Engine(tiny_model, history=history) as engine:
        first = await collect(engine.submit(Turn(text="draw a circle", want=frozenset({"image"}),
                                                 conversation_id=conversation)))
        media = next(e for e in first if isinstance(e, MediaOutput))
        assert media.path and read_image(media.path).pixels.shape == (32, 32, 3)
        await collect(engine.submit(Turn(text="and now?", want=frozenset({"text"}), conversation_id=conversation)))
    turns = history.turns(conversation)
    assert [t.user_text for t in turns] == ["draw a circle", "and now?"]
    assert [t.status for t in turns] == ["done", "done"]
    assert turns[0].media[0].modality == "image" and turns[0].media[0].path.is_file()
    reply = next(e for e in first if isinstance(e, FinalText)).text
    assert turns[0].reply_text == reply
    assert history.messages(conversation)[:2] == [{"role": "user", "content": "draw a circle"},
                                                  {"role": "assistant", "content": reply}]
    history.close()


async def test_a_turn_history_refuses_still_ends_with_an_error(tiny_model, tmp_path):
    from assistant.history import History

    history = History(tmp_path / "data")
    async with Engine(tiny_model, history=history) as engine:
        events = await collect(engine.submit(Turn(text="hi", conversation_id="no-such-conversation")))
        error = next(e for e in events if isinstance(e, ErrorEvent))
        assert error.code == "bad_request" and "no-such-conversation" in error.message
        assert isinstance(events[-1], TurnDone) and events[-1].status == "error"
        after = await collect(engine.submit(Turn(text="hello", want=frozenset({"text"}))))
        assert after[-1].status == "done"
    history.close()


async def test_history_writes_run_off_the_event_loop_and_keep_the_order(tiny_model, tmp_path):
    import threading

    import numpy as np

    from assistant.history import History
    from models import ImageData

    history = History(tmp_path / "data")
    conversation = history.new_conversation()
    threads: list[str] = []
    record, save_media = history.record, history.save_media

    def watched(function):
        def call(*args, **kwargs):
            threads.append(threading.current_thread().name)
            return function(*args, **kwargs)
        return call

    history.record, history.save_media = watched(record), watched(save_media)
    turn = Turn(text="make a video", media=(ImageData(np.zeros((8, 8, 3), np.uint8)),),
                want=frozenset({"video", "speech"}), conversation_id=conversation)
    async with Engine(tiny_model, history=history) as engine:
        events = await collect(engine.submit(turn))
    loop_thread = threading.current_thread().name
    assert threads and loop_thread not in threads and set(threads) == {"history_0"}
    media = [e for e in events if isinstance(e, MediaOutput)]
    assert media and all(e.path for e in media)  # delivered after they were saved
    assert isinstance(events[0], Accepted) and isinstance(events[-1], TurnDone)
    assert events.index(media[0]) > max(i for i, e in enumerate(events) if isinstance(e, DecoderProgress))
    [saved] = history.turns(conversation)
    assert saved.status == "done" and {m.role for m in saved.media} == {"input", "output"}
    history.close()


async def test_a_likely_turn_is_prefilled_while_the_device_is_idle(tiny_model, tmp_path, monkeypatch):
    from assistant.history import History
    from models import ImageData

    history = History(tmp_path / "data")
    conversation = history.new_conversation("talk")
    llm = tiny_model.models.llm()
    runs = count_prompt_runs(llm, monkeypatch)
    async with Engine(tiny_model, history=history) as engine:
        await collect(engine.submit(Turn(text="hello there", want=frozenset({"text"}), conversation_id=conversation)))
        likely = Turn(text="and what else can you say", want=frozenset({"text"}), conversation_id=conversation)
        runs.clear()
        assert engine.prepare(likely)
        assert not engine.prepare(likely)  # one at a time
        events = await collect(engine.submit(likely))  # waits behind the prefill on the device
        assert events[-1].status == "done"
        assert len(runs) == 1 and runs[0] > 1  # the turn ran nothing of its prompt before its first token
        assert not engine.prepare(Turn(text="what is this", media=(ImageData(np.zeros((8, 8, 3), np.uint8)),)))
        running = engine.submit(Turn(text="draw", want=frozenset({"video"})))
        await asyncio.sleep(0)
        assert not engine.prepare(likely)  # the device is answering: no guess competes with it
        await collect(running)
    history.close()
