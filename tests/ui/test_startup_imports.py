"""The window opens before the model loads: importing the desktop app must not import torch,
transformers or diffusers (seconds each); the engine thread imports them after the window is up."""

import subprocess
import sys

PROBE = ("import sys, ui.main_window; "
         "print(sorted(m for m in ('torch', 'transformers', 'diffusers') if m in sys.modules))")


def test_the_desktop_app_imports_no_model_library():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
