"""A live session in a simulated room with its speakers on: the assistant's answers come back into
the microphone through an echo path. With the echo canceller it neither interrupts itself nor
answers its own voice, and a person talking over it still stops it. The real local models
(Whisper, Silero VAD, SmolLM2, Piper) and WebRTC's AEC3, in real time."""

import subprocess
import time
from pathlib import Path

import pytest

from assistant.capture.simulated_room import EchoPath, SimulatedRoom
from assistant.engine import Engine
from assistant.frames import Interruption, SpeechOutput, Transcript, Turn, TurnDone
from assistant.live import LiveConfig, LiveSession
from assistant.playback import Playback
from models import AnyToAnyModel, AudioData, read_audio

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]
SPOKEN = LiveConfig(want=frozenset({"text", "speech"}))


@pytest.fixture(scope="module")
def local_model() -> AnyToAnyModel:
    model = AnyToAnyModel.from_profile("local")
    model.load_all()
    return model


def voice(text: str, folder: Path, speaker: str = "en") -> AudioData:
    path = folder / f"{speaker}-{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", speaker, "-s", "160", "-w", str(path), text], check=True)
    return read_audio(path)


async def _run(model: AnyToAnyModel, room: SimulatedRoom, cancel_echo: bool, seconds: float, on_speech=None):
    playback = Playback(room.speaker)
    frames = []
    async with Engine(model) as engine:
        session = LiveSession(engine, None, room, SPOKEN, echo=room.reference if cancel_echo else None)
        async for frame in session.events(seconds=seconds):
            await playback.process(frame)  # the answer is played into the room
            frames.append(frame)
            if on_speech is not None and isinstance(frame, SpeechOutput):
                on_speech(frame)
    return frames, session


async def test_with_its_speakers_on_it_neither_interrupts_itself_nor_answers_its_echo(local_model, tmp_path):
    question = voice("Tell me about the sun and the moon.", tmp_path)
    for cancel_echo in (False, True):  # the room without the canceller shows the problem it solves
        room = SimulatedRoom([(0.5, question)], seconds=16, path=EchoPath(delay_ms=120, gain=0.7))
        frames, session = await _run(local_model, room, cancel_echo, seconds=30)
        turns = [f for f in frames if isinstance(f, Turn)]
        interrupted = [f for f in frames if isinstance(f, TurnDone) and f.status == "interrupted"]
        assert room.speaker.played  # the answer was spoken into the room
        if cancel_echo:
            assert len(turns) == 1 and not interrupted and session.answerer.echoes == 0
        else:
            assert interrupted or session.answerer.echoes or len(turns) > 1


async def test_a_person_talking_over_the_answer_still_stops_it(local_model, tmp_path):
    question = voice("Tell me a long story about a dragon and a castle.", tmp_path)
    stop = voice("Stop. What time is it?", tmp_path, speaker="en+f3")  # a second voice
    room = SimulatedRoom([(0.5, question)], seconds=20, path=EchoPath(delay_ms=60, gain=0.7))
    said: list[float] = []

    def talk_over(_: SpeechOutput) -> None:
        if not said:
            said.append(time.monotonic() + 1.5)  # once the canceller has heard a second of the answer
            room.say(stop, after_s=1.5)

    frames, session = await _run(local_model, room, True, seconds=40, on_speech=talk_over)
    assert len(room.speaker.cuts) == 1 and room.speaker.cuts[0] > said[0]  # the answer's voice stopped
    turns = [f for f in frames if isinstance(f, Turn)]
    first_done = next(f for f in frames if isinstance(f, TurnDone) and f.turn_id == turns[0].id)
    if first_done.status == "interrupted":  # still being written when the second voice came: cancelled
        assert any(isinstance(f, Interruption) and f.reason == "barge-in" for f in frames)
    heard = [f.text.lower() for f in frames if isinstance(f, Transcript)]
    assert any("time" in text for text in heard[1:])  # the second voice was heard over the echo
