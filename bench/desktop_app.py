"""Issue 5 figures: launch to an interactive window (models still loading), and the longest
UI-thread stall during a streamed answer while an image is generated (a 5 ms timer on the UI
thread records every gap). Offscreen Qt. Writes bench/results/desktop_app.json.
Run: `.venv/bin/python -m bench.desktop_app [--profile local]`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.result_file import write_result

ROOT = Path(__file__).resolve().parents[1]

LAUNCH = """
import sys, time
t0 = float(sys.argv[1])
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from ui.engine_bridge import EngineBridge
from ui.main_window import MainWindow
from ui.settings_store import Settings
app = QApplication([])
bridge = EngineBridge(sys.argv[2], None)
window = MainWindow(bridge, Settings())
window.show()
bridge.start()
def interactive():
    print(time.time() - t0, flush=True)
    bridge.shutdown(timeout=60)
    app.quit()
QTimer.singleShot(0, interactive)  # the first turn of the event loop: the window takes input
app.exec()
"""


def launch_seconds(profile: str, data: Path) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NEXTGPT_DATA": str(data),
           "NEXTGPT_CONFIG": str(data / "settings.toml")}
    run = subprocess.run([sys.executable, "-c", LAUNCH, str(time.time()), profile], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env)
    return float(run.stdout.strip().splitlines()[0])


def ui_stall(profile: str, data: Path) -> dict[str, float]:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from assistant.frames import MediaOutput, TextDelta, TurnDone
    from ui.engine_bridge import EngineBridge
    from ui.main_window import MainWindow
    from ui.settings_store import Settings

    app = QApplication.instance() or QApplication([])
    bridge = EngineBridge(profile, data)
    window = MainWindow(bridge, Settings(), data / "settings.toml")
    window.show()
    loaded = []
    bridge.ready.connect(loaded.append)
    bridge.start()
    while not loaded:
        app.processEvents()
        time.sleep(0.01)
    events: list = []
    bridge.event.connect(events.append)
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    window.send("Describe a sunny beach, then draw it.", [], ["text", "image"])
    turn_id = window.running
    while not any(isinstance(e, TurnDone) and e.turn_id == turn_id for e in events):
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    bridge.shutdown()
    window.close()
    stalls = [g - 5 for g in gaps]
    return {"stall_ms_max": max(stalls), "stall_ms_p99": sorted(stalls)[int(len(stalls) * 0.99)],
            "ui_ticks": len(gaps), "text_deltas": sum(isinstance(e, TextDelta) for e in events),
            "images": sum(isinstance(e, MediaOutput) for e in events)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        launches = [launch_seconds(args.profile, folder) for _ in range(3)]
        result = {"benchmark": "desktop_app", "profile": args.profile, "launch_to_interactive_s": min(launches),
                  "launch_runs_s": launches, **ui_stall(args.profile, folder),
                  "goals": {"launch_to_interactive_s": 3.0, "stall_ms_max": 50}}
    write_result("desktop_app", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
