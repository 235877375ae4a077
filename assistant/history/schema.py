"""The history database: its tables, pragmas and schema migrations."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from assistant.history.records import HistoryError

logger = logging.getLogger(__name__)


def _create_tables(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL,"
               " updated REAL NOT NULL)")
    db.execute("CREATE TABLE turns (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id)"
               " ON DELETE CASCADE, created REAL NOT NULL, user_text TEXT NOT NULL, transcript TEXT NOT NULL,"
               " want TEXT, status TEXT NOT NULL, reply_text TEXT NOT NULL DEFAULT '',"
               " timings_ms TEXT NOT NULL DEFAULT '{}', error TEXT NOT NULL DEFAULT '')")
    db.execute("CREATE INDEX turns_by_conversation ON turns(conversation_id)")
    db.execute("CREATE INDEX turns_by_status ON turns(status)")
    db.execute("CREATE TABLE media (id TEXT PRIMARY KEY, turn_id TEXT NOT NULL REFERENCES turns(id)"
               " ON DELETE CASCADE, role TEXT NOT NULL, modality TEXT NOT NULL, mime TEXT NOT NULL,"
               " path TEXT NOT NULL, created REAL NOT NULL)")  # path: relative to the media folder
    db.execute("CREATE INDEX media_by_turn ON media(turn_id)")
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, turn_id TEXT NOT NULL REFERENCES turns(id)"
               " ON DELETE CASCADE, created REAL NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL)")
    db.execute("CREATE INDEX events_by_turn ON events(turn_id)")


#: MIGRATIONS[n] takes a database at schema version n - 1 (the ``user_version`` pragma) to version n.
#: Each runs in its own transaction; add a function here, never edit a released one.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _create_tables}
SCHEMA_VERSION = max(MIGRATIONS)


def open_database(path: Path) -> sqlite3.Connection:
    """Connect to the history database at ``path`` (made if missing), set its pragmas, migrate its schema.

    The connection is in autocommit mode (callers BEGIN and COMMIT) and may be used from any thread
    under the caller's lock. Raises HistoryError when the file is not a usable SQLite database.
    """
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    try:
        if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
            logger.warning("%s: WAL mode is not available; using the default journal", path)
        # NORMAL, not FULL, by default: in WAL mode a commit survives any process crash (kill -9) without
        # an fsync; only an OS crash or power loss can undo the newest commits. The commits that end a
        # turn or change conversations run at FULL instead (History._write(durable=True)), which fsyncs
        # the WAL and so every commit before it: even after power loss at most the turn in flight is
        # lost, while each streamed text delta, event and start of a turn costs no fsync.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise HistoryError(f"{path} is not a usable SQLite database ({exc}); move it aside or delete it "
                           "to start a new history") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryError(f"{path} was written by a newer NExT-GPT Live (schema {version}, this one reads "
                           f"{SCHEMA_VERSION}); update the program or point NEXTGPT_DATA at another folder")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[target](conn)
            conn.execute(f"PRAGMA user_version={target}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        logger.info("%s: history schema is now version %d", path, target)
