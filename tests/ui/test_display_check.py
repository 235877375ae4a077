"""`make run` on a desktop whose display cannot be opened: a clear line and the terminal
conversation, never Qt's abort."""

import subprocess
import sys
from pathlib import Path

from ui.display_check import display_problem

ROOT = Path(__file__).resolve().parents[2]


def test_a_display_qt_can_open_is_fine(monkeypatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert display_problem() == ""


def test_a_display_that_is_gone_is_named(monkeypatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":987")
    assert "could not connect to display :987" in display_problem()


def test_the_app_falls_back_to_the_terminal_conversation(monkeypatch, tiny_saved_profile: Path) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":987")
    run = subprocess.run([sys.executable, "main.py", "app", "--profile", str(tiny_saved_profile)], cwd=ROOT,
                         input="\n", capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "The window cannot open (could not connect to display :987)" in run.stderr
    assert "Type a message" in run.stdout
