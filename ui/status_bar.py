"""The status bar: profile, device, model loading progress, last answer's latency, and a warning
badge while any role runs on untrained (random) weights."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar


class AssistantStatusBar(QStatusBar):
    def __init__(self) -> None:
        super().__init__()
        self.profile = QLabel("profile: …")
        self.device = QLabel("device: …")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setFormat("loading %v/%m")
        self.latency = QLabel("")
        self.badge = QLabel("")
        self.badge.setStyleSheet("color: #8a5a00; background: #fff1c2; border-radius: 4px; padding: 1px 6px;")
        self.badge.hide()
        for widget in (self.profile, self.device, self.latency):
            self.addWidget(widget)
        self.addPermanentWidget(self.badge)
        self.addPermanentWidget(self.progress)
        self.progress.hide()

    def set_loading(self, role: str, done: int, total: int) -> None:
        self.progress.show()
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setToolTip(f"loaded {role}")
        self.showMessage(f"loading models in the background… ({role})", 3000)

    def set_ready(self, info: dict) -> None:
        self.progress.hide()
        self.profile.setText(f"profile: {info.get('profile', '?')}")
        device = str(info.get("device", "?"))
        self.device.setText(f"device: {'GPU' if device.startswith('cuda') else 'CPU'} ({info.get('dtype', '')})")
        untrained = list(info.get("untrained", []))
        self.badge.setVisible(bool(untrained))
        self.badge.setText(f"⚠ {len(untrained)} roles untrained")
        self.badge.setToolTip("These roles run on random weights, so what they make is not a trained model's:\n"
                              + "\n".join(untrained))
        self.showMessage("ready", 3000)

    def set_failed(self, message: str) -> None:
        self.progress.hide()
        self.showMessage(f"the models could not load: {message}")

    def set_latency(self, first_text_ms: float | None, total_ms: float | None) -> None:
        parts = []
        if first_text_ms is not None:
            parts.append(f"first word {first_text_ms / 1000:.2f} s")
        if total_ms is not None:
            parts.append(f"answer {total_ms / 1000:.1f} s")
        self.latency.setText("last answer: " + ", ".join(parts) if parts else "")
