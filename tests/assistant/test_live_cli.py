"""`live` on the command line: the microphone opens while the models load, so what is said right
after launch is answered, and a model that cannot load ends the session with one clear line."""

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

import main
from tests.clips import make_speech

pytestmark = pytest.mark.slow


def _live(*args: str) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main.main(["live", "--json", *args])
    finally:
        sys.stdout, sys.stderr = old
    return code, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()], err.getvalue()


def test_the_microphone_opens_before_the_models_are_up_and_its_question_is_answered(
        tiny_saved_profile: Path, tmp_path: Path):
    mic = make_speech(tmp_path / "mic.wav", [0.2, "What colour is the square?", 2.0])
    code, events, err = _live("--mic", str(mic), "--profile", str(tiny_saved_profile), "--want", "text",
                              "--seconds", "60", "--data", str(tmp_path / "data"))
    assert code == 0, err
    kinds = [(e["type"], e.get("source"), e.get("state")) for e in events]
    opened = kinds.index(("source", "microphone", "started"))
    loaded = [i for i, kind in enumerate(kinds) if kind[:2] == ("source", "models")]
    assert [kinds[i][2] for i in loaded][-1] == "ready" and len(loaded) >= 2  # each role, then ready
    assert opened < loaded[-1]  # listening while the models loaded, not after
    heard = next(e for e in events if e["type"] == "transcript")
    assert "colour" in heard["text"].lower() or "color" in heard["text"].lower()
    assert any(e["type"] == "done" and e["status"] == "done" for e in events)


def test_a_model_that_cannot_load_ends_the_session_with_one_clear_line(tiny_saved_profile: Path, tmp_path: Path):
    broken = tmp_path / "tiny-broken.toml"  # its roles' folders are not beside it: every weight is missing
    shutil.copy(tiny_saved_profile, broken)
    mic = make_speech(tmp_path / "mic.wav", [0.2, "What colour is the square?", 30.0])
    code, events, err = _live("--mic", str(mic), "--profile", str(broken), "--want", "text",
                              "--data", str(tmp_path / "data"))
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "llm" in err
    assert not any(e["type"] == "done" for e in events)
    ended = next(e for e in events if e["type"] == "source" and e["source"] == "microphone" and e["state"] == "ended")
    assert ended["detail"] == "stopped"  # by the failure, not at the end of its 30 s file
