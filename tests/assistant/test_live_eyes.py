"""A live camera with real eyes: what comes into and leaves the view is said, and "what do you
see?" answers from what is in front of the camera now (real photos played as the camera)."""

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from assistant.capture.audio_file import AudioFileSource
from assistant.capture.video_file import VideoFileSource
from assistant.engine import Engine
from assistant.frames import FinalText, SceneChange, SceneSeen, SpeechOutput, Turn
from assistant.live import LiveConfig, LiveSession
from tests.assistant.test_live import make_speech
from tests.photos import photo


def photo_video(path: Path, scenes: list[tuple[str, float]], fps: int = 10) -> Path:
    """A 320×240 clip showing each named photo for its seconds, in turn."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for name, seconds in scenes:
            pixels = cv2.resize(photo(name), (320, 240), interpolation=cv2.INTER_AREA)
            for _ in range(int(seconds * fps)):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    return path


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
