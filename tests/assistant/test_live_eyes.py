"""A live camera with real eyes: what comes into and leaves the view is said, and "what do you
see?" answers from what is in front of the camera now (real photos played as the camera)."""

from pathlib import Path

import numpy as np
import pytest

from assistant.capture.audio_file import AudioFileSource
from assistant.capture.video_file import VideoFileSource
from assistant.engine import Engine
from assistant.frames import FinalText, SceneChange, SceneSeen, SpeechOutput, Turn
from assistant.live import LiveConfig, LiveSession
from tests.clips import make_speech, photo_video
from tests.photos import photo


@pytest.mark.asyncio
async def test_the_camera_narrates_changes_and_answers_from_the_newest_frame(seeing_model, tmp_path: Path):
    camera = VideoFileSource(photo_video(tmp_path / "cam.mp4", [("astronaut", 2.5), ("cat", 4.5)]))
    mic = AudioFileSource(make_speech(tmp_path / "mic.wav", [4.0, "What do you see?", 2.0]))
    async with Engine(seeing_model) as engine:
        session = LiveSession(engine, camera, mic, LiveConfig(want=frozenset({"text"}), narrate=True))
        events = [frame async for frame in session.events(seconds=40)]
    news = [e.text for e in events if isinstance(e, SceneChange)]
    assert news[0].startswith("A person came in, in the centre"), news
    came, left = news.index("A cat came in, in the centre, close up."), news.index("The person left.")
    assert 0 < came and 0 < left, news
    spoken = [e for e in events if isinstance(e, SpeechOutput) and e.turn_id.startswith("narration")]
    assert spoken and spoken[0].text == news[0] and spoken[0].audio.seconds > 0.5
    seen = [e for e in events if isinstance(e, SceneSeen)]
    assert any(d["label"] == "person" for e in seen for d in e.detections)
    turn = next(e for e in events if isinstance(e, Turn))
    assert turn.media[0].latest is not None
    answer = next(e for e in events if isinstance(e, FinalText) and e.turn_id == turn.id)
    assert "cat" in answer.text and "person" not in answer.text, answer.text
    assert answer.seen and answer.seen[0]["classes"][0]["label"] == "cat"


def test_a_world_drawing_camera_says_nothing(seeing_model) -> None:
    drawing = np.full((64, 64, 3), 255, np.uint8)
    drawing[20:40, 20:40] = (220, 40, 40)
    assert seeing_model.look(drawing) is None  # the world encoder's to read, not perception's
    assert seeing_model.look(photo("cat")) is not None
