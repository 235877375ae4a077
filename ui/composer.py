"""The message composer: a text box (Enter sends, Shift+Enter breaks the line), attachments (button,
drag and drop, pasted images) shown as removable chips, output toggles, and a send button that turns
into a stop button while an answer runs."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage, QKeyEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from assistant.turn_inputs import SUFFIXES, kind_of_path

from .media_widgets import FileChip

log = logging.getLogger(__name__)

PASTE_DIR = Path(tempfile.gettempdir()) / "nextgpt-live-paste"
"""Where pasted images are saved as PNG files before they are attached."""

OUTPUT_TOGGLES = ("auto", "speech", "image", "sound", "video")
"""The output toggles, left to right; 'auto' lets the model decide."""

WANT_NAMES = {"speech": "speech", "image": "image", "sound": "audio", "video": "video"}
"""What each output toggle asks for in `want()`."""

WANT_ORDER = ("text", "speech", "image", "audio", "video")


def _patterns(suffixes: frozenset[str]) -> str:
    return " ".join(f"*{suffix}" for suffix in sorted(suffixes))


ATTACH_FILTER = ";;".join(
    [
        f"Images, sounds and videos ({_patterns(SUFFIXES['image'] | SUFFIXES['audio'] | SUFFIXES['video'])})",
        f"Images ({_patterns(SUFFIXES['image'])})",
        f"Sounds ({_patterns(SUFFIXES['audio'])})",
        f"Videos ({_patterns(SUFFIXES['video'])})",
    ]
)
"""The attach dialog's file filter."""


def local_files(mime: QMimeData) -> list[str]:
    """The local file paths among a drag's or paste's URLs."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


def save_pasted_image(image: QImage, folder: Path | None = None) -> str:
    """Saves a pasted image as a new PNG in `folder` (PASTE_DIR by default) and returns its path."""
    folder = PASTE_DIR if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"paste-{stamp}.png"
    counter = 1
    while path.exists():
        counter += 1
        path = folder / f"paste-{stamp}-{counter}.png"
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return str(path)


class MessageEdit(QPlainTextEdit):
    """The composer's text box: Enter emits `submitted`, Shift+Enter inserts a line break; pasted or
    dropped files and images go to `files_given` / `image_pasted` instead of becoming text."""

    submitted = Signal()
    files_given = Signal(list)
    image_pasted = Signal(QImage)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Message… (Enter sends, Shift+Enter for a new line)")
        self.setTabChangesFocus(True)
        metrics = self.fontMetrics()
        self.setMinimumHeight(metrics.lineSpacing() * 2 + 16)
        self.setMaximumHeight(metrics.lineSpacing() * 8 + 16)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasImage() or bool(local_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = local_files(source)
        if files:
            self.files_given.emit(files)
        elif source.hasImage():
            image = source.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.image_pasted.emit(image)
        else:
            super().insertFromMimeData(source)


class Composer(QWidget):
    """Where the user writes and sends a message.

    Signals: `send_requested(text, attachment paths, want)` where want is None (auto) or a list among
    'text', 'speech', 'image', 'audio', 'video'; `stop_requested()` from the stop button."""

    send_requested = Signal(str, list, object)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._attachments: list[str] = []
        self._chips: dict[str, FileChip] = {}
        self._busy = False

        self.edit = MessageEdit(self)
        self.edit.submitted.connect(self.send)
        self.edit.files_given.connect(self.add_attachments)
        self.edit.image_pasted.connect(self.attach_image)

        self.chip_row = QHBoxLayout()
        self.chip_row.setContentsMargins(0, 0, 0, 0)
        self.chip_row.setSpacing(4)
        self.chip_row.addStretch(1)
        self.hint = QLabel(self)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setObjectName("composerHint")
        self.hint.setStyleSheet("QLabel#composerHint { color: #a15c00; }")
        self.hint.hide()

        self.attach_button = QToolButton(self)
        self.attach_button.setText("Attach…")
        self.attach_button.setToolTip("Attach images, sounds or videos (or drop or paste them here)")
        self.attach_button.clicked.connect(self.choose_files)

        self.toggles: dict[str, QToolButton] = {}
        toggle_row = QHBoxLayout()
        toggle_row.setContentsMargins(0, 0, 0, 0)
        toggle_row.setSpacing(2)
        toggle_row.addWidget(QLabel("Answer with:", self))
        for name in OUTPUT_TOGGLES:
            button = QToolButton(self)
            button.setText(name)
            button.setCheckable(True)
            button.setToolTip("Let the model decide" if name == "auto" else f"Ask for {name} in the answer")
            button.clicked.connect(lambda _checked, name=name: self._toggled(name))
            self.toggles[name] = button
            toggle_row.addWidget(button)
        self.toggles["auto"].setChecked(True)
        toggle_row.addStretch(1)
        toggle_row.addWidget(self.attach_button)

        self.send_button = QPushButton(self)
        self.send_button.clicked.connect(self._send_clicked)
        self.send_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.send_button.setMinimumWidth(72)
        self._show_busy()

        input_row = QHBoxLayout()
        input_row.setContentsMargins(0, 0, 0, 0)
        input_row.addWidget(self.edit, 1)
        input_row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.setSpacing(4)
        layout.addLayout(self.chip_row)
        layout.addWidget(self.hint)
        layout.addLayout(input_row)
        layout.addLayout(toggle_row)

    # ---- state ----

    @property
    def text(self) -> str:
        """What is typed."""
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        """Replaces what is typed."""
        self.edit.setPlainText(text)

    @property
    def attachments(self) -> list[str]:
        """The attached file paths, in the order attached."""
        return list(self._attachments)

    @property
    def busy(self) -> bool:
        """Whether an answer is running (the send button is a stop button)."""
        return self._busy

    def want(self) -> list[str] | None:
        """None when 'auto' is on; else 'text' and the checked outputs ('sound' as 'audio')."""
        if self.toggles["auto"].isChecked():
            return None
        chosen = {WANT_NAMES[name] for name in WANT_NAMES if self.toggles[name].isChecked()}
        return [name for name in WANT_ORDER if name == "text" or name in chosen]

    def set_busy(self, busy: bool) -> None:
        """Turns the send button into a stop button while an answer runs, and back."""
        self._busy = busy
        self._show_busy()

    def _show_busy(self) -> None:
        self.send_button.setText("Stop" if self._busy else "Send")
        self.send_button.setToolTip("Stop the answer" if self._busy else "Send (Enter)")

    def _toggled(self, name: str) -> None:
        """'auto' and the output toggles exclude each other; none checked means 'auto'."""
        if name == "auto":
            self.toggles["auto"].setChecked(True)
            for other in WANT_NAMES:
                self.toggles[other].setChecked(False)
            return
        any_output = any(self.toggles[other].isChecked() for other in WANT_NAMES)
        self.toggles["auto"].setChecked(not any_output)

    # ---- attachments ----

    def choose_files(self) -> list[str]:
        """Asks for files with a dialog and attaches them; returns what was attached."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach files", "", ATTACH_FILTER)
        return self.add_attachments(paths)

    def add_attachments(self, paths: list[str]) -> list[str]:
        """Attaches existing image, sound and video files not already attached (the attach dialog,
        drops and pastes all come here); says which were refused. Returns the paths attached."""
        added, refused = [], []
        for path in paths:
            path = str(path)
            if path in self._attachments:
                continue
            if not Path(path).is_file() or kind_of_path(path) is None:
                refused.append(Path(path).name or path)
                continue
            self._attachments.append(path)
            chip = FileChip(path, removable=True, parent=self)
            chip.remove_requested.connect(self.remove_attachment)
            self._chips[path] = chip
            self.chip_row.insertWidget(self.chip_row.count() - 1, chip)
            added.append(path)
        if refused:
            log.info("not attached (not an image, sound or video file): %s", refused)
            self.hint.setText("Can't attach " + ", ".join(refused) + ": only images, sounds and videos.")
        self.hint.setVisible(bool(refused))
        return added

    def attach_image(self, image: QImage) -> str | None:
        """Saves a pasted image as a PNG under PASTE_DIR and attaches it; returns its path."""
        try:
            path = save_pasted_image(image)
        except OSError as error:
            log.warning("could not save the pasted image: %s", error)
            self.hint.setText("Could not save the pasted image.")
            self.hint.show()
            return None
        self.add_attachments([path])
        return path

    def remove_attachment(self, path: str) -> None:
        """Drops an attachment and its chip."""
        if path in self._attachments:
            self._attachments.remove(path)
        chip = self._chips.pop(path, None)
        if chip is not None:
            self.chip_row.removeWidget(chip)
            chip.hide()
            chip.deleteLater()

    def clear_attachments(self) -> None:
        """Drops every attachment."""
        for path in list(self._attachments):
            self.remove_attachment(path)
        self.hint.hide()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event.mimeData())
        if files:
            self.add_attachments(files)
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    # ---- sending ----

    def send(self) -> bool:
        """Emits send_requested with the text, attachments and want(), then clears them. Does nothing
        (returns False) with nothing to send or while an answer runs (stop it first)."""
        text = self.text.strip()
        if self._busy or (not text and not self._attachments):
            return False
        attachments = list(self._attachments)
        self.edit.clear()
        self.clear_attachments()
        self.send_requested.emit(text, attachments, self.want())
        return True

    def _send_clicked(self) -> None:
        if self._busy:
            self.stop_requested.emit()
        else:
            self.send()
        self.edit.setFocus()
