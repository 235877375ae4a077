"""Whether Qt can open the display it is pointed at, asked in a child process: a Qt that cannot
load its platform plugin (xcb without its Debian libraries, a DISPLAY that is gone) aborts the
whole process, so the app asks first and the command line can fall back to the terminal."""

from __future__ import annotations

import subprocess
import sys

XCB_PACKAGES = ("libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-render-util0 "
                "libxcb-image0 libxcb-shape0 libxcb-randr0")
_PROBE = "from PySide6.QtWidgets import QApplication; QApplication([])"


def display_problem(timeout_s: float = 30.0) -> str:
    """"" when a QApplication starts here; otherwise what went wrong, in a line, with what to do."""
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"the display did not answer within {timeout_s:g} s"
    if probe.returncode == 0:
        return ""
    said = [line.strip() for line in probe.stderr.splitlines() if line.strip()]
    unreachable = next((line for line in said if "could not connect to display" in line), "")
    if unreachable:
        return unreachable.removeprefix("qt.qpa.xcb: ")
    reason = next((line for line in said if "Could not load the Qt platform plugin" in line),
                  said[-1] if said else "Qt aborted")
    if "xcb" in reason:
        reason += f"; on Debian or Ubuntu: sudo apt-get install {XCB_PACKAGES}"
    return reason.removeprefix("qt.qpa.plugin: ")
