"""The chat view, its bubbles and media widgets, offscreen, with real media files made here."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import shiboken6
import soundfile as sf
from PIL import Image
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QDialog, QFileDialog, QLabel

from tests.ui.screens import is_blank, save_screenshot
from ui.bubbles import ReplyBubble
from ui.chat_view import ChatView
from ui.media_widgets import AudioPlayer, FileChip, ImageView, MediaPlaceholder, VideoPlayer

LOAD_TIMEOUT_MS = 5000


# ---- media files ----


def make_png(path: Path, width: int = 300, height: int = 200) -> Path:
    """A colourful gradient PNG."""
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)
    red = np.broadcast_to(x, (height, width))
    green = np.broadcast_to(y[:, None], (height, width))
    rgb = np.stack([red, green, np.full((height, width), 90)], axis=-1)
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return path


def make_sound(path: Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    """A 440 Hz tone as float WAV (soundfile)."""
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    return path


def make_speech(path: Path, seconds: float = 1.0, rate: int = 22050) -> Path:
    """A speech-like warble as 16-bit mono WAV (the `wave` module, like the speech voice writes)."""
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.3 * np.sin(2 * np.pi * (180 + 60 * np.sin(2 * np.pi * 3 * t)) * t)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((signal * 32767).astype("<i2").tobytes())
    return path


def make_mp4(path: Path, frames: int = 20, fps: int = 10, width: int = 64, height: int = 48) -> Path:
    """An H.264 (yuv420p) MP4 of a square moving over a changing background."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            rgb = np.zeros((height, width, 3), np.uint8)
            rgb[..., 2] = 40 + index * 8
            rgb[10:30, 2 * index : 2 * index + 20, 1] = 220
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One file per modality: image (PNG), audio (WAV), speech (WAV), video (MP4)."""
    folder = tmp_path_factory.mktemp("media")
    return {
        "image": str(make_png(folder / "image.png")),
        "audio": str(make_sound(folder / "sound.wav")),
        "speech": str(make_speech(folder / "speech.wav")),
        "video": str(make_mp4(folder / "video.mp4")),
    }


@pytest.fixture
def view(qtbot) -> ChatView:
    chat = ChatView()
    qtbot.addWidget(chat)
    chat.resize(700, 600)
    chat.show()
    qtbot.waitExposed(chat)
    yield chat
    # Players are stopped (the view's clear releases each), seen stopped, then deleted and seen gone
    # before the next test: tearing down a QMediaPlayer whose FFmpeg threads still play crashed the
    # process once (a segfault in pytest-qt's teardown event processing). The view is cleared before
    # any waiting, as pytest-qt has already asked for it to be deleted once events are processed.
    players = chat.findChildren(QMediaPlayer)
    chat.clear()
    qtbot.waitUntil(lambda: all(p.playbackState() == QMediaPlayer.PlaybackState.StoppedState
                                for p in players if shiboken6.isValid(p)), timeout=LOAD_TIMEOUT_MS)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: not any(shiboken6.isValid(p) for p in players), timeout=LOAD_TIMEOUT_MS)


def wait_loaded(qtbot, player: QMediaPlayer) -> None:
    qtbot.waitUntil(lambda: player.mediaStatus() == QMediaPlayer.MediaStatus.LoadedMedia or player.duration() > 0,
                    timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: player.duration() > 0, timeout=LOAD_TIMEOUT_MS)


# ---- messages ----


def test_user_message_shows_image_thumbnail_and_file_chip(view: ChatView, media: dict[str, str], qtbot) -> None:
    view.add_user_message("t1", "what is in this picture?", [media["image"], media["audio"]])
    view.start_reply("t1")
    bubble = view.user_bubble("t1")
    assert bubble is not None and bubble.text == "what is in this picture?"
    thumb, chip = bubble.attachment_widgets
    assert isinstance(thumb, ImageView) and isinstance(chip, FileChip)
    assert thumb.thumbnail.pixmap().width() <= 320
    assert chip.path == media["audio"]
    assert bubble.text_label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    # the user's bubble sits on the right, the assistant's on the left
    qtbot.waitUntil(lambda: view.bubble("t1").isVisible())
    viewport = view.viewport().width()
    user_box = bubble.mapTo(view.container, bubble.rect().topLeft())
    reply_box = view.bubble("t1").mapTo(view.container, view.bubble("t1").rect().topLeft())
    assert user_box.x() + bubble.width() > viewport - 30
    assert reply_box.x() < 30


def test_streamed_text_then_final_markdown(view: ChatView, qtbot) -> None:
    view.add_user_message("t1", "hi", [])
    view.start_reply("t1")
    reply = view.bubble("t1")
    assert isinstance(reply, ReplyBubble) and reply.is_typing and reply.text == ""
    deltas = ["Hello", ", this is ", "**bold**", " and `code`", " <b>raw</b>"]
    for delta in deltas:
        view.append_text("t1", delta)
    whole = "".join(deltas)
    assert reply.text == whole
    assert not reply.is_typing
    qtbot.waitUntil(lambda: reply.text_label.text() == whole, timeout=1000)  # shown as typed, plain
    view.set_final_text("t1", whole)
    assert reply.is_final and reply.text == whole
    document = reply.document()
    assert document.toPlainText() == "Hello, this is bold and code <b>raw</b>"  # raw HTML stays text
    weights = {}
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            weights[fragment.text()] = fragment.charFormat().fontWeight()
            iterator += 1
        block = block.next()
    assert weights["bold"] == QFont.Weight.Bold
    assert weights["Hello, this is "] == QFont.Weight.Normal
    assert reply.text_label.textFormat() == Qt.TextFormat.RichText
    assert "font-weight:700" in reply.text_label.text()
    view.append_text("t1", " late")  # after the final text: ignored
    assert reply.text == whole


@pytest.mark.parametrize(
    ("modality", "widget_type"),
    [("image", ImageView), ("audio", AudioPlayer), ("video", VideoPlayer), ("speech", AudioPlayer)],
)
def test_media_replaces_its_progress_placeholder(view: ChatView, media: dict[str, str], modality: str,
                                                 widget_type: type, qtbot) -> None:
    view.start_reply("t1")
    view.show_progress("t1", modality, 1, 20)
    view.show_progress("t1", modality, 3, 20)
    view.show_progress("t1", "other", 0, 0)  # a second modality keeps its own placeholder
    reply = view.bubble("t1")
    placeholder = reply.placeholders[modality]
    assert isinstance(placeholder, MediaPlaceholder)
    assert placeholder.bar.value() == 3 and placeholder.bar.maximum() == 20
    assert "step 3 of 20" in placeholder.label.text()
    assert reply.media_layout.indexOf(placeholder) == 0

    view.add_media("t1", modality, media[modality], note="made with untrained weights")
    assert modality not in reply.placeholders and "other" in reply.placeholders
    (entry,) = reply.media
    assert isinstance(entry.widget, widget_type)
    assert reply.media_layout.indexOf(entry) == 0  # where its placeholder was
    assert entry.note_label is not None and entry.note_label.text() == "made with untrained weights"
    qtbot.waitUntil(lambda: not shiboken6.isValid(placeholder), timeout=1000)
    if isinstance(entry.widget, AudioPlayer | VideoPlayer):
        wait_loaded(qtbot, entry.widget.player)


def test_mark_interrupted_drops_placeholders(view: ChatView, media: dict[str, str]) -> None:
    view.start_reply("t1")
    view.append_text("t1", "Here is a pic")
    view.show_progress("t1", "image", 2, 10)
    view.show_progress("t1", "speech", 0, 0)
    view.mark_interrupted("t1")
    reply = view.bubble("t1")
    assert reply.interrupted and not reply.placeholders and not reply.is_typing
    assert reply.status_label.text() == "interrupted" and not reply.status_label.isHidden()
    assert reply.text_label.text() == "Here is a pic"  # what streamed stays


def test_add_error_inline(view: ChatView) -> None:
    view.add_user_message("t1", "draw a cat", [])
    view.start_reply("t1")
    view.show_progress("t1", "image", 1, 20)
    view.add_user_message("t2", "and now?", [])
    view.add_error("t1", "the image decoder ran out of memory")
    view.add_error(None, "the microphone went away")
    first, second = view.errors
    assert first.text == "the image decoder ran out of memory" and first.turn_id == "t1"
    assert second.turn_id is None
    roles = [(bubble.role, bubble.turn_id) for bubble in view.bubbles]
    assert roles == [("user", "t1"), ("assistant", "t1"), ("error", "t1"), ("user", "t2"), ("error", None)]
    reply = view.bubble("t1")
    assert not reply.placeholders and not reply.is_typing
    view.start_reply("t3")
    view.add_error("t3", "the model stopped")  # a reply that said nothing gives way to its error ...
    assert view.bubble("t3").parentWidget().isHidden()
    view.append_text("t3", "after all")  # ... and comes back if something arrives after all
    assert not view.bubble("t3").parentWidget().isHidden()
    tint = QColor(first.colors.error)
    assert first.colors.error in first.styleSheet() and tint.red() > tint.green() and tint.red() > tint.blue()


def test_copy_puts_text_on_clipboard(view: ChatView, qtbot) -> None:
    view.add_user_message("t1", "question?", [])
    view.start_reply("t1")
    view.set_final_text("t1", "An **answer**.")
    reply = view.bubble("t1")
    qtbot.mouseClick(reply.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "An **answer**."
    view.user_bubble("t1").copy_text()
    assert QGuiApplication.clipboard().text() == "question?"


def test_auto_scroll_follows_only_at_the_bottom(view: ChatView, qtbot) -> None:
    bar = view.verticalScrollBar()
    for index in range(12):
        view.add_user_message(f"t{index}", f"message {index}\nwith a second line", [])
        view.start_reply(f"t{index}")
        view.set_final_text(f"t{index}", f"reply {index}\n\nsecond paragraph")
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    assert view.at_bottom
    bar.setValue(0)  # the user scrolls up to read
    longest = bar.maximum()
    view.start_reply("late")
    view.set_final_text("late", "more\n\nand more\n\nand more")
    qtbot.waitUntil(lambda: bar.maximum() > longest)  # the reply is laid out...
    assert bar.value() == 0 and not view.at_bottom  # ...and the view stayed where the user put it
    view.add_user_message("u", "I send something", [])  # sending jumps back down
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() and bar.maximum() > 0)


def test_clear_releases_everything(view: ChatView, media: dict[str, str], qtbot) -> None:
    view.start_reply("t1")
    view.add_media("t1", "audio", media["audio"])
    player = view.bubble("t1").media[0].widget.player
    view.clear()
    assert view.bubbles == [] and view.bubble("t1") is None
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: not shiboken6.isValid(player), timeout=1000)


# ---- media widgets ----


def test_image_view_enlarges_and_saves_a_byte_identical_copy(media: dict[str, str], tmp_path: Path, qtbot,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    image = ImageView(media["image"])
    qtbot.addWidget(image)
    image.show()
    assert image.thumbnail.pixmap().width() == 300  # under the limit: not scaled
    qtbot.mouseClick(image.thumbnail, Qt.MouseButton.LeftButton)
    dialog = image.dialog
    assert isinstance(dialog, QDialog) and dialog.isVisible()
    full = [label for label in dialog.findChildren(QLabel) if not label.pixmap().isNull()]
    assert full and full[0].pixmap().size() == image.pixmap.size()
    dialog.close()

    saved = image.save_to(tmp_path / "copy.png")
    assert saved.read_bytes() == Path(media["image"]).read_bytes()
    assert image.save_to(tmp_path / "no-suffix") == tmp_path / "no-suffix.png"
    target = tmp_path / "chosen.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    assert image.save_as() == target and target.read_bytes() == saved.read_bytes()


def test_big_image_thumbnail_keeps_aspect(tmp_path: Path, qtbot) -> None:
    image = ImageView(make_png(tmp_path / "big.png", 1000, 500))
    qtbot.addWidget(image)
    size = image.thumbnail.pixmap().size()
    assert (size.width(), size.height()) == (320, 160)


def test_audio_player_loads_seeks_and_plays_without_a_sound_card(media: dict[str, str], qtbot) -> None:
    audio = AudioPlayer(media["speech"], title="Speech")
    qtbot.addWidget(audio)
    wait_loaded(qtbot, audio.player)
    assert abs(audio.duration - 1000) <= 50
    assert audio.slider.maximum() == audio.duration
    assert audio.time_label.text() == "0:00 / 0:01"
    audio.seek(500)
    qtbot.waitUntil(lambda: audio.position == 500, timeout=LOAD_TIMEOUT_MS)
    assert audio.slider.value() == 500
    audio.slider.setValue(250)  # dragging the slider seeks
    qtbot.waitUntil(lambda: audio.position == 250, timeout=LOAD_TIMEOUT_MS)
    audio.toggle()
    qtbot.waitUntil(lambda: audio.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState)
    assert audio.play_button.text() == "Pause"
    audio.toggle()
    qtbot.waitUntil(lambda: audio.player.playbackState() == QMediaPlayer.PlaybackState.PausedState)


def test_video_player_loads_shows_a_frame_and_seeks(media: dict[str, str], qtbot) -> None:
    video = VideoPlayer(media["video"])
    qtbot.addWidget(video)
    video.show()
    wait_loaded(qtbot, video.player)
    assert abs(video.duration - 2000) <= 100
    assert (video.video_size.width(), video.video_size.height()) == (64, 48)
    assert video.view.height() == 240  # 320 wide, aspect kept
    qtbot.waitUntil(lambda: not video.view.image.isNull(), timeout=LOAD_TIMEOUT_MS)  # the first frame
    video.seek(1200)
    qtbot.waitUntil(lambda: video.position == 1200, timeout=LOAD_TIMEOUT_MS)
    assert video.time_label.text() == "0:01 / 0:02"


def test_missing_files_say_so_instead_of_crashing(tmp_path: Path, qtbot) -> None:
    image = ImageView(tmp_path / "gone.png")
    audio = AudioPlayer(tmp_path / "gone.wav")
    video = VideoPlayer(tmp_path / "gone.mp4")
    for widget in (image, audio, video):
        qtbot.addWidget(widget)
    assert image.thumbnail.text() == "can't show gone.png"
    qtbot.waitUntil(lambda: audio.time_label.text() == "can't play this file", timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: video.time_label.text() == "can't play this file", timeout=LOAD_TIMEOUT_MS)
    assert not audio.play_button.isEnabled()


def test_players_go_with_their_widget(media: dict[str, str], qtbot) -> None:
    audio = AudioPlayer(media["audio"])
    video = VideoPlayer(media["video"])
    players = [audio.player, video.player]
    wait_loaded(qtbot, video.player)
    audio.deleteLater()
    video.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: not any(shiboken6.isValid(player) for player in players), timeout=1000)


def test_only_one_player_plays_at_a_time(view: ChatView, media: dict[str, str], qtbot) -> None:
    view.start_reply("t1")
    view.add_media("t1", "speech", media["speech"])
    view.add_media("t1", "audio", media["audio"])
    first, second = (entry.widget for entry in view.bubble("t1").media)
    wait_loaded(qtbot, first.player)
    wait_loaded(qtbot, second.player)
    first.toggle()
    qtbot.waitUntil(lambda: first.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState)
    second.toggle()
    qtbot.waitUntil(lambda: first.player.playbackState() == QMediaPlayer.PlaybackState.PausedState)
    # stopped here, not by the fixture: pytest-qt processes events at teardown before fixtures end,
    # and a full-suite run once segfaulted in that processing with this player still playing
    second.release()
    qtbot.waitUntil(lambda: second.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState)


# ---- screenshot ----


def test_screenshot_of_a_conversation_with_every_media_kind(view: ChatView, media: dict[str, str], qtbot,
                                                            tmp_path: Path) -> None:
    view.resize(720, 1500)
    view.add_user_message("t1", "Show me everything you can make.", [media["image"], media["audio"]])
    view.start_reply("t1")
    for word in "Here is an **image**, a sound, some speech and a video.".split(" "):
        view.append_text("t1", word + " ")
    view.set_final_text("t1", "Here is an **image**, a sound, some speech and a video.")
    for modality in ("image", "audio", "speech", "video"):
        view.show_progress("t1", modality, 5, 10)
        view.add_media("t1", modality, media[modality], note="made with untrained weights")
    view.add_user_message("t2", "And another?", [])
    view.start_reply("t2")
    view.show_progress("t2", "image", 7, 20)
    view.mark_interrupted("t2")
    view.add_error(None, "the camera went away")
    video = view.bubble("t1").media[-1].widget
    qtbot.waitUntil(lambda: not video.view.image.isNull(), timeout=LOAD_TIMEOUT_MS)
    path = save_screenshot(view, "chat_view_every_media")
    assert path.is_file() and not is_blank(path)

    flat = tmp_path / "flat.png"
    Image.new("RGB", (40, 30), (240, 240, 240)).save(flat)
    assert is_blank(flat)


# ---- the environment ----


# PySide6 6.12.0 (abi3) on Python 3.11 dropped a reference to None on every void Qt call, and a
# long-running app died with "none_dealloc: deallocating None"; requirements.txt pins 6.11.3 for it.
def test_void_qt_calls_leave_none_alive(qtbot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(1000):
        label.hide()
    assert before - sys.getrefcount(None) < 10
