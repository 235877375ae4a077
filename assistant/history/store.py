"""`History`: the conversation store, one SQLite connection behind a lock plus a media folder."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from assistant import frames
from assistant.history.records import (
    MODALITIES,
    ROLES,
    STATUSES,
    ConversationInfo,
    HistoryError,
    MediaRecord,
    TurnRecord,
    default_data_dir,
)
from assistant.history.schema import open_database
from models import EXTENSION, MIME, kind_of, write_media

try:
    import fcntl
except ImportError:  # Windows: no advisory lock, so recover() always runs
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class History:
    """The persistent store of conversations. Thread-safe: one connection guarded by a lock."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_data_dir()
        self.media_dir = self.folder / "media"
        self.db_path = self.folder / DB_NAME
        self._lock = threading.Lock()
        self._lock_file = None
        try:
            self.media_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"cannot create the history folder {self.folder} ({exc.strerror or exc}); "
                               "set NEXTGPT_DATA to a writable folder") from exc
        self._conn: sqlite3.Connection | None = open_database(self.db_path)
        if self._try_lock_folder():
            self.recover()
        else:
            logger.info("%s is open in another process; not recovering its running turns", self.folder)

    def _try_lock_folder(self) -> bool:
        """Take an advisory lock on the folder; True when no other History has it open."""
        if fcntl is None:
            return True
        handle = open(self.folder / "history.lock", "a")  # held until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def close(self) -> None:
        """Close the database (checkpointing its WAL) and release the folder lock. Safe to call twice."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock.

        ``durable`` commits with synchronous=FULL (an fsync of the WAL, and so of every commit before it);
        the writes that end a turn or change conversations use it, streaming writes within a turn do not.
        """
        with self._lock:
            conn = self._open()
            if durable:
                conn.execute("PRAGMA synchronous=FULL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:  # some errors (a full disk) have rolled back already
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if durable:
                    conn.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction (a consistent snapshot) under the lock."""
        with self._lock:
            conn = self._open()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryError(f"the history at {self.folder} is closed")
        return self._conn

    @staticmethod
    def _conversation_row(db: sqlite3.Connection, conversation_id: str) -> tuple:
        row = db.execute("SELECT c.id, c.title, c.created, c.updated, (SELECT count(*) FROM turns t WHERE"
                         " t.conversation_id = c.id) FROM conversations c WHERE c.id = ?", (conversation_id,)
                         ).fetchone()
        if row is None:
            raise HistoryError(f"unknown conversation {conversation_id!r}; list them with conversations()")
        return row

    @staticmethod
    def _turn_conversation(db: sqlite3.Connection, turn_id: str) -> str:
        row = db.execute("SELECT conversation_id FROM turns WHERE id = ?", (turn_id,)).fetchone()
        if row is None:
            raise HistoryError(f"unknown turn {turn_id!r}; start it with start_turn() first")
        return row[0]

    # conversations ------------------------------------------------------------------------------

    def new_conversation(self, title: str = "") -> str:
        """Create an empty conversation; return its id. An empty title is filled from its first turn."""
        conversation_id = uuid.uuid4().hex[:16]
        now = time.time()
        with self._write(durable=True) as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?)", (conversation_id, title, now, now))
        return conversation_id

    def conversation(self, conversation_id: str) -> ConversationInfo:
        """One conversation's summary; HistoryError if unknown."""
        with self._read() as db:
            return ConversationInfo(*self._conversation_row(db, conversation_id))

    def conversations(self, query: str = "", limit: int = 200) -> list[ConversationInfo]:
        """Conversations, most recently updated first; ``query`` matches titles and turn texts (any case)."""
        sql = ("SELECT c.id, c.title, c.created, c.updated, (SELECT count(*) FROM turns t WHERE"
               " t.conversation_id = c.id) FROM conversations c")
        args: list[object] = []
        if query:
            pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            sql += (" WHERE c.title LIKE ?1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id"
                    " = c.id AND (t.user_text LIKE ?1 ESCAPE '\\' OR t.transcript LIKE ?1 ESCAPE '\\'"
                    " OR t.reply_text LIKE ?1 ESCAPE '\\'))")
            args.append(pattern)
        sql += f" ORDER BY c.updated DESC, c.rowid DESC LIMIT ?{len(args) + 1}"
        args.append(limit)
        with self._read() as db:
            return [ConversationInfo(*row) for row in db.execute(sql, args)]

    def rename(self, conversation_id: str, title: str) -> None:
        """Give a conversation a new title."""
        with self._write(durable=True) as db:
            self._conversation_row(db, conversation_id)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete(self, conversation_id: str) -> None:
        """Delete a conversation, its turns, events and media files."""
        with self._write(durable=True) as db:
            self._conversation_row(db, conversation_id)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        self._remove_media(conversation_id)

    def _remove_media(self, conversation_id: str) -> None:
        folder = self.media_dir / conversation_id
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            logger.warning("could not remove all of %s; it is safe to delete by hand", folder)

    # turns --------------------------------------------------------------------------------------

    def start_turn(self, conversation_id: str, turn_id: str, user_text: str, transcript: str = "",
                   want: Iterable[str] | None = None) -> None:
        """Record a new turn, status "running". Turn ids are 1-64 letters, digits, ``_`` or ``-``."""
        if not _SAFE_ID.fullmatch(turn_id):
            raise HistoryError(f"turn id {turn_id!r} must be 1-64 letters, digits, '_' or '-'")
        want_json = None if want is None else json.dumps(sorted(str(w) for w in want))
        now = time.time()
        with self._write() as db:
            _, title, *_ = self._conversation_row(db, conversation_id)
            if db.execute("SELECT 1 FROM turns WHERE id = ?", (turn_id,)).fetchone():
                raise HistoryError(f"turn {turn_id!r} already exists; give each turn a new id")
            db.execute("INSERT INTO turns (id, conversation_id, created, user_text, transcript, want, status)"
                       " VALUES (?, ?, ?, ?, ?, ?, 'running')",
                       (turn_id, conversation_id, now, user_text, transcript, want_json))
            new_title = title or " ".join((transcript or user_text).split())[:60]
            db.execute("UPDATE conversations SET updated = ?, title = ? WHERE id = ?",
                       (now, new_title, conversation_id))

    def add_event(self, turn_id: str, kind: str, payload: dict) -> None:
        """Append an entry to a turn's event log; ``payload`` must be JSON-serialisable."""
        text = json.dumps(payload, default=str)
        with self._write() as db:
            self._turn_conversation(db, turn_id)
            db.execute("INSERT INTO events (turn_id, created, kind, payload) VALUES (?, ?, ?, ?)",
                       (turn_id, time.time(), kind, text))

    def events(self, turn_id: str) -> list[tuple[str, dict]]:
        """A turn's event log, oldest first, as (kind, payload) pairs."""
        with self._read() as db:
            self._turn_conversation(db, turn_id)
            rows = db.execute("SELECT kind, payload FROM events WHERE turn_id = ? ORDER BY id", (turn_id,))
            return [(kind, json.loads(payload)) for kind, payload in rows]

    def append_reply_text(self, turn_id: str, delta: str) -> None:
        """Add streamed reply text, committed at once so a crash keeps what was said."""
        with self._write() as db:
            if db.execute("UPDATE turns SET reply_text = reply_text || ? WHERE id = ?", (delta, turn_id)).rowcount:
                return
            self._turn_conversation(db, turn_id)

    def _set_reply_text(self, turn_id: str, text: str) -> None:
        with self._write() as db:
            self._turn_conversation(db, turn_id)
            db.execute("UPDATE turns SET reply_text = ? WHERE id = ?", (text, turn_id))

    def save_media(self, turn_id: str, role: str, modality: str, media: frames.Media) -> MediaRecord:
        """Write ``media`` under the turn's folder, then record it; return the record with the file's path."""
        modality = str(modality)
        if role not in ROLES or modality not in MODALITIES:
            raise ValueError(f"role must be one of {ROLES} and modality one of {MODALITIES}, got {role!r}, "
                             f"{modality!r}")
        kind = kind_of(media)
        if kind != ("audio" if modality == "speech" else modality):
            raise ValueError(f"a {modality} record needs {modality} data, got {kind}")
        with self._read() as db:
            conversation_id = self._turn_conversation(db, turn_id)
        media_id = uuid.uuid4().hex[:16]
        relative = Path(conversation_id, turn_id, f"{role}-{modality}-{media_id}{EXTENSION[kind]}")
        path = write_media(media, self.media_dir / relative)
        try:
            with self._write() as db:
                self._turn_conversation(db, turn_id)
                db.execute("INSERT INTO media VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (media_id, turn_id, role, modality, MIME[kind], relative.as_posix(), time.time()))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return MediaRecord(media_id, turn_id, role, modality, MIME[kind], path)

    def finish_turn(self, turn_id: str, status: str, reply_text: str | None = None,
                    timings_ms: dict | None = None, error: str = "") -> None:
        """End a turn. A None ``reply_text``/``timings_ms`` or empty ``error`` keeps what is stored."""
        if status not in STATUSES[1:]:
            raise ValueError(f"a finished turn's status is one of {STATUSES[1:]}, got {status!r}")
        timings = None if timings_ms is None else json.dumps({k: float(v) for k, v in timings_ms.items()})
        with self._write(durable=True) as db:
            conversation_id = self._turn_conversation(db, turn_id)
            db.execute("UPDATE turns SET status = ?, reply_text = coalesce(?, reply_text), timings_ms ="
                       " coalesce(?, timings_ms), error = coalesce(nullif(?, ''), error) WHERE id = ?",
                       (status, reply_text, timings, error, turn_id))
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time(), conversation_id))

    def turns(self, conversation_id: str) -> list[TurnRecord]:
        """A conversation's turns, oldest first, each with its media."""
        with self._read() as db:
            self._conversation_row(db, conversation_id)
            rows = db.execute("SELECT id, conversation_id, created, user_text, transcript, want, status, reply_text,"
                              " timings_ms, error FROM turns WHERE conversation_id = ? ORDER BY rowid",
                              (conversation_id,)).fetchall()
            media: dict[str, list[MediaRecord]] = {}
            for media_id, turn_id, role, modality, mime, path in db.execute(
                    "SELECT m.id, m.turn_id, m.role, m.modality, m.mime, m.path FROM media m JOIN turns t ON"
                    " t.id = m.turn_id WHERE t.conversation_id = ? ORDER BY m.rowid", (conversation_id,)):
                media.setdefault(turn_id, []).append(
                    MediaRecord(media_id, turn_id, role, modality, mime, self.media_dir / path))
        return [TurnRecord(id=r[0], conversation_id=r[1], created=r[2], user_text=r[3], transcript=r[4],
                           want=None if r[5] is None else json.loads(r[5]), status=r[6], reply_text=r[7],
                           timings_ms=json.loads(r[8]), error=r[9], media=media.get(r[0], []))
                for r in rows]

    def messages(self, conversation_id: str, limit: int = 20) -> list[dict[str, str]]:
        """The newest ``limit`` chat messages of done and interrupted turns, oldest first, for the LLM.

        Each such turn gives a user message (its transcript, else its text) then an assistant message
        (its reply, possibly cut short); the list always starts with a user message.
        """
        if limit <= 0:
            return []
        with self._read() as db:
            self._conversation_row(db, conversation_id)
            rows = db.execute("SELECT user_text, transcript, reply_text FROM turns WHERE conversation_id = ? AND"
                              " status IN ('done', 'interrupted') ORDER BY rowid DESC LIMIT ?",
                              (conversation_id, (limit + 1) // 2)).fetchall()
        out: list[dict[str, str]] = []
        for user_text, transcript, reply_text in reversed(rows):
            out.append({"role": "user", "content": transcript or user_text})
            out.append({"role": "assistant", "content": reply_text})
        out = out[-limit:]
        return out[1:] if out and out[0]["role"] == "assistant" else out

    # upkeep -------------------------------------------------------------------------------------

    def recover(self) -> int:
        """Mark turns left "running" by a crash as "interrupted" and drop their unrecorded files; return how many.

        Run by ``__init__`` when no other process has this folder open.
        """
        with self._write(durable=True) as db:
            stale = db.execute("SELECT id, conversation_id FROM turns WHERE status = 'running'").fetchall()
            known = {row[0] for row in db.execute("SELECT m.path FROM media m JOIN turns t ON t.id = m.turn_id"
                                                  " WHERE t.status = 'running'")}
            db.execute("UPDATE turns SET status = 'interrupted', error = 'the program stopped during this turn'"
                       " WHERE status = 'running'")
        for turn_id, conversation_id in stale:
            folder = self.media_dir / conversation_id / turn_id
            for file in folder.iterdir() if folder.is_dir() else ():
                if Path(conversation_id, turn_id, file.name).as_posix() not in known:
                    with suppress(OSError):
                        file.unlink()
        if stale:
            logger.warning("%d turn(s) were cut off by a crash and are marked interrupted", len(stale))
        return len(stale)

    def prune(self, older_than_days: float) -> int:
        """Delete conversations not updated for ``older_than_days`` days, with their media; return how many."""
        cutoff = time.time() - older_than_days * 86400.0
        with self._write(durable=True) as db:
            old = [row[0] for row in db.execute("SELECT id FROM conversations WHERE updated < ?", (cutoff,))]
            db.executemany("DELETE FROM conversations WHERE id = ?", [(c,) for c in old])
        for conversation_id in old:
            self._remove_media(conversation_id)
        return len(old)

    def prune_media(self, older_than_days: float) -> int:
        """Delete the media files saved more than ``older_than_days`` days ago, keeping the
        conversations and their words; return how many went."""
        cutoff = time.time() - older_than_days * 86400.0
        with self._write(durable=True) as db:
            old = db.execute("SELECT id, path FROM media WHERE created < ?", (cutoff,)).fetchall()
            db.executemany("DELETE FROM media WHERE id = ?", [(media_id,) for media_id, _ in old])
        for _, path in old:
            with suppress(OSError):
                (self.media_dir / path).unlink(missing_ok=True)
        return len(old)

    # reply events -------------------------------------------------------------------------------

    def record(self, event: frames.ReplyEvent) -> MediaRecord | None:
        """Store one reply event of a started turn; return the MediaRecord for media events, else None.

        Text deltas extend the reply, FinalText replaces it, media and speech are saved as outputs, and
        ErrorEvent, Interruption and TurnDone end the turn. Besides text, each stored event is also
        added to the turn's event log. Accepted and DecoderProgress are not stored.
        """
        turn_id = event.turn_id
        saved = None
        if isinstance(event, frames.TextDelta):
            self.append_reply_text(turn_id, event.text)
            return None
        if isinstance(event, frames.FinalText):
            self._set_reply_text(turn_id, event.text)
            return None
        if isinstance(event, frames.MediaOutput):
            saved = self.save_media(turn_id, "output", str(event.modality), event.media)
        elif isinstance(event, frames.SpeechOutput):
            saved = self.save_media(turn_id, "output", "speech", event.audio)
        elif isinstance(event, frames.ErrorEvent):
            self.finish_turn(turn_id, "error", error=event.message)
        elif isinstance(event, frames.Interruption):
            self.finish_turn(turn_id, "interrupted")
        elif isinstance(event, frames.TurnDone):
            self.finish_turn(turn_id, event.status, timings_ms=event.timings_ms)
        else:
            return None
        payload = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)
                   if f.name not in ("created", "turn_id", "media", "audio", "path")}
        if saved is not None:
            payload["path"] = str(saved.path)
        self.add_event(turn_id, type(event).__name__, payload)
        return saved
