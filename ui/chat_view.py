"""The conversation: a scrollable column of bubbles, newest at the bottom, that follows new content
while the user is at the bottom and stays put when they have scrolled up to read."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from .bubbles import Bubble, ErrorBubble, ReplyBubble, UserBubble
from .media_widgets import MediaPlayerWidget

log = logging.getLogger(__name__)

BOTTOM_SLACK_PX = 24
"""How close to the bottom still counts as 'at the bottom' for auto-scrolling."""

MAX_BUBBLE_WIDTH = 760
"""The widest a bubble gets, however wide the window; otherwise 80% of the visible width."""


class _Row(QWidget):
    """One line of the conversation: a bubble pushed to the right (user) or to the left (others)."""

    def __init__(self, bubble: Bubble, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bubble = bubble
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if bubble.role == "user":
            layout.addStretch(1)
            layout.addWidget(bubble)
        else:
            layout.addWidget(bubble)
            layout.addStretch(1)


class ChatView(QScrollArea):
    """The conversation view. Every method takes the turn id the app gave the turn; reply updates for a
    turn that has no reply bubble yet start one. All calls belong on the UI thread."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.container = QWidget(self)
        self.container.setObjectName("chatContainer")
        self.column = QVBoxLayout(self.container)
        self.column.setContentsMargins(12, 12, 12, 12)
        self.column.setSpacing(10)
        self.column.addStretch(1)  # keeps a short conversation at the bottom, like a chat
        self.setWidget(self.container)
        self._rows: list[_Row] = []
        self._users: dict[str, UserBubble] = {}
        self._replies: dict[str, ReplyBubble] = {}
        self._players: list[MediaPlayerWidget] = []
        self._stick_to_bottom = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._value_changed)

    # ---- finding things (tests, the app) ----

    def bubble(self, turn_id: str) -> ReplyBubble | None:
        """The assistant's reply bubble for a turn, or None."""
        return self._replies.get(turn_id)

    def user_bubble(self, turn_id: str) -> UserBubble | None:
        """The user's message bubble for a turn, or None."""
        return self._users.get(turn_id)

    @property
    def bubbles(self) -> list[Bubble]:
        """Every bubble, top to bottom (replies hidden by add_error for saying nothing included)."""
        return [row.bubble for row in self._rows]

    @property
    def errors(self) -> list[ErrorBubble]:
        """The error bubbles, top to bottom."""
        return [row.bubble for row in self._rows if isinstance(row.bubble, ErrorBubble)]

    @property
    def at_bottom(self) -> bool:
        """Whether the view is scrolled to (near) the bottom."""
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - BOTTOM_SLACK_PX

    # ---- the conversation ----

    def add_user_message(self, turn_id: str, text: str, attachments: list[str]) -> None:
        """The user's message on the right: image attachments as thumbnails, other files as chips.
        Scrolls to the bottom: the user just sent it."""
        bubble = UserBubble(turn_id, text, attachments)
        self._users[turn_id] = bubble
        self._stick_to_bottom = True
        self._add_row(bubble)

    def start_reply(self, turn_id: str) -> None:
        """An empty assistant bubble with a typing indicator (no-op if the turn already has one)."""
        self._reply(turn_id)

    def append_text(self, turn_id: str, delta: str) -> None:
        """Streams a piece of the reply's text in."""
        self._reply(turn_id).append_text(delta)

    def set_final_text(self, turn_id: str, text: str) -> None:
        """The reply's whole text, rendered as markdown, replacing what was streamed."""
        self._reply(turn_id).set_final_text(text)

    def show_progress(self, turn_id: str, modality: str, step: int, total: int) -> None:
        """A placeholder with a progress bar for media being made (one per modality per turn)."""
        self._reply(turn_id).show_progress(modality, step, total)

    def add_media(self, turn_id: str, modality: str, path: str, note: str = "") -> None:
        """A finished media file (image, audio, video or speech) in place of its placeholder, with an
        optional warning `note` under it (e.g. 'made with untrained weights')."""
        entry = self._reply(turn_id).add_media(modality, path, note)
        if isinstance(entry.widget, MediaPlayerWidget):
            self._watch_player(entry.widget)

    def mark_interrupted(self, turn_id: str, reason: str = "") -> None:
        """The reply says 'interrupted' and its placeholders go away."""
        self._reply(turn_id).mark_interrupted(reason)

    def add_error(self, turn_id: str | None, message: str) -> None:
        """An inline error bubble, after the turn's last bubble (or at the bottom without a turn).
        The turn's reply stops showing typing and progress: nothing more is coming for them."""
        reply = self._replies.get(turn_id) if turn_id is not None else None
        if reply is not None:
            reply.end_pending()
        after = None
        for row in self._rows:
            if row.bubble is reply and reply.is_empty:
                row.hide()  # a reply that never said anything: the error speaks for it
        if turn_id is not None:
            for index, row in enumerate(self._rows):
                if row.bubble.turn_id == turn_id:
                    after = index
        self._add_row(ErrorBubble(turn_id, message), after=after)

    def clear(self) -> None:
        """Removes every bubble, stopping and releasing their players."""
        for row in self._rows:
            row.bubble.release()
            self.column.removeWidget(row)
            row.hide()
            row.deleteLater()
        self._rows.clear()
        self._users.clear()
        self._replies.clear()
        self._players.clear()
        self._stick_to_bottom = True

    def scroll_to_bottom(self) -> None:
        """Jumps to the newest bubble and follows new content again."""
        self._stick_to_bottom = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    # ---- inner workings ----

    def _reply(self, turn_id: str) -> ReplyBubble:
        reply = self._replies.get(turn_id)
        if reply is None:
            reply = ReplyBubble(turn_id)
            self._replies[turn_id] = reply
            self._add_row(reply)
        elif reply.parentWidget().isHidden():  # hidden by add_error while empty; something came after all
            reply.parentWidget().show()
        return reply

    def _add_row(self, bubble: Bubble, after: int | None = None) -> None:
        bubble.setMaximumWidth(self._bubble_width())
        row = _Row(bubble, self.container)
        index = len(self._rows) if after is None else after + 1
        self._rows.insert(index, row)
        self.column.insertWidget(index + 1, row)  # + 1: the stretch on top

    def _bubble_width(self) -> int:
        return max(240, min(MAX_BUBBLE_WIDTH, int(self.viewport().width() * 0.8)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = self._bubble_width()
        for row in self._rows:
            row.bubble.setMaximumWidth(width)

    def _value_changed(self, value: int) -> None:
        self._stick_to_bottom = value >= self.verticalScrollBar().maximum() - BOTTOM_SLACK_PX

    def _range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(maximum)

    def _watch_player(self, widget: MediaPlayerWidget) -> None:
        """Only one player plays at a time: starting one pauses the others."""
        self._players.append(widget)

        def started(state: QMediaPlayer.PlaybackState) -> None:
            if state == QMediaPlayer.PlaybackState.PlayingState:
                for other in self._players:
                    if other is not widget:
                        other.pause()

        widget.player.playbackStateChanged.connect(started)
