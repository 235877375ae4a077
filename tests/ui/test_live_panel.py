"""The live panel's widgets: preview, meter, source choosers, controls and indicators."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from tests.ui.screens import is_blank, save_screenshot
from ui.live_panel import BOX_COLOUR, NO_CAMERA_TEXT, LivePanel, SourceCombo, meter_fraction, source_label


def test_pattern(height: int, width: int) -> np.ndarray:
    """An RGB gradient with a red square: something a screenshot visibly holds."""
    y, x = np.mgrid[0:height, 0:width]
    frame = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1),
                      np.full_like(x, 96)], axis=-1).astype(np.uint8)
    frame[height // 4: height // 2, width // 4: width // 2] = (220, 30, 30)
    return frame


test_pattern.__test__ = False  # a helper, not a test


@pytest.fixture
def panel(qtbot):
    panel = LivePanel()
    qtbot.addWidget(panel)
    panel.set_sources(["0", "1"], ["USB mic"])
    panel.show()
    panel.activateWindow()
    qtbot.waitActive(panel)
    return panel


def test_a_frame_is_shown_keeping_its_aspect(panel):
    assert not panel.has_frame() and panel.preview.text() == NO_CAMERA_TEXT
    panel.set_frame(test_pattern(100, 200))  # 2:1 into the 16:9 preview: full width
    pixmap = panel.preview.pixmap()
    assert panel.has_frame() and pixmap.width() == panel.preview.width()
    assert abs(pixmap.width() / pixmap.height() - 2.0) < 0.02
    panel.set_frame(test_pattern(480, 360))  # 3:4 portrait: full height
    pixmap = panel.preview.pixmap()
    assert pixmap.height() == panel.preview.height() and abs(pixmap.width() / pixmap.height() - 0.75) < 0.02
    panel.set_frame(test_pattern(60, 80)[::2, ::2])  # a strided view works too
    assert abs(panel.preview.pixmap().width() / panel.preview.pixmap().height() - 4 / 3) < 0.02
    panel.clear_frame()
    assert not panel.has_frame() and panel.preview.text() == NO_CAMERA_TEXT


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((4, 4, 4), np.uint8), np.zeros((0, 4, 3), np.uint8)])
def test_a_bad_frame_is_refused(panel, bad):
    with pytest.raises(ValueError):
        panel.set_frame(bad)


def test_the_level_meter_jumps_up_and_decays(panel, qtbot):
    assert meter_fraction(0.0) == 0.0 and meter_fraction(1.0) == 1.0 and meter_fraction(float("nan")) == 0.0
    assert meter_fraction(0.001) == 0.0 and meter_fraction(0.5) == pytest.approx(0.9, abs=0.01)
    panel.set_level(0.5)
    assert panel.level_meter.value() == round(meter_fraction(0.5) * 1000)
    panel.set_level(0.0)
    assert panel.level() > 0.8  # not at once
    qtbot.waitUntil(lambda: panel.level_meter.value() == 0, timeout=3000)
    panel.set_level(7.0)  # out of range: clamped
    assert panel.level() == 1.0


def test_the_live_toggle_emits(panel, qtbot):
    with qtbot.waitSignal(panel.live_toggled) as signal:
        qtbot.mouseClick(panel.live_button, Qt.MouseButton.LeftButton)
    assert signal.args == [True] and panel.is_live() and panel.live_button.text() == "Stop live"
    with qtbot.waitSignal(panel.live_toggled) as signal:
        qtbot.mouseClick(panel.live_button, Qt.MouseButton.LeftButton)
    assert signal.args == [False]
    with qtbot.assertNotEmitted(panel.live_toggled):
        panel.set_live(True)
    assert panel.is_live() and panel.live_button.text() == "Stop live"


def test_push_to_talk_by_mouse(panel, qtbot):
    talks = []
    panel.push_to_talk.connect(talks.append)
    qtbot.mousePress(panel.talk_button, Qt.MouseButton.LeftButton)
    assert talks == [True]
    qtbot.mouseRelease(panel.talk_button, Qt.MouseButton.LeftButton)
    assert talks == [True, False]


def test_push_to_talk_by_space_bar(panel, qtbot):
    talks = []
    panel.push_to_talk.connect(talks.append)
    panel.setFocus()
    qtbot.keyPress(panel, Qt.Key.Key_Space)
    assert talks == [True] and panel.talk_button.isDown()
    qtbot.keyRelease(panel, Qt.Key.Key_Space)
    assert talks == [True, False] and not panel.talk_button.isDown()
    qtbot.keyPress(panel, Qt.Key.Key_Space)
    panel.live_button.setFocus()  # focus moves away mid-press: the talk ends, nothing stays stuck
    qtbot.waitUntil(lambda: not panel.hasFocus())
    assert talks == [True, False, True, False]


def test_states_change_the_indicator(panel):
    assert panel.state() == "idle" and panel.state_text.text() == "Idle"
    for state, text in (("listening", "Listening"), ("thinking", "Thinking…"), ("speaking", "Speaking")):
        panel.set_state(state)
        assert panel.state_text.text() == text and panel.state() == state
    dots = set()
    for state in ("idle", "listening", "thinking", "speaking"):
        panel.set_state(state)
        dots.add(panel.state_dot.styleSheet())
    assert len(dots) == 4
    with pytest.raises(ValueError):
        panel.set_state("dreaming")


def test_the_capture_indicator_shows_whenever_anything_captures(panel):
    assert not panel.capture_indicator.isVisible()
    panel.set_capturing(camera=True, microphone=False)
    assert panel.capture_indicator.isVisible() and panel.capture_indicator.text() == "● camera"
    panel.set_capturing(camera=True, microphone=True)
    assert panel.capture_indicator.text() == "● camera  ● mic"
    panel.set_capturing(camera=False, microphone=True)
    assert panel.capture_indicator.isVisible() and panel.capture_indicator.text() == "● mic"
    panel.set_capturing(camera=False, microphone=False)
    assert not panel.capture_indicator.isVisible()


def test_unavailable_sources_say_why_and_offer_a_file(panel, qtbot):
    panel.set_frame(test_pattern(90, 160))
    panel.set_unavailable("camera", "device 0 did not open")
    assert not panel.has_frame() and "No camera: device 0 did not open" in panel.preview.text()
    assert panel.camera_notice.isVisible()
    panel.set_unavailable("microphone", "no sound card")
    assert panel.microphone_notice.isVisible() and "No microphone: no sound card" in panel.microphone_notice_text.text()
    panel.choose_audio_file = lambda: "/sounds/question.wav"
    with qtbot.waitSignal(panel.sources_changed) as signal:
        qtbot.mouseClick(panel.microphone_notice.findChild(QPushButton), Qt.MouseButton.LeftButton)
    assert signal.args == ["0", "/sounds/question.wav"] and not panel.microphone_notice.isVisible()
    panel.set_frame(test_pattern(90, 160))  # frames again: the camera notice goes
    assert not panel.camera_notice.isVisible()
    with pytest.raises(ValueError):
        panel.set_unavailable("speaker", "?")


def test_source_choices(panel, qtbot):
    assert (panel.camera_choice(), panel.microphone_choice()) == ("0", "default")
    assert [panel.camera_combo.itemText(i) for i in range(panel.camera_combo.count())] == [
        "Camera 0", "Camera 1", "Video file…"]
    assert [panel.microphone_combo.itemText(i) for i in range(panel.microphone_combo.count())] == [
        "Default microphone", "USB mic", "Audio file…"]
    with qtbot.waitSignal(panel.sources_changed) as signal:
        panel.camera_combo.setCurrentIndex(1)
    assert signal.args == ["1", "default"]
    panel.choose_video_file = lambda: "/clips/a.mp4"
    with qtbot.waitSignal(panel.sources_changed) as signal:
        panel.camera_combo.setCurrentIndex(panel.camera_combo.count() - 1)
    assert signal.args == ["/clips/a.mp4", "default"] and panel.camera_combo.currentText() == "File: a.mp4"
    panel.choose_video_file = lambda: None  # cancelled: the file stays chosen
    with qtbot.assertNotEmitted(panel.sources_changed):
        panel.camera_combo.setCurrentIndex(panel.camera_combo.count() - 1)
    assert panel.camera_choice() == "/clips/a.mp4"
    with qtbot.assertNotEmitted(panel.sources_changed):
        panel.set_sources(["0"], ["USB mic", "Headset"])  # a chosen file outlives a device rescan
    assert panel.camera_choice() == "/clips/a.mp4"
    with qtbot.waitSignal(panel.sources_changed) as signal:
        panel.set_choices("0", "Headset")
    assert signal.args == ["0", "Headset"]


def test_a_source_combo_with_no_devices(qtbot):
    combo = SourceCombo("camera", lambda: None)
    qtbot.addWidget(combo)
    assert combo.choice() == "" and combo.itemText(0) == "No camera"
    combo.set_sources([], current="3")  # a saved camera that is not plugged in is kept, and says so
    assert combo.choice() == "3" and combo.currentText() == "Camera 3 (not found)"
    assert source_label("microphone", "default") == "Default microphone"
    assert source_label("camera", "/x/y.mkv") == "File: y.mkv"
    with pytest.raises(ValueError):
        SourceCombo("speaker", lambda: None)


def test_live_panel_screenshot(panel):
    panel.set_frame(test_pattern(360, 640))
    panel.set_level(0.2)
    panel.set_state("listening")
    panel.set_capturing(camera=True, microphone=True)
    panel.set_live(True)
    assert not is_blank(save_screenshot(panel, "live_panel"))


def _box_pixels(panel) -> int:
    image = panel.preview.pixmap().toImage()
    rows = [[image.pixelColor(x, y).name() for x in range(image.width())] for y in range(0, image.height(), 2)]
    return sum(row.count(BOX_COLOUR) for row in rows)


def test_what_it_sees_is_drawn_on_the_preview_only_when_asked(panel):
    frame = np.full((180, 320, 3), 40, np.uint8)
    panel.set_detections(({"label": "person", "score": 0.9, "box": [0.1, 0.1, 0.5, 0.9]},))
    panel.set_frame(frame)
    assert _box_pixels(panel) == 0
    panel.boxes_check.setChecked(True)
    panel.set_frame(frame)
    assert _box_pixels(panel) > 100
    save_screenshot(panel, "live-panel-boxes")
    panel.set_caption("A person came in, on the left.")
    assert panel.scene_caption.text() == "A person came in, on the left."
