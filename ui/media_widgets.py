"""Widgets that show one media file inside a chat bubble: an image thumbnail, a sound or speech player,
a video player, a progress placeholder for media still being made, and a file chip for attachments.

Every widget takes a path to a file on disk; none of them knows how the file was made.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from PySide6.QtCore import Q_ARG, QMetaObject, QPoint, QRect, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QImage, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtMultimedia import QAudioOutput, QMediaMetaData, QMediaPlayer, QVideoFrame, QVideoSink
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from assistant.turn_inputs import kind_of_path

log = logging.getLogger(__name__)

THUMB_WIDTH = 320
"""The widest a thumbnail, player or video is drawn inside a bubble, in pixels."""


def _call_from_event_loop(player: QMediaPlayer, slot: str, position: int | None = None) -> None:
    """Asks `player` to run `slot` (play, pause, stop, or setPosition with `position`) from the
    event loop, not from here.

    PySide keeps the GIL through QMediaPlayer's play, pause, stop and setPosition (of its calls only
    setSource lets it go). Inside them Qt's FFmpeg backend takes the locks of its renderer threads'
    connections, while a renderer thread tearing down one of its objects may hold those locks and
    wait for the GIL, to ask Python whether our QAudioOutput overrides a virtual: both threads then
    wait for ever (a test run hung in stop() so, with the renderer in ~QObject). Queued, the slot
    runs from the event loop, which PySide runs with the GIL let go.
    """
    queued = Qt.ConnectionType.QueuedConnection
    if position is None:
        QMetaObject.invokeMethod(player, slot, queued)
    else:
        QMetaObject.invokeMethod(player, slot, queued, Q_ARG("qint64", position))


MAKING = {
    "image": "making an image…",
    "audio": "making a sound…",
    "video": "making a video…",
    "speech": "making speech…",
}
"""What a placeholder says while its modality is being made."""


def format_ms(ms: int) -> str:
    """A media time as m:ss, or h:mm:ss from an hour up."""
    seconds = max(0, int(ms)) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def copy_file(source: str | Path, target: str | Path) -> Path:
    """Copies a media file byte for byte; a target without a suffix takes the source's. Returns the target."""
    target = Path(target)
    if not target.suffix:
        target = target.with_suffix(Path(source).suffix)
    shutil.copyfile(source, target)
    log.info("saved %s to %s", source, target)
    return target


def ask_and_save(parent: QWidget, source: str | Path, caption: str) -> Path | None:
    """Asks where to save a copy of `source` with a file dialog and copies it there; None if cancelled."""
    source = Path(source)
    suffix = source.suffix.lower() or ".bin"
    chosen, _ = QFileDialog.getSaveFileName(
        parent, caption, source.name, f"{suffix[1:].upper()} file (*{suffix});;All files (*)"
    )
    if not chosen:
        return None
    try:
        return copy_file(source, chosen)
    except OSError as error:
        log.warning("could not save %s to %s: %s", source, chosen, error)
        QMessageBox.warning(parent, caption, f"Could not save the file:\n{error}")
        return None


class ImageView(QWidget):
    """A clickable thumbnail of an image file (at most `size` pixels a side, THUMB_WIDTH by default,
    aspect kept) that opens the full image in a scrollable dialog and can save a copy of the file."""

    def __init__(self, path: str | Path, size: int = THUMB_WIDTH, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.size_limit = size
        self.dialog: QDialog | None = None
        self.pixmap = QPixmap(str(self.path))
        self.thumbnail = QLabel(self)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.thumbnail)
        if self.pixmap.isNull():
            log.warning("can't read image %s", self.path)
            self.thumbnail.setText(f"can't show {self.path.name}")
            return
        self.thumbnail.setPixmap(self._thumbnail_pixmap())
        self.thumbnail.setCursor(Qt.CursorShape.PointingHandCursor)
        self.thumbnail.setToolTip(f"{self.path.name} ({self.pixmap.width()}×{self.pixmap.height()}): click to enlarge")
        save = QToolButton(self)
        save.setText("Save…")
        save.setAutoRaise(True)
        save.clicked.connect(self.save_as)
        layout.addWidget(save, 0, Qt.AlignmentFlag.AlignLeft)

    def _thumbnail_pixmap(self) -> QPixmap:
        """The image fitted into a `size_limit` square; tiny images are enlarged to a visible size."""
        size, limit = self.pixmap.size(), self.size_limit
        if size.width() > limit or size.height() > limit:
            return self.pixmap.scaled(
                limit, limit, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        smallest = limit // 2
        if max(size.width(), size.height()) < smallest:
            return self.pixmap.scaled(
                smallest, smallest, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
            )
        return self.pixmap

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Takes a left press on the thumbnail so its release (the click) comes here."""
        if event.button() == Qt.MouseButton.LeftButton and not self.pixmap.isNull():
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """A left click on the thumbnail enlarges it."""
        on_thumbnail = self.thumbnail.geometry().contains(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and on_thumbnail and not self.pixmap.isNull():
            self.enlarge()
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Enlarge, copy and save from the right-click menu."""
        if self.pixmap.isNull():
            return
        menu = QMenu(self)
        menu.addAction("Open larger", self.enlarge)
        menu.addAction("Copy image", self.copy_image)
        menu.addAction("Save…", self.save_as)
        menu.exec(event.globalPos())

    def enlarge(self) -> QDialog:
        """Shows (or raises) a non-modal dialog with the full-size image in a scroll area; returns it."""
        if self.dialog is None:
            self.dialog = self._make_dialog()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _make_dialog(self) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle(self.path.name)
        full = QLabel(dialog)
        full.setPixmap(self.pixmap)
        area = QScrollArea(dialog)
        area.setWidget(full)
        area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close, dialog)
        buttons.accepted.connect(self.save_as)
        buttons.rejected.connect(dialog.close)
        layout = QVBoxLayout(dialog)
        layout.addWidget(area)
        layout.addWidget(buttons)
        screen = QGuiApplication.primaryScreen()
        room = screen.availableSize() * 0.9 if screen is not None else QSize(1200, 900)
        dialog.resize(
            min(self.pixmap.width() + 40, room.width()), min(self.pixmap.height() + 90, room.height())
        )
        return dialog

    def copy_image(self) -> None:
        """Puts the full image on the clipboard."""
        QGuiApplication.clipboard().setPixmap(self.pixmap)

    def save_to(self, target: str | Path) -> Path:
        """Copies the image file to `target` unchanged (the Save… action asks for `target`); returns the path."""
        return copy_file(self.path, target)

    def save_as(self) -> Path | None:
        """Asks where to save with a file dialog, then `save_to` there; None if cancelled."""
        return ask_and_save(self, self.path, "Save image")

    def release(self) -> None:
        """Closes the enlarged view, if open."""
        if self.dialog is not None:
            self.dialog.close()


class MediaPlayerWidget(QWidget):
    """What the sound and video players share: a QMediaPlayer (a child, so it goes with the widget),
    a play/pause button, a seek slider and an elapsed/total label."""

    def __init__(self, path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.player = QMediaPlayer(self)
        self.audio_output = QAudioOutput(self)
        self.player.setAudioOutput(self.audio_output)
        self._syncing_slider = False
        self.play_button = QToolButton(self)
        self.play_button.setAutoRaise(True)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.setSingleStep(1000)
        self.slider.setPageStep(5000)
        self.time_label = QLabel(format_ms(0) + " / " + format_ms(0), self)
        self.time_label.setTextFormat(Qt.TextFormat.PlainText)
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(0, 0, 0, 0)
        self.controls.addWidget(self.play_button)
        self.controls.addWidget(self.slider, 1)
        self.controls.addWidget(self.time_label)
        self._show_state(QMediaPlayer.PlaybackState.StoppedState)
        self.play_button.clicked.connect(self.toggle)
        self.slider.valueChanged.connect(self._slider_moved)
        self.player.durationChanged.connect(self._duration_changed)
        self.player.positionChanged.connect(self._position_changed)
        self.player.playbackStateChanged.connect(self._show_state)
        self.player.errorOccurred.connect(self._failed)

    def load(self) -> None:
        """Points the player at the file; loading goes on in the background."""
        self.player.setSource(QUrl.fromLocalFile(str(self.path.resolve())))

    @property
    def duration(self) -> int:
        """The media's length in milliseconds (0 until loaded)."""
        return self.player.duration()

    @property
    def position(self) -> int:
        """Where playback is, in milliseconds."""
        return self.player.position()

    def toggle(self) -> None:
        """Play if paused or stopped, pause if playing."""
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            _call_from_event_loop(self.player, "pause")
        else:
            _call_from_event_loop(self.player, "play")

    def pause(self) -> None:
        """Pauses if playing."""
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            _call_from_event_loop(self.player, "pause")

    def seek(self, ms: int) -> None:
        """Moves playback to `ms` milliseconds."""
        _call_from_event_loop(self.player, "setPosition", max(0, int(ms)))

    def release(self) -> None:
        """Stops and lets go of the file; the widget shows nothing playable afterwards."""
        self.player.setSource(QUrl())  # stops at once; PySide lets the GIL go for this call
        _call_from_event_loop(self.player, "stop")

    def save_as(self) -> Path | None:
        """Asks where to save a copy of the file; None if cancelled."""
        return ask_and_save(self, self.path, "Save media")

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Play/pause and save from the right-click menu."""
        menu = QMenu(self)
        menu.addAction("Pause" if self._playing() else "Play", self.toggle)
        menu.addAction("Save…", self.save_as)
        menu.exec(event.globalPos())

    def _playing(self) -> bool:
        return self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def _show_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setToolTip("Pause" if playing else "Play")

    def _duration_changed(self, duration: int) -> None:
        self._syncing_slider = True
        self.slider.setRange(0, max(0, duration))
        self._syncing_slider = False
        self._show_time()

    def _position_changed(self, position: int) -> None:
        if not self.slider.isSliderDown() and self.slider.value() != position:
            self._syncing_slider = True
            self.slider.setValue(position)
            self._syncing_slider = False
        self._show_time()

    def _slider_moved(self, value: int) -> None:
        if not self._syncing_slider:
            self.seek(value)

    def _show_time(self) -> None:
        shown = f"{format_ms(self.player.position())} / {format_ms(self.player.duration())}"
        if self.time_label.text() != shown:  # positions come many times a second; the label changes once
            self.time_label.setText(shown)

    def _failed(self, error: QMediaPlayer.Error, message: str) -> None:
        if error == QMediaPlayer.Error.NoError:
            return
        log.warning("can't play %s: %s", self.path, message)
        self.time_label.setText("can't play this file")
        self.time_label.setToolTip(message)
        self.play_button.setEnabled(False)


class AudioPlayer(MediaPlayerWidget):
    """A player for a sound or speech file: title, play/pause, seek slider and elapsed/total time.
    Without an audio device it still loads, reports the duration and seeks."""

    def __init__(self, path: str | Path, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(path, parent)
        self.setFixedWidth(THUMB_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        if title:
            label = QLabel(title, self)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setToolTip(str(self.path))
            layout.addWidget(label)
        layout.addLayout(self.controls)
        self.load()


class VideoFrameView(QWidget):
    """Draws the latest frame of a QVideoSink, aspect kept, on black. A plain widget (no native window),
    so it scrolls and clips like any other widget and shows up in `grab()`."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sink = QVideoSink(self)
        self.image = QImage()
        self.sink.videoFrameChanged.connect(self._frame)

    def _frame(self, frame: QVideoFrame) -> None:
        if frame.isValid():
            self.image = frame.toImage()
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if not self.image.isNull():
            scaled = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            top_left = QPoint((self.width() - scaled.width()) // 2, (self.height() - scaled.height()) // 2)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRect(top_left, scaled), self.image)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class VideoPlayer(MediaPlayerWidget):
    """A video player THUMB_WIDTH wide: the picture (first frame shown once loaded; click toggles play),
    play/pause, seek slider and elapsed/total time."""

    def __init__(self, path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(path, parent)
        self.setFixedWidth(THUMB_WIDTH)
        self.view = VideoFrameView(self)
        self.view.setFixedSize(THUMB_WIDTH, THUMB_WIDTH * 9 // 16)
        self.view.setToolTip(self.path.name)
        self.view.clicked.connect(self.toggle)
        self.player.setVideoOutput(self.view.sink)
        self._poster_shown = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.view)
        layout.addLayout(self.controls)
        self.player.mediaStatusChanged.connect(self._status_changed)
        self.load()

    @property
    def video_size(self) -> QSize:
        """The video's resolution from its metadata (invalid until loaded)."""
        size = self.player.metaData().value(QMediaMetaData.Key.Resolution)
        return size if isinstance(size, QSize) else QSize()

    def _status_changed(self, status: QMediaPlayer.MediaStatus) -> None:
        if status != QMediaPlayer.MediaStatus.LoadedMedia or self._poster_shown:
            return
        self._poster_shown = True
        size = self.video_size
        if size.isValid() and size.width() > 0:
            height = max(48, min(THUMB_WIDTH * 4 // 3, THUMB_WIDTH * size.height() // size.width()))
            self.view.setFixedSize(THUMB_WIDTH, height)
        # Pausing a loaded player decodes and shows the first frame without playing.
        _call_from_event_loop(self.player, "pause")

    def release(self) -> None:
        """Stops, lets go of the file and detaches the picture."""
        super().release()
        self.player.setVideoOutput(None)


class MediaPlaceholder(QWidget):
    """Stands in for media still being made: 'making an image… step 3 of 20' over a progress bar."""

    def __init__(self, modality: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.modality = modality
        self.setFixedWidth(THUMB_WIDTH)
        self.label = QLabel(MAKING.get(modality, f"making {modality}…"), self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)

    def set_progress(self, step: int, total: int) -> None:
        """Shows step of total; a total of 0 or less shows a busy bar."""
        making = MAKING.get(self.modality, f"making {self.modality}…")
        if total <= 0:
            self.bar.setRange(0, 0)
            self.label.setText(making)
            return
        step = max(0, min(step, total))
        self.bar.setRange(0, total)
        self.bar.setValue(step)
        self.label.setText(f"{making} step {step} of {total}")


class FileChip(QFrame):
    """A small rounded chip naming a file (with a tiny thumbnail for images); optionally removable."""

    remove_requested = Signal(str)

    def __init__(self, path: str | Path, removable: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = str(path)
        self.setObjectName("fileChip")
        self.setStyleSheet(
            "QFrame#fileChip { border: 1px solid rgba(128,128,128,0.6); border-radius: 10px; }"
        )
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.setToolTip(self.path)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 4 if removable else 8, 2)
        layout.setSpacing(4)
        kind = kind_of_path(path)
        icon = QLabel(self)
        thumb = QPixmap(self.path) if kind == "image" else QPixmap()
        if not thumb.isNull():
            icon.setPixmap(
                thumb.scaled(20, 20, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            )
        else:
            icon.setText({"image": "image", "audio": "sound", "video": "video"}.get(kind or "", "file") + ":")
        layout.addWidget(icon)
        name = Path(self.path).name
        self.name_label = QLabel(self)
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        self.name_label.setText(self.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, 220))
        layout.addWidget(self.name_label)
        self.remove_button: QToolButton | None = None
        if removable:
            self.remove_button = QToolButton(self)
            self.remove_button.setText("×")
            self.remove_button.setAutoRaise(True)
            self.remove_button.setToolTip(f"Remove {name}")
            self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self.path))
            layout.addWidget(self.remove_button)


def make_media_widget(modality: str, path: str | Path) -> QWidget:
    """The widget that shows `path` for a reply modality: image, audio (a sound), speech or video."""
    match modality:
        case "image":
            return ImageView(path)
        case "audio":
            return AudioPlayer(path, title="Sound")
        case "speech":
            return AudioPlayer(path, title="Speech")
        case "video":
            return VideoPlayer(path)
    log.warning("no viewer for modality %r; showing %s as a file", modality, path)
    return FileChip(path)
