"""The composer: keys, attachments (dialog, drop, paste), output toggles and the send/stop button."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QFileDialog

import ui.composer
from tests.ui.screens import is_blank, save_screenshot
from ui.composer import Composer


@pytest.fixture
def composer(qtbot) -> Composer:
    widget = Composer()
    qtbot.addWidget(widget)
    widget.resize(600, 160)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """An image, a sound, a video (only its name matters to the composer) and a text file."""
    Image.new("RGB", (32, 24), (200, 40, 40)).save(tmp_path / "photo.png")
    with wave.open(str(tmp_path / "voice.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x00" * 1600)
    (tmp_path / "clip.mp4").write_bytes(b"\x00" * 64)
    (tmp_path / "notes.txt").write_text("not media")
    return {name: str(tmp_path / file) for name, file in
            [("image", "photo.png"), ("audio", "voice.wav"), ("video", "clip.mp4"), ("text", "notes.txt")]}


def test_enter_sends_and_clears(composer: Composer, qtbot) -> None:
    qtbot.keyClicks(composer.edit, "hello there")
    with qtbot.waitSignal(composer.send_requested, timeout=1000) as sent:
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent.args == ["hello there", [], None]
    assert composer.text == ""


def test_shift_enter_breaks_the_line_without_sending(composer: Composer, qtbot) -> None:
    with qtbot.assertNotEmitted(composer.send_requested):
        qtbot.keyClicks(composer.edit, "one")
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
        qtbot.keyClicks(composer.edit, "two")
    assert composer.text == "one\ntwo"
    with qtbot.waitSignal(composer.send_requested, timeout=1000) as sent:
        qtbot.keyClick(composer.edit, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
    assert sent.args[0] == "one\ntwo"


def test_sending_nothing_does_nothing(composer: Composer, qtbot) -> None:
    with qtbot.assertNotEmitted(composer.send_requested):
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
        qtbot.keyClicks(composer.edit, "   ")
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
        qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)


def test_attach_dialog_chips_remove_and_send(composer: Composer, files: dict[str, str], qtbot,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = [files["image"], files["audio"], files["text"], "/nowhere/missing.png"]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args, **kwargs: (chosen, ""))
    qtbot.mouseClick(composer.attach_button, Qt.MouseButton.LeftButton)
    assert composer.attachments == [files["image"], files["audio"]]
    assert not composer.hint.isHidden() and "notes.txt" in composer.hint.text()
    assert composer.add_attachments([files["video"], files["image"]]) == [files["video"]]  # no duplicates
    chip = composer._chips[files["audio"]]
    qtbot.mouseClick(chip.remove_button, Qt.MouseButton.LeftButton)
    assert composer.attachments == [files["image"], files["video"]]
    with qtbot.waitSignal(composer.send_requested, timeout=1000) as sent:
        qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)  # attachments alone can be sent
    assert sent.args == ["", [files["image"], files["video"]], None]
    assert composer.attachments == [] and composer._chips == {}


def _file_mime(paths: list[str]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path) for path in paths])
    return mime


def test_dropping_files_attaches_them(composer: Composer, files: dict[str, str]) -> None:
    mime = _file_mime([files["image"], files["video"]])
    point = QPoint(20, 20)
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(point, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(composer, enter)
    assert enter.isAccepted()
    drop = QDropEvent(point.toPointF(), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(composer, drop)
    assert drop.isAccepted()
    assert composer.attachments == [files["image"], files["video"]]
    composer.edit.insertFromMimeData(_file_mime([files["audio"]]))  # dropped on the text box instead
    assert composer.attachments[-1] == files["audio"] and composer.text == ""


def test_pasting_an_image_attaches_a_png(composer: Composer, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui.composer, "PASTE_DIR", tmp_path / "paste")
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor(30, 120, 200))
    QGuiApplication.clipboard().setImage(image)
    composer.edit.paste()
    (path,) = composer.attachments
    assert Path(path).parent == tmp_path / "paste" and path.endswith(".png")
    with Image.open(path) as pasted:
        assert pasted.format == "PNG" and pasted.size == (40, 30)
    QGuiApplication.clipboard().setText("just text")
    composer.edit.paste()
    assert composer.text == "just text" and len(composer.attachments) == 1


@pytest.mark.parametrize(
    ("clicks", "want", "auto"),
    [
        ([], None, True),
        (["speech"], ["text", "speech"], False),
        (["sound", "image"], ["text", "image", "audio"], False),
        (["video", "speech", "sound", "image"], ["text", "speech", "image", "audio", "video"], False),
        (["image", "image"], None, True),  # unchecking the last output rechecks auto
        (["image", "video", "auto"], None, True),  # auto clears the others
        (["auto"], None, True),  # auto can't be unchecked by itself
    ],
)
def test_output_toggles(composer: Composer, qtbot, clicks: list[str], want: list[str] | None, auto: bool) -> None:
    for name in clicks:
        qtbot.mouseClick(composer.toggles[name], Qt.MouseButton.LeftButton)
    assert composer.want() == want
    assert composer.toggles["auto"].isChecked() is auto
    if auto:
        assert not any(composer.toggles[name].isChecked() for name in ("speech", "image", "sound", "video"))
    qtbot.keyClicks(composer.edit, "go")
    with qtbot.waitSignal(composer.send_requested, timeout=1000) as sent:
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent.args[2] == want


def test_busy_turns_send_into_stop(composer: Composer, qtbot) -> None:
    composer.set_busy(True)
    assert composer.busy and composer.send_button.text() == "Stop"
    qtbot.keyClicks(composer.edit, "next question")
    with qtbot.assertNotEmitted(composer.send_requested):
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)  # kept while the answer runs
        with qtbot.waitSignal(composer.stop_requested, timeout=1000):
            qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    assert composer.text == "next question"
    composer.set_busy(False)
    assert composer.send_button.text() == "Send"
    with qtbot.waitSignal(composer.send_requested, timeout=1000) as sent:
        qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    assert sent.args[0] == "next question"


def test_screenshot_with_attachments(composer: Composer, files: dict[str, str], qtbot) -> None:
    composer.add_attachments([files["image"], files["audio"], files["video"]])
    qtbot.mouseClick(composer.toggles["speech"], Qt.MouseButton.LeftButton)
    composer.set_text("Describe these, please")
    path = save_screenshot(composer, "composer")
    assert not is_blank(path)
