"""Conversation history: conversations, turns, events and media, kept in SQLite plus a media folder.

Layout under the data folder: ``history.sqlite3`` (WAL mode) and ``media/<conversation>/<turn>/<file>``.
A crash loses at most the turn in flight: every public write is one transaction, streamed reply text
is committed delta by delta, and a media file is written (atomically, fsynced) before its row.
"""

from assistant.history.records import ConversationInfo, HistoryError, MediaRecord, TurnRecord, default_data_dir
from assistant.history.schema import SCHEMA_VERSION
from assistant.history.store import History

__all__ = [
    "SCHEMA_VERSION", "ConversationInfo", "History", "HistoryError", "MediaRecord", "TurnRecord", "default_data_dir",
]
