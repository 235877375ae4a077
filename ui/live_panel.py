"""`LivePanel`: the live mode's widgets (camera preview, microphone meter, source choosers, live and
push-to-talk controls, state and capture indicators) and `SourceCombo`, the camera/microphone chooser
it shares with the settings dialog. Widgets only: the window feeds it frames and levels, and listens.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFocusEvent, QImage, QKeyEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.file_choosers import ask_for_audio_file, ask_for_video_file

logger = logging.getLogger(__name__)

CAMERA = "camera"
MICROPHONE = "microphone"
PREVIEW_SIZE = QSize(480, 270)
NO_CAMERA_TEXT = "No camera — choose a video file"
BOX_COLOUR = "#00e676"
STATES = {  # state: (text, dot colour)
    "idle": ("Idle", "#9e9e9e"),
    "listening": ("Listening", "#2e7d32"),
    "thinking": ("Thinking…", "#f9a825"),
    "speaking": ("Speaking", "#1565c0"),
}
CAPTURE_COLOUR = "#d32f2f"
METER_FLOOR_DB = -60.0  # the meter's empty end; its full end is 0 dBFS
METER_DECAY_PER_TICK = 0.05  # of the meter's length, every METER_TICK_MS: empties in about 0.7 s
METER_TICK_MS = 33


def meter_fraction(rms: float) -> float:
    """How full the level meter is for an RMS level in 0..1: logarithmic, -60 dBFS (or less) empty, 0 dBFS full."""
    if not math.isfinite(rms) or rms <= 0.0:
        return 0.0
    return min(1.0, max(0.0, (20.0 * math.log10(rms) - METER_FLOOR_DB) / -METER_FLOOR_DB))


def source_label(kind: str, spec: str) -> str:
    """How a source spec reads in a chooser: "Camera 0", "Default microphone", "File: clip.mp4", a device name."""
    if kind == CAMERA and spec.isascii() and spec.isdigit():
        return f"Camera {spec}"
    if kind == MICROPHONE and spec.lower() == "default":
        return "Default microphone"
    if _is_file_spec(spec):
        return f"File: {Path(spec).name}"
    return spec


def _is_file_spec(spec: str) -> bool:
    """Whether a spec names a file (it has a folder in it, or exists as a file) rather than a device."""
    return os.sep in spec or (os.altsep is not None and os.altsep in spec) or os.path.isfile(spec)


class SourceCombo(QComboBox):
    """A chooser of a camera or microphone: the devices given, any files chosen, and a last entry
    ("Video file…"/"Audio file…") that asks for a file through ``choose_file`` (None: cancelled).

    `choice()` is the selected spec: a camera index ("0"), "default", a device name, a file path, or
    "" when there is nothing to choose. ``choice_changed`` is emitted whenever `choice()` changes.
    """

    choice_changed = Signal(str)

    def __init__(self, kind: str, choose_file: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if kind not in (CAMERA, MICROPHONE):
            raise ValueError(f"a source is {CAMERA!r} or {MICROPHONE!r}, not {kind!r}")
        self.kind = kind
        self.file_entry = "Video file…" if kind == CAMERA else "Audio file…"
        self._choose_file = choose_file
        self._devices: list[str] = []
        self._files: list[str] = []
        self._updating = False
        self._last_index = -1
        self._last_choice = ""
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.currentIndexChanged.connect(self._on_index_changed)
        self.set_sources([])

    def choice(self) -> str:
        """The selected spec, or "" when no source is selected."""
        data = self.currentData()
        return data if isinstance(data, str) else ""

    def set_sources(self, devices: list[str], current: str | None = None) -> None:
        """Offer ``devices`` (plus "default" for a microphone, and the files chosen so far) and select
        ``current`` (default: keep the present choice), adding it when it is not among them."""
        keep = self.choice() if current is None else current
        self._devices = list(dict.fromkeys(devices))
        if self.kind == MICROPHONE and "default" not in self._devices:
            self._devices.insert(0, "default")
        self._rebuild(keep)

    def set_choice(self, spec: str) -> None:
        """Select ``spec``, adding it (as a file or a device not found now) when it is not offered."""
        self._rebuild(spec)

    def choose_file(self) -> None:
        """Ask for a file (what the file entry does) and select it; a cancel keeps the present choice."""
        path = self._choose_file()
        if path:
            self._rebuild(path)
        else:
            self._select_index(self._last_index)

    def _rebuild(self, current: str) -> None:
        """Refill the entries and select ``current`` (or the first entry, when there is no current)."""
        if current and current not in self._devices and current not in self._files:
            if _is_file_spec(current):
                self._files.append(current)
        self._updating = True
        try:
            self.clear()
            for spec in self._devices:
                self.addItem(source_label(self.kind, spec), spec)
            for spec in self._files:
                self.addItem(source_label(self.kind, spec), spec)
                self.setItemData(self.count() - 1, spec, Qt.ItemDataRole.ToolTipRole)
            if current and self.findData(current) < 0:  # a device that is not there now: keep it, say so
                self.addItem(f"{source_label(self.kind, current)} (not found)", current)
            if self.count() == 0:
                self.addItem(f"No {self.kind}", "")
            self.addItem(self.file_entry, None)
            index = self.findData(current) if current else -1
            self.setCurrentIndex(index if index >= 0 else 0)
        finally:
            self._updating = False
        self._settle()

    def _select_index(self, index: int) -> None:
        self._updating = True
        try:
            self.setCurrentIndex(index if 0 <= index < self.count() - 1 else 0)
        finally:
            self._updating = False
        self._settle()

    def _on_index_changed(self, index: int) -> None:
        if self._updating:
            return
        if index == self.count() - 1:  # the file entry
            self.choose_file()
        else:
            self._settle()

    def _settle(self) -> None:
        """Remember the selection and emit ``choice_changed`` when the choice is new."""
        self._last_index = self.currentIndex()
        choice = self.choice()
        if choice != self._last_choice:
            self._last_choice = choice
            self.choice_changed.emit(choice)


class LivePanel(QWidget):
    """The live mode's panel. Feed it `set_frame`, `set_level`, `set_state`, `set_capturing` and
    `set_unavailable`; it emits ``live_toggled(bool)``, ``push_to_talk(bool)`` (True on press, False
    on release; the button or the space bar while the panel has focus) and ``sources_changed(camera,
    microphone)`` whenever either chosen spec changes. It captures nothing itself.
    """

    live_toggled = Signal(bool)
    push_to_talk = Signal(bool)
    sources_changed = Signal(str, str)

    def __init__(self, parent: QWidget | None = None, preview_size: QSize = PREVIEW_SIZE) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._state = "idle"
        self._talking = False
        self._key_talking = False
        self._has_frame = False
        self._shown_level = 0.0
        self._target_level = 0.0
        self._last_sources = ("", "")
        self._holding_sources = False

        # header: state on the left, what is being captured on the right
        self.state_dot = QLabel()
        self.state_dot.setFixedSize(12, 12)
        self.state_text = QLabel()
        self.capture_indicator = QLabel()
        self.capture_indicator.setStyleSheet(f"color: {CAPTURE_COLOUR}; font-weight: bold;")
        self.capture_indicator.setToolTip("Capturing now")
        self.capture_indicator.hide()
        header = QHBoxLayout()
        header.addWidget(self.state_dot)
        header.addWidget(self.state_text)
        header.addStretch(1)
        header.addWidget(self.capture_indicator)

        self.preview = QLabel(NO_CAMERA_TEXT)
        self.preview.setFixedSize(preview_size)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setWordWrap(True)
        self.preview.setStyleSheet("background: #202124; color: #e8eaed;")

        self.level_meter = QProgressBar()
        self.level_meter.setRange(0, 1000)
        self.level_meter.setTextVisible(False)
        self.level_meter.setFixedHeight(10)
        self.level_meter.setToolTip("Microphone level")
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(METER_TICK_MS)
        self._meter_timer.timeout.connect(self._decay_level)
        meter_row = QHBoxLayout()
        meter_row.addWidget(QLabel("Mic"))
        meter_row.addWidget(self.level_meter, 1)

        self.camera_combo = SourceCombo(CAMERA, lambda: self.choose_video_file())
        self.microphone_combo = SourceCombo(MICROPHONE, lambda: self.choose_audio_file())
        self.camera_combo.choice_changed.connect(self._on_camera_changed)
        self.microphone_combo.choice_changed.connect(self._on_microphone_changed)
        sources = QFormLayout()
        sources.addRow("Camera", self.camera_combo)
        sources.addRow("Microphone", self.microphone_combo)

        self.camera_notice, self.camera_notice_text = self._notice(self.camera_combo)
        self.microphone_notice, self.microphone_notice_text = self._notice(self.microphone_combo)

        self.live_button = QPushButton("Start live")
        self.live_button.setCheckable(True)
        self.live_button.setToolTip("Watch the camera and listen to the microphone")
        self.live_button.toggled.connect(self._on_live_toggled)
        self.talk_button = QPushButton("Hold to talk (space)")
        self.talk_button.setToolTip("Press and hold while you speak")
        self.talk_button.pressed.connect(lambda: self._talk(True))
        self.talk_button.released.connect(lambda: self._talk(False))
        buttons = QHBoxLayout()
        buttons.addWidget(self.live_button)
        buttons.addWidget(self.talk_button, 1)

        # real eyes: boxes on the preview, and changes said aloud (from the next live start)
        self._detections: tuple[dict, ...] = ()
        self.boxes_check = QCheckBox("Show what it sees")
        self.boxes_check.setToolTip("Draw the objects it recognises on the camera preview")
        self.narrate_check = QCheckBox("Say what changes")
        self.narrate_check.setToolTip("Speak when someone or something comes into or leaves the view "
                                      "(from the next Start live)")
        eyes = QHBoxLayout()
        eyes.addWidget(self.boxes_check)
        eyes.addWidget(self.narrate_check)
        eyes.addStretch(1)
        self.scene_caption = QLabel()
        self.scene_caption.setWordWrap(True)
        self.scene_caption.setToolTip("The last change it saw")

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(meter_row)
        layout.addLayout(sources)
        layout.addWidget(self.camera_notice)
        layout.addWidget(self.microphone_notice)
        layout.addLayout(buttons)
        layout.addLayout(eyes)
        layout.addWidget(self.scene_caption)
        layout.addStretch(1)
        self.set_state("idle")
        self._last_sources = (self.camera_choice(), self.microphone_choice())

    def _notice(self, combo: SourceCombo) -> tuple[QWidget, QLabel]:
        """A hidden row saying a source is unavailable, with a button to choose a file instead."""
        row = QWidget()
        text = QLabel()
        text.setWordWrap(True)
        text.setStyleSheet(f"color: {CAPTURE_COLOUR};")
        button = QPushButton(combo.file_entry)
        button.clicked.connect(combo.choose_file)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(text, 1)
        layout.addWidget(button)
        row.hide()
        return row, text

    # the file dialogs (tests replace these) --------------------------------------------------------

    def choose_video_file(self) -> str | None:
        """Ask for a video file to stand in for the camera; None when cancelled."""
        return ask_for_video_file(self)

    def choose_audio_file(self) -> str | None:
        """Ask for an audio file to stand in for the microphone; None when cancelled."""
        return ask_for_audio_file(self)

    # camera preview --------------------------------------------------------------------------------

    def set_frame(self, pixels: np.ndarray) -> None:
        """Show an H×W×3 uint8 RGB frame, scaled to fit the preview and keeping its aspect."""
        if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"a frame is an H×W×3 uint8 RGB array, got {getattr(pixels, 'shape', None)} "
                             f"{getattr(pixels, 'dtype', type(pixels).__name__)}")
        height, width = pixels.shape[:2]
        if height == 0 or width == 0:
            raise ValueError(f"a frame needs pixels, got shape {pixels.shape}")
        pixels = np.ascontiguousarray(pixels)
        image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        pixmap = QPixmap.fromImage(image).scaled(self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation)
        if self.boxes_check.isChecked() and self._detections:
            self._draw_boxes(pixmap)
        self.preview.setPixmap(pixmap)  # fromImage copies, so the array may change after this
        self._has_frame = True
        self.camera_notice.hide()

    def set_detections(self, detections: tuple[dict, ...]) -> None:
        """What perception saw in the latest sampled frame (label, score, box as frame fractions);
        drawn on the frames that follow while "Show what it sees" is on."""
        self._detections = tuple(detections)

    def set_caption(self, text: str) -> None:
        """The last change seen ("A person came in, on the left.")."""
        self.scene_caption.setText(text)

    def _draw_boxes(self, pixmap: QPixmap) -> None:
        painter = QPainter(pixmap)
        width, height = pixmap.width(), pixmap.height()
        metrics = painter.fontMetrics()
        for detection in self._detections:
            left, top, right, bottom = detection["box"]
            x, y = round(left * width), round(top * height)
            painter.setPen(QPen(QColor(BOX_COLOUR), 2))
            painter.drawRect(x, y, round((right - left) * width), round((bottom - top) * height))
            label = f"{detection['label']} {float(detection['score']):.0%}"
            tag = metrics.boundingRect(label).adjusted(-3, -1, 3, 1)
            tag.moveTopLeft(QPoint(x, max(0, y - tag.height()) if y >= tag.height() else y))
            painter.fillRect(tag, QColor(BOX_COLOUR))
            painter.setPen(QColor("#000000"))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)
        painter.end()

    def clear_frame(self, text: str = NO_CAMERA_TEXT) -> None:
        """Drop the frame shown and say ``text`` instead."""
        self.preview.clear()
        self.preview.setText(text)
        self._has_frame = False

    def has_frame(self) -> bool:
        """Whether the preview shows a frame (not the placeholder text)."""
        return self._has_frame

    # microphone meter ------------------------------------------------------------------------------

    def set_level(self, rms: float) -> None:
        """Show a microphone RMS level (0..1): the meter jumps up to it and falls back gently."""
        fraction = meter_fraction(float(rms))
        self._target_level = fraction
        if fraction >= self._shown_level:
            self._shown_level = fraction
            self.level_meter.setValue(round(fraction * 1000))
        if self._shown_level > self._target_level and not self._meter_timer.isActive():
            self._meter_timer.start()

    def _decay_level(self) -> None:
        self._shown_level = max(self._target_level, self._shown_level - METER_DECAY_PER_TICK)
        if self._shown_level <= self._target_level:
            self._meter_timer.stop()
        self.level_meter.setValue(round(self._shown_level * 1000))

    def level(self) -> float:
        """How full the meter is now, 0..1."""
        return self._shown_level

    # sources ---------------------------------------------------------------------------------------

    def set_sources(self, cameras: list[str], microphones: list[str]) -> None:
        """Offer these cameras (index strings) and microphones (names); the present choices are kept."""
        self._holding_sources = True
        try:
            self.camera_combo.set_sources(cameras)
            self.microphone_combo.set_sources(microphones)
        finally:
            self._holding_sources = False
        self._emit_sources()

    def set_choices(self, camera: str, microphone: str) -> None:
        """Select these specs (from the settings), adding any that are not offered."""
        self._holding_sources = True
        try:
            self.camera_combo.set_choice(camera)
            self.microphone_combo.set_choice(microphone)
        finally:
            self._holding_sources = False
        self._emit_sources()

    def camera_choice(self) -> str:
        """The chosen camera: an index string, a video file path, or "" for none."""
        return self.camera_combo.choice()

    def microphone_choice(self) -> str:
        """The chosen microphone: "default", an index string, a device name, an audio file path, or "" for none."""
        return self.microphone_combo.choice()

    def _on_camera_changed(self, _choice: str) -> None:
        self.camera_notice.hide()
        self._emit_sources()

    def _on_microphone_changed(self, _choice: str) -> None:
        self.microphone_notice.hide()
        self._emit_sources()

    def _emit_sources(self) -> None:
        """Emit ``sources_changed`` once per change of the pair (not for each half of `set_choices`)."""
        if self._holding_sources:
            return
        sources = (self.camera_choice(), self.microphone_choice())
        if sources != self._last_sources:
            self._last_sources = sources
            self.sources_changed.emit(*sources)

    def set_unavailable(self, source: str, reason: str) -> None:
        """Say that ``source`` ("camera" or "microphone") cannot be used and why, and offer a file instead."""
        if source == CAMERA:
            message = f"No camera: {reason}"
            self.clear_frame(f"{message}\nChoose a video file instead.")
            self.camera_notice_text.setText(message)
            self.camera_notice.show()
        elif source == MICROPHONE:
            self.microphone_notice_text.setText(f"No microphone: {reason}")
            self.microphone_notice.show()
        else:
            raise ValueError(f"a source is {CAMERA!r} or {MICROPHONE!r}, not {source!r}")

    def clear_unavailable(self, source: str) -> None:
        """Hide what `set_unavailable` said about ``source``."""
        {CAMERA: self.camera_notice, MICROPHONE: self.microphone_notice}[source].hide()

    # state and capture indicators ------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        """Show the assistant's state: "idle", "listening", "thinking" or "speaking"."""
        if state not in STATES:
            raise ValueError(f"a state is one of {', '.join(STATES)}, not {state!r}")
        text, colour = STATES[state]
        self._state = state
        self.state_text.setText(text)
        self.state_dot.setStyleSheet(f"background: {colour}; border-radius: 6px;")

    def state(self) -> str:
        """The state shown."""
        return self._state

    def set_capturing(self, camera: bool, microphone: bool) -> None:
        """Show (in red) which of camera and microphone are capturing now; hidden when neither is."""
        parts = [name for name, on in (("● camera", camera), ("● mic", microphone)) if on]
        self.capture_indicator.setText("  ".join(parts))
        self.capture_indicator.setAccessibleName("Capturing: " + " and ".join(p[2:] for p in parts))
        self.capture_indicator.setVisible(bool(parts))

    # live and push-to-talk -------------------------------------------------------------------------

    def set_live(self, on: bool) -> None:
        """Show live mode on or off (say, after capture failed) without emitting ``live_toggled``."""
        self.live_button.blockSignals(True)
        try:
            self.live_button.setChecked(on)
        finally:
            self.live_button.blockSignals(False)
        self._label_live(on)

    def is_live(self) -> bool:
        """Whether the live toggle is on."""
        return self.live_button.isChecked()

    def _on_live_toggled(self, on: bool) -> None:
        self._label_live(on)
        self.live_toggled.emit(on)

    def _label_live(self, on: bool) -> None:
        self.live_button.setText("Stop live" if on else "Start live")

    def _talk(self, on: bool) -> None:
        """Emit ``push_to_talk`` once per press and once per release, whichever of button and key did it."""
        if on != self._talking:
            self._talking = on
            self.push_to_talk.emit(on)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._key_talking = True
                self.talk_button.setDown(True)
                self._talk(True)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._key_talking = False
                self.talk_button.setDown(False)
                self._talk(False)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        """Losing focus while the space bar is held ends the push-to-talk: no key release will come."""
        if self._key_talking:
            self._key_talking = False
            self.talk_button.setDown(False)
            self._talk(False)
        super().focusOutEvent(event)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(max(hint.width(), self.preview.width() + 24), hint.height())

