"""The conversations sidebar on a real `History` in a temporary folder."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from PySide6.QtCore import Qt

from assistant.history import History
from ui.sidebar import UNTITLED, ConversationsSidebar, relative_date


@pytest.fixture
def history(tmp_path):
    with History(tmp_path / "data") as history:
        yield history


def make_conversations(history: History, *titles: str) -> list[str]:
    """Conversations with these titles, each updated after the one before (the last is the newest)."""
    ids = [history.new_conversation(title) for title in titles]
    with sqlite3.connect(history.db_path) as raw:  # distinct update times, a second apart, all in the past
        raw.executemany("UPDATE conversations SET updated = updated - ? WHERE id = ?",
                        [(float(len(ids) - i), conversation) for i, conversation in enumerate(ids)])
    raw.close()
    return ids


@pytest.fixture
def sidebar(qtbot, history):
    make_conversations(history, "Garden lights", "Recipe for bread", "Kitchen camera")
    sidebar = ConversationsSidebar(history)
    qtbot.addWidget(sidebar)
    sidebar.show()
    qtbot.waitExposed(sidebar)
    return sidebar


def test_lists_newest_first_with_a_relative_date(sidebar):
    assert sidebar.titles() == ["Kitchen camera", "Recipe for bread", "Garden lights"]
    assert sidebar.list_widget.item(0).text() == "Kitchen camera\njust now"
    assert sidebar.current_id() is None
    assert not sidebar.rename_button.isEnabled() and not sidebar.delete_button.isEnabled()


def test_search_filters_through_the_history(sidebar, history, qtbot):
    conversation = history.conversations("Garden")[0].id
    history.start_turn(conversation, "t1", "switch on the porch lamp")
    qtbot.keyClicks(sidebar.search_edit, "porch")
    assert sidebar.titles() == ["Garden lights"]
    sidebar.search_edit.setText("KITCHEN")
    assert sidebar.titles() == ["Kitchen camera"]
    sidebar.search_edit.setText("nothing like this")
    assert sidebar.titles() == [] and sidebar.empty_label.isVisible()
    sidebar.search_edit.clear()
    assert len(sidebar.titles()) == 3 and not sidebar.empty_label.isVisible()


def test_selecting_emits_the_id(sidebar, qtbot):
    item = sidebar.list_widget.item(1)
    rect = sidebar.list_widget.visualItemRect(item)
    with qtbot.waitSignal(sidebar.conversation_selected) as signal:
        qtbot.mouseClick(sidebar.list_widget.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == [sidebar.ids()[1]] and sidebar.current_id() == sidebar.ids()[1]
    assert sidebar.rename_button.isEnabled() and sidebar.delete_button.isEnabled()


def test_refresh_keeps_the_selection_quietly(sidebar, history, qtbot):
    sidebar.list_widget.setCurrentRow(2)
    chosen = sidebar.current_id()
    make_conversations(history, "Newer")
    with qtbot.assertNotEmitted(sidebar.conversation_selected):
        sidebar.refresh()
    assert sidebar.titles()[0] == "Newer" and sidebar.current_id() == chosen
    assert sidebar.select(sidebar.ids()[0]) and not sidebar.select("no-such-id")


def test_new_creates_selects_and_emits(sidebar, history, qtbot):
    sidebar.search_edit.setText("bread")
    emitted = []
    sidebar.conversation_created.connect(lambda cid: emitted.append(("created", cid)))
    sidebar.conversation_selected.connect(lambda cid: emitted.append(("selected", cid)))
    qtbot.mouseClick(sidebar.new_button, Qt.MouseButton.LeftButton)
    new_id = emitted[0][1]
    assert emitted == [("created", new_id), ("selected", new_id)]
    assert sidebar.search_edit.text() == "" and sidebar.ids()[0] == new_id == sidebar.current_id()
    assert sidebar.list_widget.item(0).text().startswith(UNTITLED)
    assert history.conversation(new_id).title == ""  # filled from its first turn later


def test_rename_updates_the_list_and_emits(sidebar, history, qtbot):
    sidebar.list_widget.setCurrentRow(0)
    conversation = sidebar.current_id()
    asked = []
    sidebar.ask_new_title = lambda current: asked.append(current) or "  Camera   in the kitchen "
    with qtbot.waitSignal(sidebar.conversation_renamed) as signal:
        qtbot.mouseClick(sidebar.rename_button, Qt.MouseButton.LeftButton)
    assert asked == ["Kitchen camera"] and signal.args == [conversation, "Camera in the kitchen"]
    assert sidebar.titles()[0] == "Camera in the kitchen" and sidebar.current_id() == conversation
    assert history.conversation(conversation).title == "Camera in the kitchen"
    sidebar.ask_new_title = lambda current: None  # cancelled
    with qtbot.assertNotEmitted(sidebar.conversation_renamed):
        sidebar.rename_current()
    assert sidebar.titles()[0] == "Camera in the kitchen"


def test_delete_asks_then_removes_and_emits(sidebar, history, qtbot):
    sidebar.list_widget.setCurrentRow(1)
    conversation = sidebar.current_id()
    sidebar.confirm_delete = lambda title: False
    with qtbot.assertNotEmitted(sidebar.conversation_deleted):
        qtbot.mouseClick(sidebar.delete_button, Qt.MouseButton.LeftButton)
    assert len(sidebar.ids()) == 3
    asked = []
    sidebar.confirm_delete = lambda title: asked.append(title) or True
    with qtbot.waitSignal(sidebar.conversation_deleted) as signal:
        qtbot.mouseClick(sidebar.delete_button, Qt.MouseButton.LeftButton)
    assert asked == ["Recipe for bread"] and signal.args == [conversation]
    assert sidebar.titles() == ["Kitchen camera", "Garden lights"] and sidebar.current_id() is None
    assert [c.id for c in history.conversations()] == sidebar.ids()


def test_a_failing_history_is_reported_not_raised(sidebar, history):
    sidebar.list_widget.setCurrentRow(0)
    history.close()
    sidebar.confirm_delete = lambda title: True
    sidebar.delete_current()
    assert "Cannot" in sidebar.error_label.text() and not sidebar.error_label.isHidden()


def test_relative_dates():
    now = datetime(2025, 3, 12, 15, 0).timestamp()
    assert relative_date(now - 5, now) == "just now"
    assert relative_date(now - 5 * 60, now) == "5 min ago"
    assert relative_date(now - 3 * 3600, now) == "3 h ago"
    assert relative_date(datetime(2025, 3, 11, 23, 0).timestamp(), now) == "yesterday"
    assert relative_date(datetime(2025, 3, 8, 9, 0).timestamp(), now) == "4 days ago"
    assert relative_date(datetime(2024, 12, 25, 9, 0).timestamp(), now) == "25 Dec 2024"
