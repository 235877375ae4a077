"""Chat bubbles: the user's message, the assistant's streaming reply (text, typing indicator, media and
their progress placeholders) and an inline error. Each is a rounded QFrame with selectable text and a
Copy button that puts the bubble's text on the clipboard."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QPalette, QTextDocument
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from assistant.turn_inputs import kind_of_path

from .media_widgets import FileChip, ImageView, MediaPlaceholder, make_media_widget

log = logging.getLogger(__name__)

STREAM_FLUSH_MS = 33
"""Streamed text is shown at most this often (about 30 times a second), however fast tokens arrive;
long texts less often (see ReplyBubble.flush)."""

MARKDOWN = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
"""GitHub markdown with raw HTML shown as text: a reply can't embed images or markup of its own."""


@dataclass(frozen=True)
class BubbleColors:
    """The colours of one theme's bubbles (CSS colour strings)."""

    user: str
    user_text: str
    assistant: str
    assistant_text: str
    error: str
    error_border: str
    error_text: str
    note: str
    muted: str


LIGHT = BubbleColors(
    user="#d6e9ff",
    user_text="#0b1f33",
    assistant="#eef0f3",
    assistant_text="#1b1f24",
    error="#fde8e8",
    error_border="#e3a0a0",
    error_text="#7a1414",
    note="#8a5300",
    muted="#5f6670",
)
DARK = BubbleColors(
    user="#1f3a5c",
    user_text="#e8f1fb",
    assistant="#2b2f36",
    assistant_text="#e6e8eb",
    error="#4a1f22",
    error_border="#8c3a3f",
    error_text="#ffd6d6",
    note="#f0b64a",
    muted="#a3a9b2",
)


def current_colors() -> BubbleColors:
    """DARK when the application's window colour is dark, else LIGHT."""
    window = QApplication.palette().color(QPalette.ColorRole.Window)
    return DARK if window.lightness() < 128 else LIGHT


class TextLabel(QLabel):
    """A word-wrapped label whose text can be selected with mouse and keyboard and whose links open.
    It asks for its text's unwrapped width, so a bubble grows to its maximum width before wrapping
    (QLabel's own guess wraps long text far narrower than the room it has)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._natural_width = 0
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.setOpenExternalLinks(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def set_plain(self, text: str) -> None:
        """Shows `text` as it is."""
        metrics = self.fontMetrics()
        self._natural_width = max((metrics.horizontalAdvance(line) for line in text.split("\n")), default=0) + 2
        if self.textFormat() != Qt.TextFormat.PlainText:
            self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)  # also asks the layout for the new size hint

    def set_document(self, document: QTextDocument) -> None:
        """Shows a rich-text document (its HTML)."""
        self._natural_width = int(document.idealWidth()) + 2
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setText(document.toHtml())

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self._natural_width <= 0:
            return hint
        return QSize(self._natural_width, self.heightForWidth(self._natural_width))


def _show(widget: QWidget, visible: bool) -> None:
    """setVisible only on a change: the streaming path runs this on every flush."""
    if widget.isHidden() == visible:
        widget.setVisible(visible)


class Bubble(QFrame):
    """A rounded frame for one message: content on top, a Copy button at the bottom right.
    `role` is 'user', 'assistant' or 'error'; subclasses say what `text` is."""

    def __init__(self, turn_id: str | None, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.turn_id = turn_id
        self.role = role
        self.colors = current_colors()
        self.setObjectName(f"{role}Bubble")
        background, foreground, border = {
            "user": (self.colors.user, self.colors.user_text, "none"),
            "assistant": (self.colors.assistant, self.colors.assistant_text, "none"),
            "error": (self.colors.error, self.colors.error_text, f"1px solid {self.colors.error_border}"),
        }[role]
        name = self.objectName()
        self.setStyleSheet(
            f"QFrame#{name} {{ background: {background}; border-radius: 14px; border: {border}; }}"
            f"QFrame#{name} QLabel {{ color: {foreground}; background: transparent; }}"
            f"QFrame#{name} QToolButton {{ color: {self.colors.muted}; }}"
        )
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(12, 8, 12, 4)
        self.body.setSpacing(6)
        self.copy_button = QToolButton(self)
        self.copy_button.setText("Copy")
        self.copy_button.setAutoRaise(True)
        self.copy_button.setToolTip("Copy this message's text")
        self.copy_button.clicked.connect(self.copy_text)
        self.footer = QHBoxLayout()
        self.footer.setContentsMargins(0, 0, 0, 0)
        self.footer.addStretch(1)
        self.footer.addWidget(self.copy_button)

    def _finish_layout(self) -> None:
        """Puts the footer last; subclasses call it after adding their content."""
        self.body.addLayout(self.footer)

    @property
    def text(self) -> str:
        """The bubble's text as given (markdown source for replies)."""
        raise NotImplementedError

    def copy_text(self) -> None:
        """Puts the bubble's text on the clipboard."""
        QGuiApplication.clipboard().setText(self.text)

    def release(self) -> None:
        """Lets go of media files and players; called before the bubble is deleted."""


class UserBubble(Bubble):
    """The user's message: attachments (image thumbnails, file chips for the rest) above the text."""

    def __init__(self, turn_id: str, text: str, attachments: list[str], parent: QWidget | None = None) -> None:
        super().__init__(turn_id, "user", parent)
        self._text = text
        self.attachments = list(attachments)
        self.attachment_widgets: list[QWidget] = []
        for path in self.attachments:
            widget: QWidget = ImageView(path, size=200) if kind_of_path(path) == "image" else FileChip(path)
            self.attachment_widgets.append(widget)
            self.body.addWidget(widget, 0, Qt.AlignmentFlag.AlignLeft)
        self.text_label = TextLabel(self)
        self.text_label.set_plain(text)
        self.text_label.setVisible(bool(text))
        self.copy_button.setVisible(bool(text))
        self.body.addWidget(self.text_label)
        self._finish_layout()

    @property
    def text(self) -> str:
        return self._text

    def release(self) -> None:
        for widget in self.attachment_widgets:
            if isinstance(widget, ImageView):
                widget.release()


class MediaEntry(QWidget):
    """One finished media item in a reply: its viewer and, when given, a small warning note under it."""

    def __init__(self, modality: str, path: str, note: str, colors: BubbleColors, parent: QWidget | None = None):
        super().__init__(parent)
        self.modality = modality
        self.path = path
        self.widget = make_media_widget(modality, path)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.widget, 0, Qt.AlignmentFlag.AlignLeft)
        self.note_label: QLabel | None = None
        if note:
            self.note_label = QLabel(note, self)
            self.note_label.setTextFormat(Qt.TextFormat.PlainText)
            self.note_label.setWordWrap(True)
            self.note_label.setObjectName("mediaNote")
            font = self.note_label.font()
            font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
            self.note_label.setFont(font)
            self.note_label.setStyleSheet(f"QLabel#mediaNote {{ color: {colors.note}; }}")
            layout.addWidget(self.note_label)

    def release(self) -> None:
        """Stops the player or closes the enlarged image, whichever the viewer has."""
        release = getattr(self.widget, "release", None)
        if callable(release):
            release()


class ReplyBubble(Bubble):
    """The assistant's reply to one turn: a typing indicator until something arrives, text streamed in
    then rendered as markdown, progress placeholders that finished media replace, and a status line."""

    def __init__(self, turn_id: str, parent: QWidget | None = None) -> None:
        super().__init__(turn_id, "assistant", parent)
        self._text = ""
        self._final = False
        self._interrupted = False
        self._document: QTextDocument | None = None
        self.typing_label = QLabel(self)
        self.typing_label.setTextFormat(Qt.TextFormat.PlainText)
        self._typing_dots = 0
        self._typing_timer = QTimer(self)
        self._typing_timer.setInterval(400)
        self._typing_timer.timeout.connect(self._tick_typing)
        self.text_label = TextLabel(self)
        self.text_label.hide()
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(STREAM_FLUSH_MS)
        self._flush_timer.timeout.connect(self.flush)
        self.media_layout = QVBoxLayout()
        self.media_layout.setContentsMargins(0, 0, 0, 0)
        self.media_layout.setSpacing(8)
        self._placeholders: dict[str, MediaPlaceholder] = {}
        self._media: list[MediaEntry] = []
        self.status_label = QLabel(self)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setObjectName("replyStatus")
        self.status_label.setStyleSheet(f"QLabel#replyStatus {{ color: {self.colors.muted}; font-style: italic; }}")
        self.status_label.hide()
        self.body.addWidget(self.typing_label)
        self.body.addWidget(self.text_label)
        self.body.addLayout(self.media_layout)
        self.body.addWidget(self.status_label)
        self._finish_layout()
        self.copy_button.hide()
        self.set_typing(True)

    # ---- what tests and the chat view read ----

    @property
    def text(self) -> str:
        """Everything streamed so far, or the final text once set (markdown source)."""
        return self._text

    @property
    def is_final(self) -> bool:
        """Whether set_final_text has been called."""
        return self._final

    @property
    def is_typing(self) -> bool:
        """Whether the typing indicator is showing."""
        return self._typing_timer.isActive()

    @property
    def interrupted(self) -> bool:
        """Whether the reply was marked interrupted."""
        return self._interrupted

    @property
    def placeholders(self) -> dict[str, MediaPlaceholder]:
        """The progress placeholders still waiting for their media, by modality."""
        return dict(self._placeholders)

    @property
    def media(self) -> list[MediaEntry]:
        """The finished media in the order they appear."""
        return list(self._media)

    @property
    def is_empty(self) -> bool:
        """Whether the bubble shows nothing: no text, media, placeholder, status or typing indicator."""
        return not (self._text or self._media or self._placeholders or self._interrupted or self.is_typing)

    def document(self) -> QTextDocument | None:
        """The rendered final text (the label shows its HTML); None before set_final_text."""
        return self._document

    # ---- updates ----

    def set_typing(self, on: bool) -> None:
        """Shows or hides the animated typing indicator."""
        self.typing_label.setVisible(on)
        if on:
            self._typing_dots = 0
            self._tick_typing()
            self._typing_timer.start()
        else:
            self._typing_timer.stop()

    def _tick_typing(self) -> None:
        self._typing_dots = self._typing_dots % 3 + 1
        self.typing_label.setText("typing" + "." * self._typing_dots)

    def append_text(self, delta: str) -> None:
        """Adds streamed text; the label catches up at the next flush (STREAM_FLUSH_MS, longer for long
        texts): one relayout per flush, not per token. Ignored once the final text is set."""
        if self._final:
            log.debug("turn %s: delta after the final text ignored", self.turn_id)
            return
        if not delta:
            return
        self._text += delta
        if self.is_typing:
            self.set_typing(False)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Shows all streamed text now. A label relays out all its text, so long replies flush less
        often: the next flush waits at least three times as long as this one took."""
        self._flush_timer.stop()
        if self._final:
            return
        started = time.perf_counter()
        self.text_label.set_plain(self._text)
        _show(self.text_label, bool(self._text))
        _show(self.copy_button, bool(self._text))
        took_ms = (time.perf_counter() - started) * 1000
        interval = max(STREAM_FLUSH_MS, int(3 * took_ms))
        if interval != self._flush_timer.interval():
            self._flush_timer.setInterval(interval)

    def set_final_text(self, text: str) -> None:
        """Replaces the streamed text with `text` rendered as markdown."""
        self._flush_timer.stop()
        self._final = True
        self._text = text
        self.set_typing(False)
        document = QTextDocument(self)
        document.setDefaultFont(self.text_label.font())
        document.setDocumentMargin(0)
        document.setMarkdown(text, MARKDOWN)
        self._document = document
        self.text_label.set_document(document)
        self.text_label.setVisible(bool(text.strip()))
        self.copy_button.setVisible(bool(text.strip()))

    def show_progress(self, modality: str, step: int, total: int) -> MediaPlaceholder:
        """Creates or updates the placeholder for `modality` (one per modality) and returns it."""
        placeholder = self._placeholders.get(modality)
        if placeholder is None:
            placeholder = MediaPlaceholder(modality, self)
            self._placeholders[modality] = placeholder
            self.media_layout.addWidget(placeholder, 0, Qt.AlignmentFlag.AlignLeft)
        placeholder.set_progress(step, total)
        return placeholder

    def add_media(self, modality: str, path: str, note: str = "") -> MediaEntry:
        """Shows a finished media file where its placeholder was (or at the end) with `note` under it."""
        entry = MediaEntry(modality, path, note, self.colors, self)
        placeholder = self._placeholders.pop(modality, None)
        if placeholder is not None:
            index = self.media_layout.indexOf(placeholder)
            self.media_layout.insertWidget(index, entry, 0, Qt.AlignmentFlag.AlignLeft)
            self._drop(placeholder)
        else:
            self.media_layout.addWidget(entry, 0, Qt.AlignmentFlag.AlignLeft)
        self._media.append(entry)
        if not self._text:
            self.set_typing(False)
        return entry

    def end_pending(self) -> None:
        """Stops the typing indicator, shows streamed text and removes every placeholder."""
        self.flush()
        self.set_typing(False)
        for placeholder in self._placeholders.values():
            self._drop(placeholder)
        self._placeholders.clear()

    def mark_interrupted(self, reason: str = "") -> None:
        """Ends what was pending and says 'interrupted' (with the reason, when given)."""
        self.end_pending()
        self._interrupted = True
        self.status_label.setText(f"interrupted ({reason})" if reason else "interrupted")
        self.status_label.show()

    def _drop(self, widget: QWidget) -> None:
        self.media_layout.removeWidget(widget)
        widget.hide()
        widget.deleteLater()

    def release(self) -> None:
        self._flush_timer.stop()
        self._typing_timer.stop()
        for entry in self._media:
            entry.release()


class ErrorBubble(Bubble):
    """An inline error: a bold 'Error' and the message on a red-tinted background."""

    def __init__(self, turn_id: str | None, message: str, parent: QWidget | None = None) -> None:
        super().__init__(turn_id, "error", parent)
        self._text = message
        title = QLabel("Error", self)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        self.text_label = TextLabel(self)
        self.text_label.set_plain(message)
        self.body.addWidget(title)
        self.body.addWidget(self.text_label)
        self._finish_layout()

    @property
    def text(self) -> str:
        return self._text

