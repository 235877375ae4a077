"""The conversation history store, on real SQLite files and real media encoders, including a kill -9 test."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant import frames
from assistant.history import SCHEMA_VERSION, History, HistoryError, MediaRecord, default_data_dir
from models.errors import InputError
from models.media import AudioData, ImageData, VideoData, read_audio, read_image, read_video

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def history(tmp_path: Path):
    with History(tmp_path / "data") as h:
        yield h


def image(value: int = 200, size: tuple[int, int] = (12, 16)) -> ImageData:
    pixels = np.zeros((*size, 3), np.uint8)
    pixels[..., 0] = value
    pixels[:, : size[1] // 2, 1] = 255 - value
    return ImageData(pixels)


def tone(seconds: float = 0.25, rate: int = 16000, freq: float = 440.0) -> AudioData:
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return AudioData((0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def clip(frames_: int = 4) -> VideoData:
    video = np.zeros((frames_, 16, 16, 3), np.uint8)
    for i in range(frames_):
        video[i] = 40 * i + 20
    return VideoData(video, 8.0)


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


# conversations ------------------------------------------------------------------------------------


def test_conversation_crud_search_and_delete(history: History) -> None:
    first = history.new_conversation("Cats and dogs")
    second = history.new_conversation()
    assert len(first) == 16 and first != second
    info = history.conversation(first)
    assert (info.id, info.title, info.turns) == (first, "Cats and dogs", 0)
    assert info.created == pytest.approx(info.updated)

    history.start_turn(second, "t1", "Tell me about 100% PYTHON_snakes")
    history.append_reply_text("t1", "Pythons are large constrictors.")
    history.finish_turn("t1", "done")
    assert history.conversation(second).title == "Tell me about 100% PYTHON_snakes"  # untitled: first words
    assert history.conversation(second).turns == 1

    assert [c.id for c in history.conversations()] == [second, first]  # newest update first
    assert [c.id for c in history.conversations(limit=1)] == [second]
    assert [c.id for c in history.conversations("cats")] == [first]  # title, any case
    assert [c.id for c in history.conversations("CONSTRICTOR")] == [second]  # reply text
    assert [c.id for c in history.conversations("100%")] == [second]
    assert history.conversations("1000%") == []  # % and _ are literal, not wildcards
    assert history.conversations("python_s") and history.conversations("pythonXs") == []

    history.rename(first, "Pets")
    assert history.conversation(first).title == "Pets"
    assert history.conversations("cats") == []

    record = history.save_media("t1", "input", "image", image())
    assert record.path.is_file()
    history.delete(second)
    assert not record.path.exists()
    assert not (history.media_dir / second).exists()
    with pytest.raises(HistoryError, match="unknown conversation"):
        history.conversation(second)
    with pytest.raises(HistoryError, match="unknown turn"):
        history.append_reply_text("t1", "more")
    assert [c.id for c in history.conversations()] == [first]


# turns -----------------------------------------------------------------------------------------------


def test_turn_with_streamed_text_and_media_round_trips(history: History) -> None:
    cid = history.new_conversation("media")
    history.start_turn(cid, "turn-1", "draw this", transcript="draw this please", want=["text", "image"])
    for piece in ("Here ", "is ", "your ", "picture."):
        history.append_reply_text("turn-1", piece)
    given = history.save_media("turn-1", "input", "image", image(30))
    out_image = history.save_media("turn-1", "output", "image", image(220))
    out_audio = history.save_media("turn-1", "output", "audio", tone())
    out_video = history.save_media("turn-1", "output", "video", clip())
    speech = history.save_media("turn-1", "output", "speech", tone(freq=220.0))
    history.finish_turn("turn-1", "done", timings_ms={"first_token": 12.5, "total": 80})

    [turn] = history.turns(cid)
    assert (turn.id, turn.conversation_id, turn.status, turn.error) == ("turn-1", cid, "done", "")
    assert (turn.user_text, turn.transcript, turn.want) == ("draw this", "draw this please", ["image", "text"])
    assert turn.reply_text == "Here is your picture."
    assert turn.timings_ms == {"first_token": 12.5, "total": 80.0}
    assert turn.media == [given, out_image, out_audio, out_video, speech]
    assert [(m.role, m.modality, m.mime) for m in turn.media] == [
        ("input", "image", "image/png"), ("output", "image", "image/png"), ("output", "audio", "audio/wav"),
        ("output", "video", "video/mp4"), ("output", "speech", "audio/wav"),
    ]
    for m in turn.media:
        assert m.path.is_file() and m.path.parent == history.media_dir / cid / "turn-1"

    np.testing.assert_array_equal(read_image(given.path).pixels, image(30).pixels)
    np.testing.assert_array_equal(read_image(out_image.path).pixels, image(220).pixels)
    audio = read_audio(out_audio.path)
    assert audio.samples.shape[0] == pytest.approx(tone().samples.shape[0], abs=2)
    np.testing.assert_allclose(audio.samples[:4000], tone().samples[:4000], atol=2e-3)
    assert read_audio(speech.path).seconds == pytest.approx(0.25, abs=0.01)
    video = read_video(out_video.path)
    assert video.frames.shape[1:] == (16, 16, 3)
    assert abs(int(video.frames[0].mean()) - 20) <= 6

    with pytest.raises(ValueError, match="modality"):
        history.save_media("turn-1", "output", "text", image())
    with pytest.raises(ValueError, match="needs image data"):
        history.save_media("turn-1", "output", "image", tone())
    with pytest.raises(ValueError, match="status"):
        history.finish_turn("turn-1", "finished")


def test_messages_alternate_user_and_assistant(history: History) -> None:
    cid = history.new_conversation()
    history.start_turn(cid, "a", "hello")
    history.finish_turn("a", "done", reply_text="hi there")
    history.start_turn(cid, "b", "", transcript="what is two plus two")  # spoken: the transcript counts
    history.append_reply_text("b", "four")
    history.finish_turn("b", "done")
    history.start_turn(cid, "c", "this one fails")
    history.finish_turn("c", "error", error="decoder crashed")
    history.start_turn(cid, "d", "tell me a long story")
    history.append_reply_text("d", "Once upon")
    history.finish_turn("d", "interrupted")
    history.start_turn(cid, "e", "still running")

    assert history.messages(cid) == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi there"},
        {"role": "user", "content": "what is two plus two"},
        {"role": "assistant", "content": "four"},
        {"role": "user", "content": "tell me a long story"},
        {"role": "assistant", "content": "Once upon"},
    ]
    assert [m["content"] for m in history.messages(cid, limit=4)] == [
        "what is two plus two", "four", "tell me a long story", "Once upon"]
    assert [m["role"] for m in history.messages(cid, limit=3)] == ["user", "assistant"]
    assert history.messages(cid, limit=0) == []


def test_record_stores_each_reply_event(history: History) -> None:
    cid = history.new_conversation()
    history.start_turn(cid, "ok", "show me")
    assert history.record(frames.Accepted(turn_id="ok")) is None
    assert history.record(frames.TextDelta(turn_id="ok", text="A red ")) is None
    history.record(frames.TextDelta(turn_id="ok", text="squar"))
    history.record(frames.DecoderProgress(turn_id="ok", modality="image", step=1, total=4))
    assert history.turns(cid)[0].reply_text == "A red squar"
    history.record(frames.FinalText(turn_id="ok", text="A red square."))
    saved = history.record(frames.MediaOutput(turn_id="ok", modality="image", media=image(),
                                              untrained_roles=("image_decoder",)))
    spoken = history.record(frames.SpeechOutput(turn_id="ok", audio=tone(), index=0, text="A red square."))
    history.record(frames.TurnDone(turn_id="ok", timings_ms={"total": 42.0}))
    assert isinstance(saved, MediaRecord) and (saved.role, saved.modality) == ("output", "image")
    assert isinstance(spoken, MediaRecord) and spoken.modality == "speech"
    [turn] = history.turns(cid)
    assert (turn.status, turn.reply_text, turn.timings_ms) == ("done", "A red square.", {"total": 42.0})
    assert turn.media == [saved, spoken]
    log = history.events("ok")
    assert [kind for kind, _ in log] == ["MediaOutput", "SpeechOutput", "TurnDone"]
    assert log[0][1] == {"modality": "image", "untrained_roles": ["image_decoder"], "path": str(saved.path),
                         "via": "projector", "caption": ""}

    history.start_turn(cid, "bad", "break")
    history.record(frames.ErrorEvent(turn_id="bad", code="internal", message="out of memory"))
    history.record(frames.TurnDone(turn_id="bad", status="error", timings_ms={"total": 5.0}))
    history.start_turn(cid, "cut", "long answer")
    history.record(frames.TextDelta(turn_id="cut", text="Well"))
    history.record(frames.Interruption(turn_id="cut"))
    bad, cut = history.turns(cid)[1:]
    assert (bad.status, bad.error, bad.timings_ms) == ("error", "out of memory", {"total": 5.0})
    assert history.events("bad")[0] == ("ErrorEvent", {"code": "internal", "message": "out of memory"})
    assert (cut.status, cut.reply_text) == ("interrupted", "Well")
    assert history.events("cut") == [("Interruption", {"reason": "barge-in"})]


# persistence and recovery ---------------------------------------------------------------------------


def test_resume_by_id_after_reopening(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    with History(folder) as h:
        cid = h.new_conversation("keep me")
        h.start_turn(cid, "t1", "first")
        h.append_reply_text("t1", "answer one")
        picture = h.save_media("t1", "output", "image", image(90))
        h.finish_turn("t1", "done")
        before = h.turns(cid)
    with History(folder) as h:
        assert h.conversation(cid).title == "keep me"
        assert h.turns(cid) == before
        np.testing.assert_array_equal(read_image(picture.path).pixels, image(90).pixels)
        h.start_turn(cid, "t2", "second")
        h.finish_turn("t2", "done", reply_text="answer two")
        assert [m["content"] for m in h.messages(cid)] == ["first", "answer one", "second", "answer two"]
    with pytest.raises(HistoryError, match="closed"):
        h.conversations()


def test_recover_marks_running_turns_interrupted_and_drops_unrecorded_files(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    h = History(folder)
    cid = h.new_conversation()
    h.start_turn(cid, "live", "talk")
    h.append_reply_text("live", "I was say")
    kept = h.save_media("live", "output", "image", image())
    h.close()  # as if the program died here
    stray = kept.path.parent / "output-image-unrecorded.png"
    stray.write_bytes(b"half a file")
    temp = kept.path.parent / ".output-image-x.png.abc.tmp"
    temp.write_bytes(b"")

    with History(folder) as h:
        [turn] = h.turns(cid)
        assert (turn.status, turn.reply_text) == ("interrupted", "I was say")
        assert "stopped" in turn.error
        assert kept.path.is_file() and not stray.exists() and not temp.exists()
        assert h.recover() == 0
        assert h.messages(cid)[-1] == {"role": "assistant", "content": "I was say"}


def test_a_second_open_of_a_folder_in_use_leaves_its_running_turns_alone(tmp_path: Path) -> None:
    with History(tmp_path) as first:
        cid = first.new_conversation()
        first.start_turn(cid, "busy", "working")
        with History(tmp_path) as second:
            assert second.turns(cid)[0].status == "running"
        first.finish_turn("busy", "done")
        assert first.turns(cid)[0].status == "done"


def test_prune_removes_old_conversations_and_their_media(history: History) -> None:
    old = history.new_conversation("old")
    history.start_turn(old, "o1", "ancient")
    old_file = history.save_media("o1", "input", "image", image()).path
    history.finish_turn("o1", "done")
    recent = history.new_conversation("recent")
    with sqlite3.connect(history.db_path) as raw:
        raw.execute("UPDATE conversations SET updated = updated - 40 * 86400 WHERE id = ?", (old,))
    raw.close()
    assert history.prune(30) == 1
    assert [c.id for c in history.conversations()] == [recent]
    assert not old_file.exists() and not (history.media_dir / old).exists()
    assert history.prune(30) == 0


def test_prune_media_removes_old_files_and_keeps_the_words(history: History) -> None:
    conversation = history.new_conversation("kept")
    history.start_turn(conversation, "t1", "draw a red circle")
    old_file = history.save_media("t1", "output", "image", image()).path
    new_file = history.save_media("t1", "input", "image", image()).path
    history.finish_turn("t1", "done")
    with sqlite3.connect(history.db_path) as raw:
        raw.execute("UPDATE media SET created = created - 10 * 86400 WHERE path = ?",
                    (old_file.relative_to(history.media_dir).as_posix(),))
    raw.close()
    assert history.prune_media(7) == 1
    assert not old_file.exists() and new_file.exists()
    [turn] = history.turns(conversation)
    assert turn.user_text == "draw a red circle" and [m.path for m in turn.media] == [new_file]
    assert history.prune_media(7) == 0


# errors and database setup ------------------------------------------------------------------------------


def test_unknown_ids_raise_history_error(history: History) -> None:
    assert issubclass(HistoryError, InputError)
    cid = history.new_conversation()
    history.start_turn(cid, "t", "x")
    calls = [
        lambda: history.conversation("nope"), lambda: history.turns("nope"), lambda: history.messages("nope"),
        lambda: history.rename("nope", "t"), lambda: history.delete("nope"),
        lambda: history.start_turn("nope", "t2", "x"), lambda: history.append_reply_text("nope", "x"),
        lambda: history.add_event("nope", "k", {}), lambda: history.events("nope"),
        lambda: history.save_media("nope", "input", "image", image()), lambda: history.finish_turn("nope", "done"),
        lambda: history.record(frames.FinalText(turn_id="nope", text="x")),
    ]
    for call in calls:
        with pytest.raises(HistoryError, match="unknown (conversation|turn) 'nope'"):
            call()
    with pytest.raises(HistoryError, match="already exists"):
        history.start_turn(cid, "t", "again")
    with pytest.raises(HistoryError, match="turn id"):
        history.start_turn(cid, "../escape", "x")
    assert [t.id for t in history.turns(cid)] == ["t"]
    assert not list(history.media_dir.rglob("*.png"))


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite3").write_bytes(b"this is not sqlite at all, just some text\n" * 100)
    with pytest.raises(HistoryError, match=r"history\.sqlite3 is not a usable SQLite database.*move it aside"):
        History(tmp_path)


def test_a_database_from_a_newer_version_is_reported(tmp_path: Path) -> None:
    History(tmp_path).close()
    with sqlite3.connect(tmp_path / "history.sqlite3") as raw:
        raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(HistoryError, match="newer"):
        History(tmp_path)


def test_database_uses_wal_and_records_its_schema_version(history: History) -> None:
    history.new_conversation()
    raw = sqlite3.connect(history.db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        raw.close()
    assert history._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again after FULL commits
    assert history._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_default_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEXTGPT_DATA", str(tmp_path / "here"))
    assert default_data_dir() == tmp_path / "here"
    with History() as h:
        assert h.db_path == tmp_path / "here" / "history.sqlite3" and h.db_path.is_file()
    monkeypatch.delenv("NEXTGPT_DATA")
    assert "nextgpt-live" in str(default_data_dir())


def test_threads_can_write_and_read_at_once(history: History) -> None:
    cid = history.new_conversation()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                tid = f"w{n}-{i}"
                history.start_turn(cid, tid, f"question {n} {i}")
                for word in ("a", "b", "c"):
                    history.append_reply_text(tid, word)
                history.finish_turn(tid, "done")
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(30):
                history.turns(cid)
                history.conversations("question")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    turns = history.turns(cid)
    assert len(turns) == 30 and all(t.reply_text == "abc" and t.status == "done" for t in turns)


# crash safety -----------------------------------------------------------------------------------------

CHILD = """
import sys
from pathlib import Path

import numpy as np

from assistant.history import History
from models.media import ImageData

history = History(Path(sys.argv[1]))
cid = history.new_conversation("crash")
print(cid, flush=True)
for i in range(1_000_000):
    tid = f"turn{i:06d}"
    history.start_turn(cid, tid, f"question {i}")
    for k in range(5):
        history.append_reply_text(tid, f"word{k} ")
    history.save_media(tid, "output", "image", ImageData(np.full((8, 8, 3), i % 256, np.uint8)))
    history.finish_turn(tid, "done", timings_ms={"total": 1.0})
    print(tid, flush=True)
"""


def test_history_survives_kill_9_during_writes(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    watchdog = threading.Timer(60.0, child.kill)  # never hang the suite
    watchdog.start()
    try:
        cid = child.stdout.readline().strip()
        reported: list[str] = []
        seen_at: list[float] = []
        while len(reported) < 20:
            line = child.stdout.readline()
            if not line:
                break
            reported.append(line.strip())
            seen_at.append(time.monotonic())
        assert len(reported) == 20, f"the child stopped early: {child.stderr.read()}"
        # Aim the kill at the middle of turn 21 rather than the gap after turn 20 was printed.
        time.sleep(0.5 * (seen_at[-1] - seen_at[9]) / 10)
        assert child.poll() is None
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        reported += child.stdout.read().split()  # finished turns printed before the kill landed
    finally:
        watchdog.cancel()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    raw = sqlite3.connect(folder / "history.sqlite3")
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        raw.close()
    with History(folder) as h:
        turns = {t.id: t for t in h.turns(cid)}
        for tid in reported:
            turn = turns[tid]
            assert turn.status == "done" and turn.reply_text == "word0 word1 word2 word3 word4 "
            [media] = turn.media
            value = int(tid.removeprefix("turn")) % 256
            assert (read_image(media.path).pixels == value).all()
        unfinished = [t for t in turns.values() if t.status != "done"]
        assert len(unfinished) <= 1
        assert all(t.status == "interrupted" for t in unfinished)
        recorded = {m.path for t in turns.values() for m in t.media}
        assert files_under(h.media_dir) == recorded  # no orphan or temporary files left behind
        assert all(p.is_file() for p in recorded)
