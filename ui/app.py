"""Starts the desktop app: the window opens at once; the models load in the background."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from .engine_bridge import EngineBridge
from .main_window import MainWindow
from .settings_store import load_settings


def run_app(profile: str | None = None, data: Path | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("NExT-GPT Live")
    settings = load_settings()
    folder = data or (Path(settings.data_folder) if settings.data_folder else None)
    bridge = EngineBridge(profile or settings.profile, folder, speak=settings.speech, headphones=settings.headphones,
                          keep_days=settings.keep_history_days, mqtt=settings.mqtt,
                          keep_media_days=settings.keep_media_days)
    window = MainWindow(bridge, settings)
    window.show()
    bridge.start()
    try:
        return app.exec()
    finally:
        bridge.shutdown()
