"""The whole desktop window, offscreen, on real engines: the tiny profile loaded from disk for
media, the real SmolLM2 for streamed text, files played as camera and microphone for live."""

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from assistant.frames import DecoderProgress, MediaOutput, SourceStatus, TextDelta, Turn, TurnDone
from tests.clips import make_video, slow_video_profile
from ui.engine_bridge import EngineBridge
from ui.main_window import MainWindow
from ui.settings_store import Settings, load_settings, save_settings

pytestmark = pytest.mark.slow
LOAD_TIMEOUT_MS = 120_000


def open_window(qtbot, profile: str, data: Path, settings: Settings | None = None) -> tuple[MainWindow, list]:
    bridge = EngineBridge(profile, data)
    window = MainWindow(bridge, settings or Settings(), data / "settings.toml")
    qtbot.addWidget(window)
    events: list = []
    bridge.event.connect(events.append)
    window.show()
    with qtbot.waitSignal(bridge.ready, timeout=LOAD_TIMEOUT_MS):
        bridge.start()
    return window, events


def done(events: list, turn_id: str) -> bool:
    return any(isinstance(e, TurnDone) and e.turn_id == turn_id for e in events)


@pytest.fixture()
def tiny_window(qtbot, tiny_saved_profile: Path, tmp_path: Path):
    window, events = open_window(qtbot, str(tiny_saved_profile), tmp_path)
    yield window, events
    window.close()
    window.bridge.shutdown()


def test_the_window_opens_and_says_what_is_untrained(tiny_window):
    window, _ = tiny_window
    assert window.windowTitle() == "NExT-GPT Live"
    assert window.status.badge.isVisible() and "untrained" in window.status.badge.text()
    assert window.sidebar is not None


def test_a_generated_image_shows_inline(qtbot, tiny_window):
    window, events = tiny_window
    window.send("draw a red circle", [], ["text", "image"])
    turn_id = window.running
    qtbot.waitUntil(lambda: done(events, turn_id), timeout=60_000)
    assert any(isinstance(e, DecoderProgress) for e in events)
    media = next(e for e in events if isinstance(e, MediaOutput))
    assert Path(media.path).is_file()
    assert [entry.modality for entry in window.chat.bubble(turn_id).media] == ["image"]
    assert not window.composer.busy


def test_an_attached_image_goes_with_the_text(qtbot, tiny_window, tmp_path: Path):
    window, events = tiny_window
    picture = tmp_path / "in.png"
    Image.new("RGB", (40, 40), (40, 170, 70)).save(picture)
    window.send("what is this?", [str(picture)], ["text"])
    turn_id = window.running
    qtbot.waitUntil(lambda: done(events, turn_id), timeout=60_000)
    assert next(e for e in events if isinstance(e, TurnDone) and e.turn_id == turn_id).status == "done"
    stored = window.history.turns(window.conversation_id)[-1]
    assert [m.role for m in stored.media] == ["input"] and stored.media[0].modality == "image"


def test_a_bad_attachment_is_an_error_bubble_and_the_window_carries_on(qtbot, tiny_window, tmp_path: Path):
    window, events = tiny_window
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    window.send("look", [str(broken)], ["text"])
    first = window.running
    qtbot.waitUntil(lambda: done(events, first), timeout=30_000)
    assert any("broken.png" in bubble.text for bubble in window.chat.errors)
    window.send("hello", [], ["text"])
    second = window.running
    qtbot.waitUntil(lambda: done(events, second), timeout=30_000)
    assert next(e for e in events if isinstance(e, TurnDone) and e.turn_id == second).status == "done"


def test_stop_cancels_the_answer(qtbot, tiny_saved_profile: Path, tmp_path: Path):
    window, events = open_window(qtbot, str(slow_video_profile(tiny_saved_profile, steps=200)), tmp_path)
    try:
        window.send("make a video", [], ["video"])
        turn_id = window.running
        qtbot.waitUntil(lambda: any(isinstance(e, DecoderProgress) for e in events), timeout=60_000)
        window.composer.stop_requested.emit()  # what the stop button sends
        qtbot.waitUntil(lambda: done(events, turn_id), timeout=30_000)
        assert next(e for e in events if isinstance(e, TurnDone)).status == "interrupted"
        assert not any(isinstance(e, MediaOutput) for e in events)
        assert window.history.turns(window.conversation_id)[-1].status == "interrupted"
    finally:
        window.close()
        window.bridge.shutdown()


def test_text_streams_in_from_the_real_llm(qtbot, tmp_path: Path):
    window, events = open_window(qtbot, "local", tmp_path)
    try:
        window.send("What is the capital of France?", [], ["text"])
        turn_id = window.running
        qtbot.waitUntil(lambda: done(events, turn_id), timeout=60_000)
        assert len([e for e in events if isinstance(e, TextDelta)]) > 3  # token by token
        assert "Paris" in window.chat.bubble(turn_id).text
    finally:
        window.close()
        window.bridge.shutdown()


def test_live_with_file_sources_makes_a_turn(qtbot, tiny_saved_profile: Path, tmp_path: Path):
    clip = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(clip), "What do you see?"], check=True)
    samples, rate = soundfile.read(clip, dtype="float32")
    soundfile.write(clip, np.concatenate([np.zeros(rate // 2, np.float32), samples,
                                          np.zeros(rate * 2, np.float32)]), rate)
    camera = make_video(tmp_path / "camera.mp4", 4.0)
    window, events = open_window(qtbot, str(tiny_saved_profile), tmp_path)
    try:
        window.live.set_choices(str(camera), str(clip))
        window.live.live_button.click()  # the Live button, as a person presses it
        qtbot.waitUntil(lambda: any(isinstance(e, Turn) for e in events), timeout=60_000)
        turn = next(e for e in events if isinstance(e, Turn))
        assert "see" in turn.text.lower()
        qtbot.waitUntil(lambda: done(events, turn.id), timeout=60_000)
        assert window.live.has_frame()  # the camera preview showed the video
        assert window.chat.user_bubble(turn.id) is not None
        from tests.ui.screens import is_blank, save_screenshot

        assert not is_blank(save_screenshot(window, "window-live"))
    finally:
        window.close()
        window.bridge.shutdown()


def test_with_a_wake_word_set_speech_without_it_makes_no_turn(qtbot, tiny_saved_profile: Path, tmp_path: Path):
    clip = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(clip), "What do you see?"], check=True)
    window, events = open_window(qtbot, str(tiny_saved_profile), tmp_path, Settings(wake_word="hey_jarvis"))
    try:
        window.live.set_choices("", str(clip))
        window.live.live_button.click()
        qtbot.waitUntil(lambda: any(isinstance(e, SourceStatus) and e.source == "live" and e.state == "ended"
                                    for e in events), timeout=60_000)  # the clip played to its end
        assert not any(isinstance(e, Turn) for e in events)  # asleep: the question was not answered
        assert any(isinstance(e, SourceStatus) and e.source == "microphone" for e in events)  # it did listen
    finally:
        window.close()
        window.bridge.shutdown()


def test_settings_persist_across_restarts(qtbot, tiny_saved_profile: Path, tmp_path: Path):
    path = tmp_path / "settings.toml"
    save_settings(Settings(profile=str(tiny_saved_profile), camera="/videos/door.mp4", speech=False), path)
    restored = load_settings(path)
    assert restored.camera == "/videos/door.mp4" and not restored.speech
    window = MainWindow(EngineBridge(restored.profile, tmp_path), restored, path)
    qtbot.addWidget(window)
    assert window.live.camera_choice() == "/videos/door.mp4"


def test_screenshots_of_the_main_states(qtbot, tiny_window, tmp_path: Path):
    from tests.ui.screens import is_blank, save_screenshot
    from ui.settings_dialog import SettingsDialog

    window, events = tiny_window
    window.resize(1280, 800)
    shots = [save_screenshot(window, "window-empty")]
    picture = tmp_path / "cat.png"
    Image.new("RGB", (64, 48), (230, 200, 30)).save(picture)
    window.send("Here is a picture. Make an image, a sound and a video.", [str(picture)],
                ["text", "image", "audio", "video"])
    turn_id = window.running
    qtbot.waitUntil(lambda: done(events, turn_id), timeout=60_000)
    shots.append(save_screenshot(window, "window-conversation"))
    dialog = SettingsDialog(window.settings, ["local", "full", "tiny"], ["0"], ["default"], window)
    qtbot.addWidget(dialog)
    shots.append(save_screenshot(dialog, "window-settings"))
    assert all(not is_blank(shot) for shot in shots)


def test_closing_after_the_engine_stopped_is_quiet(qtbot, tiny_saved_profile: Path, tmp_path: Path):
    window, _ = open_window(qtbot, str(tiny_saved_profile), tmp_path)
    window.bridge.shutdown()
    window.stop()
    window.bridge.cancel("nothing")
    window.close()  # used to raise "Event loop is closed" from closeEvent
    assert not window.bridge._thread.is_alive()


def test_the_mqtt_bridge_runs_inside_the_app_when_enabled(qtbot, tiny_saved_profile: Path, tmp_path: Path):
    import asyncio

    from tests.assistant.mqtt_broker import ask, running_broker
    from ui.settings_store import MqttSettings

    with running_broker(tmp_path) as broker:
        settings = Settings(mqtt=MqttSettings(enabled=True, host="127.0.0.1", port=broker.port))
        bridge = EngineBridge(str(tiny_saved_profile), tmp_path, mqtt=settings.mqtt)
        window = MainWindow(bridge, settings, tmp_path / "settings.toml")
        qtbot.addWidget(window)
        with qtbot.waitSignal(bridge.ready, timeout=LOAD_TIMEOUT_MS):
            bridge.start()
        qtbot.waitUntil(lambda: getattr(bridge, "mqtt_bridge", None) is not None
                        and bridge.mqtt_bridge.connected.is_set(), timeout=10_000)
        replies = asyncio.run(ask(broker.port, "doorbell", {"id": "from-a-device", "text": "who is there?"}))
        assert [r["type"] for r in replies][-1] == "done" and replies[0]["id"] == "from-a-device"
        window.close()
        bridge.shutdown()


def test_the_first_start_shows_what_works_offline_once(qtbot, tiny_window, tmp_path: Path):
    window, _ = tiny_window
    [card] = window.chat.bubbles
    assert "Welcome to NExT-GPT Live" in card.text and "I can chat in text" in card.text
    assert load_settings(tmp_path / "settings.toml").welcomed
    again = MainWindow(window.bridge, load_settings(tmp_path / "settings.toml"), tmp_path / "settings.toml")
    qtbot.addWidget(again)
    again._ready(window.bridge.runtime.describe())
    assert again.chat.bubbles == []
