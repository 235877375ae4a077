"""Live sessions from real files played in real time: a generated video as the camera, speech
made with espeak-ng as the microphone, the real Whisper tiny.en and Silero VAD."""

from pathlib import Path

import pytest

from assistant.capture import AudioFileSource, VideoFileSource
from assistant.engine import Engine
from assistant.frames import BargeIn, FinalText, Interruption, Transcript, Turn, TurnDone
from assistant.history import History
from assistant.live import LiveConfig, LiveSession
from models import AnyToAnyModel, EncodedVideo
from tests.clips import make_speech, make_video, slow_video_profile

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]


async def test_a_spoken_question_with_the_camera_on_gets_a_reply(tiny_saved_profile: Path, tmp_path: Path):
    camera = VideoFileSource(make_video(tmp_path / "cam.mp4", 5.0))
    mic = AudioFileSource(make_speech(tmp_path / "mic.wav", [0.5, "What colour is the square?", 1.5]))
    history = History(tmp_path / "data")
    conversation = history.new_conversation()
    async with Engine(AnyToAnyModel.from_profile(tiny_saved_profile), history=history) as engine:
        session = LiveSession(engine, camera, mic, LiveConfig(want=frozenset({"text"})), conversation)
        events = [frame async for frame in session.events(seconds=30)]
    transcript = next(e for e in events if isinstance(e, Transcript))
    assert "colour" in transcript.text.lower() or "color" in transcript.text.lower()
    turn = next(e for e in events if isinstance(e, Turn))
    assert turn.text == transcript.text and isinstance(turn.media[0], EncodedVideo)
    assert turn.media[0].features.shape[0] >= 2  # the window was encoded while the user spoke
    assert any(isinstance(e, FinalText) for e in events)
    assert next(e for e in events if isinstance(e, TurnDone)).status == "done"
    assert [t.status for t in history.turns(conversation)] == ["done"]
    history.close()


async def test_talking_over_an_answer_cancels_it(tiny_saved_profile: Path, tmp_path: Path):
    profile = slow_video_profile(tiny_saved_profile, steps=400)
    mic = AudioFileSource(make_speech(tmp_path / "mic.wav", [0.3, "Make a video of a red square.", 1.3,
                                                             "Stop, show me a blue circle.", 1.5]))
    history = History(tmp_path / "data")
    conversation = history.new_conversation()
    async with Engine(AnyToAnyModel.from_profile(profile), history=history) as engine:
        session = LiveSession(engine, None, mic, LiveConfig(want=frozenset({"video"})), conversation)
        events = [frame async for frame in session.events(seconds=60)]
    turns = [e for e in events if isinstance(e, Turn)]
    assert len(turns) == 2
    first_done = next(e for e in events if isinstance(e, TurnDone) and e.turn_id == turns[0].id)
    assert first_done.status == "interrupted"
    assert any(isinstance(e, Interruption) and e.reason == "barge-in" for e in events)
    assert next(e for e in events if isinstance(e, TurnDone) and e.turn_id == turns[1].id).status == "done"
    assert [t.status for t in history.turns(conversation)] == ["interrupted", "done"]
    assert len(session.barge_ins) == 1
    # heard, the answer's voice paused; the words made a turn, so it stopped for good
    assert [(e.state, e.turn_id) for e in events if isinstance(e, BargeIn)] == [("heard", turns[0].id),
                                                                               ("confirmed", turns[0].id)]
    history.close()


async def test_speech_while_the_models_still_load_is_kept_and_answered(tiny_saved_profile: Path, tmp_path: Path):
    import asyncio
    import time

    mic = AudioFileSource(make_speech(tmp_path / "mic.wav", [0.3, "What colour is the square?", 3.0,
                                                             "And what shape is it?", 1.5]))
    async with Engine(AnyToAnyModel.from_profile(tiny_saved_profile)) as engine:
        loading = asyncio.ensure_future(engine.run_on_device(time.sleep, 8.0))  # the device busy loading
        session = LiveSession(engine, None, mic, LiveConfig(want=frozenset({"text"})))
        events = [frame async for frame in session.events(seconds=60)]
        assert loading.done()
    heard = [e.text.lower() for e in events if isinstance(e, Transcript)]
    assert len(heard) == 2 and ("colour" in heard[0] or "color" in heard[0]) and "shape" in heard[1]
    assert [e.status for e in events if isinstance(e, TurnDone)] == ["done", "done"]


async def test_with_a_wake_word_only_what_follows_it_is_answered(tiny_saved_profile: Path, tmp_path: Path):
    from assistant.frames import SourceStatus

    mic = AudioFileSource(make_speech(tmp_path / "mic.wav", [0.3, "What is the capital of France?", 2.0,
                                                             "Okay Nabu.", 0.4, "What colour is the square?", 2.0]))
    async with Engine(AnyToAnyModel.from_profile(tiny_saved_profile)) as engine:
        session = LiveSession(engine, None, mic, LiveConfig(want=frozenset({"text"}), wake_word="okay_nabu"))
        events = [frame async for frame in session.events(seconds=60)]
    heard = [e.text.lower() for e in events if isinstance(e, Transcript)]
    assert len(heard) == 1 and ("colour" in heard[0] or "color" in heard[0])  # not the question before it
    assert any(isinstance(e, SourceStatus) and e.source == "wake word" and e.state == "heard" for e in events)


async def test_model_calls_leave_a_core_to_the_audio_while_a_session_runs(tiny_saved_profile: Path, tmp_path: Path):
    import torch

    mic = AudioFileSource(make_speech(tmp_path / "mic.wav", [0.5]))
    async with Engine(AnyToAnyModel.from_profile(tiny_saved_profile)) as engine:
        before = await engine.run_on_device(torch.get_num_threads)
        during = []
        session = LiveSession(engine, None, mic, LiveConfig(want=frozenset({"text"}), model_threads=3))
        async for _ in session.events(seconds=10):
            during.append(await engine.run_on_device(torch.get_num_threads))
        after = await engine.run_on_device(torch.get_num_threads)
    assert during and set(during) == {3} and after == before
