"""`ConversationsSidebar`: the list of past conversations, with search, new, rename and delete."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:  # only for the type: importing the history at run time would load the models too
    from assistant.history import ConversationInfo

logger = logging.getLogger(__name__)

UNTITLED = "New conversation"
ID_ROLE = Qt.ItemDataRole.UserRole
TITLE_ROLE = Qt.ItemDataRole.UserRole + 1


class ConversationStore(Protocol):
    """What the sidebar needs of `assistant.history.History`."""

    def conversations(self, query: str = "", limit: int = 200) -> list[ConversationInfo]: ...
    def new_conversation(self, title: str = "") -> str: ...
    def rename(self, conversation_id: str, title: str) -> None: ...
    def delete(self, conversation_id: str) -> None: ...


def relative_date(timestamp: float, now: float | None = None) -> str:
    """When something happened, said briefly: "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago",
    else the date ("12 Mar 2025")."""
    now = time.time() if now is None else now
    seconds = now - timestamp
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    then, today = datetime.fromtimestamp(timestamp).date(), datetime.fromtimestamp(now).date()
    days = (today - then).days
    if days == 0:
        return f"{int(seconds // 3600)} h ago"
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"{days} days ago"
    return f"{then.day} {then:%b %Y}"


class ConversationsSidebar(QWidget):
    """A search box, the conversations (newest first, title and when last updated), and New, Rename and
    Delete buttons, working on a `History` (or anything with its conversation methods).

    "New" creates an empty conversation itself (its title is filled from its first turn), selects it
    and emits ``conversation_created`` then ``conversation_selected``. A user's selection emits
    ``conversation_selected(id)``; a rename emits ``conversation_renamed(id, title)``; a delete (after
    `confirm_delete`) emits ``conversation_deleted(id)`` and leaves nothing selected. `refresh()` reloads
    the list (call it when turns change titles or order); selecting in code (`select`) emits nothing.
    """

    conversation_selected = Signal(str)
    conversation_created = Signal(str)
    conversation_renamed = Signal(str, str)
    conversation_deleted = Signal(str)

    def __init__(self, history: ConversationStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self._refreshing = False

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search conversations")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self.refresh)
        self.list_widget = QListWidget()
        self.list_widget.setUniformItemSizes(True)
        self.list_widget.currentItemChanged.connect(self._on_current_changed)
        self.empty_label = QLabel()
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d32f2f;")
        self.error_label.hide()
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Start a new conversation")
        self.new_button.clicked.connect(self.new_conversation)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Rename the selected conversation (F2)")
        self.rename_button.clicked.connect(self.rename_current)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected conversation and its media (Delete)")
        self.delete_button.clicked.connect(self.delete_current)
        for key, slot in ((QKeySequence(Qt.Key.Key_F2), self.rename_current),
                          (QKeySequence(QKeySequence.StandardKey.Delete), self.delete_current)):
            shortcut = QShortcut(key, self.list_widget)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)

        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.list_widget, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        self.refresh()

    # what the user and the window read -------------------------------------------------------------

    def current_id(self) -> str | None:
        """The selected conversation's id, or None."""
        item = self.list_widget.currentItem()
        return item.data(ID_ROLE) if item is not None else None

    def ids(self) -> list[str]:
        """The ids listed, top to bottom."""
        return [self.list_widget.item(row).data(ID_ROLE) for row in range(self.list_widget.count())]

    def titles(self) -> list[str]:
        """The titles listed, top to bottom ("" for a conversation not yet titled)."""
        return [self.list_widget.item(row).data(TITLE_ROLE) for row in range(self.list_widget.count())]

    # loading and selecting -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the conversations matching the search box, keeping the selection when it is still listed."""
        query = self.search_edit.text().strip()
        keep = self.current_id()
        try:
            conversations = self.history.conversations(query)
        except Exception as exc:  # a closed or broken history: say so, keep the app running
            self._show_error(f"Cannot list conversations: {exc}")
            conversations = []
        now = time.time()
        self._refreshing = True
        try:
            self.list_widget.clear()
            for info in conversations:
                item = QListWidgetItem(f"{info.title or UNTITLED}\n{relative_date(info.updated, now)}")
                item.setData(ID_ROLE, info.id)
                item.setData(TITLE_ROLE, info.title)
                item.setToolTip(f"{info.title or UNTITLED}\n{info.turns} turn(s), updated "
                                f"{datetime.fromtimestamp(info.updated):%Y-%m-%d %H:%M}")
                self.list_widget.addItem(item)
                if info.id == keep:
                    self.list_widget.setCurrentItem(item)
        finally:
            self._refreshing = False
        self.empty_label.setText("No conversations match." if query else "No conversations yet.")
        self.empty_label.setVisible(not conversations)
        self._update_buttons()

    def select(self, conversation_id: str | None) -> bool:
        """Select a conversation (None: none) without emitting; False when it is not listed."""
        self._refreshing = True
        try:
            if conversation_id is None:
                self.list_widget.setCurrentItem(None)
                return True
            for row in range(self.list_widget.count()):
                if self.list_widget.item(row).data(ID_ROLE) == conversation_id:
                    self.list_widget.setCurrentRow(row)
                    return True
            return False
        finally:
            self._refreshing = False
            self._update_buttons()

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        self._update_buttons()
        if not self._refreshing and current is not None:
            self.conversation_selected.emit(current.data(ID_ROLE))

    def _update_buttons(self) -> None:
        selected = self.list_widget.currentItem() is not None
        self.rename_button.setEnabled(selected)
        self.delete_button.setEnabled(selected)

    def _show_error(self, message: str) -> None:
        logger.warning("%s", message)
        self.error_label.setText(message)
        self.error_label.show()

    # actions ---------------------------------------------------------------------------------------

    def new_conversation(self) -> str | None:
        """Create an empty conversation, list and select it; return its id (None if the history failed)."""
        self.error_label.hide()
        try:
            conversation_id = self.history.new_conversation("")
        except Exception as exc:
            self._show_error(f"Cannot start a conversation: {exc}")
            return None
        self.search_edit.blockSignals(True)  # a search would hide the new, empty conversation
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self.refresh()
        self.select(conversation_id)
        self.conversation_created.emit(conversation_id)
        self.conversation_selected.emit(conversation_id)
        return conversation_id

    def rename_current(self) -> None:
        """Ask for a new title for the selected conversation (`ask_new_title`) and rename it."""
        item = self.list_widget.currentItem()
        if item is None:
            return
        conversation_id, old = item.data(ID_ROLE), item.data(TITLE_ROLE)
        title = self.ask_new_title(old)
        title = " ".join(title.split()) if title else ""
        if not title or title == old:
            return
        self.error_label.hide()
        try:
            self.history.rename(conversation_id, title)
        except Exception as exc:
            self._show_error(f"Cannot rename the conversation: {exc}")
        else:
            self.conversation_renamed.emit(conversation_id, title)
        self.refresh()

    def delete_current(self) -> None:
        """Delete the selected conversation, its turns and media, once `confirm_delete` agrees."""
        item = self.list_widget.currentItem()
        if item is None:
            return
        conversation_id = item.data(ID_ROLE)
        if not self.confirm_delete(item.data(TITLE_ROLE) or UNTITLED):
            return
        self.error_label.hide()
        try:
            self.history.delete(conversation_id)
        except Exception as exc:
            self._show_error(f"Cannot delete the conversation: {exc}")
            self.refresh()
            return
        self.select(None)
        self.refresh()
        self.conversation_deleted.emit(conversation_id)

    # questions to the user (tests replace these) ---------------------------------------------------

    def ask_new_title(self, current: str) -> str | None:
        """Ask for a conversation's new title; None when cancelled."""
        title, ok = QInputDialog.getText(self, "Rename conversation", "Title:", QLineEdit.EchoMode.Normal, current)
        return title if ok else None

    def confirm_delete(self, title: str) -> bool:
        """Ask whether to delete the conversation called ``title``."""
        answer = QMessageBox.question(self, "Delete conversation",
                                      f"Delete “{title}” with its messages and media files? This cannot be undone.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
