"""`chat`: a terminal conversation through the engine, kept in history."""

import io
from pathlib import Path

import pytest

from assistant.cli.chat import run_chat
from assistant.history import History
from models import InputError


def test_a_terminal_conversation_is_answered_and_kept(tiny_saved_profile: Path, tmp_path: Path):
    out = io.StringIO()
    assert run_chat(str(tiny_saved_profile), io.StringIO("hello\nwhat next?\n\n"), out, data=tmp_path) == 0
    assert out.getvalue().count("> ") == 3  # two turns, then the empty line that ends it
    history = History(tmp_path)
    [conversation] = history.conversations()
    turns = history.turns(conversation.id)
    assert [t.user_text for t in turns] == ["hello", "what next?"] and all(t.status == "done" for t in turns)
    history.close()
    again = io.StringIO()  # going on with it: the earlier turns are its history
    assert run_chat(str(tiny_saved_profile), io.StringIO("and then?\n"), again, data=tmp_path,
                    conversation=conversation.id) == 0
    history = History(tmp_path)
    assert len(history.turns(conversation.id)) == 3
    history.close()


def test_an_unknown_conversation_is_a_clear_error(tiny_saved_profile: Path, tmp_path: Path):
    with pytest.raises(InputError, match="nope"):
        run_chat(str(tiny_saved_profile), io.StringIO("hi\n"), io.StringIO(), data=tmp_path, conversation="nope")
