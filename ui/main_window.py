"""The main window: conversations on the left, the chat and composer in the middle, the live panel
on the right, the status bar below. Everything it shows arrives from the engine bridge as Qt
signals; nothing here waits for a model."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QSplitter, QVBoxLayout, QWidget

from assistant.frames import (
    DecoderProgress,
    ErrorEvent,
    FinalText,
    Interruption,
    MediaOutput,
    SceneChange,
    SceneSeen,
    SourceStatus,
    SpeechOutput,
    TextDelta,
    Transcript,
    Turn,
    TurnDone,
)

from .chat_view import ChatView
from .composer import Composer
from .engine_bridge import EngineBridge
from .live_panel import LivePanel
from .settings_dialog import SettingsDialog
from .settings_store import Settings, save_settings
from .sidebar import ConversationsSidebar
from .status_bar import AssistantStatusBar

log = logging.getLogger(__name__)
UNTRAINED_NOTE = "made with untrained weights ({}): it shows the pipeline working, not what a trained model makes"


WELCOME = "welcome"  # the turn id of the first-start card


class MainWindow(QMainWindow):
    def __init__(self, bridge: EngineBridge, settings: Settings, settings_path: Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("NExT-GPT Live")
        self.resize(1280, 800)
        self.bridge = bridge
        self.settings = settings
        self.settings_path = settings_path
        self.history = None
        self.conversation_id: str | None = None
        self.running: str | None = None  # the turn being answered
        self._sent_at: dict[str, float] = {}
        self._profiles: list[str] = [settings.profile]
        self._capturing = (False, False)  # (camera, microphone): the privacy indicator shows these

        self.chat = ChatView()
        self.composer = Composer()
        self.live = LivePanel()
        self.sidebar: ConversationsSidebar | None = None
        self.status = AssistantStatusBar()
        self.setStatusBar(self.status)
        self._layout()
        self._menus()

        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.live.live_toggled.connect(self._live_toggled)
        self.live.push_to_talk.connect(self.bridge.push_to_talk)
        bridge.opened.connect(self._history_opened)
        bridge.loading.connect(self.status.set_loading)
        bridge.ready.connect(self._ready)
        bridge.failed.connect(self._failed)
        bridge.event.connect(self.on_event)
        bridge.preview.connect(self.live.set_frame)
        bridge.level.connect(self.live.set_level)
        self.live.set_choices(settings.camera, settings.microphone)

    def _layout(self) -> None:
        self.splitter = QSplitter()
        self.sidebar_slot = QWidget()
        self.sidebar_slot.setLayout(QVBoxLayout())
        self.sidebar_slot.layout().setContentsMargins(0, 0, 0, 0)
        middle = QWidget()
        column = QVBoxLayout(middle)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.chat, 1)
        column.addWidget(self.composer)
        for widget in (self.sidebar_slot, middle, self.live):
            self.splitter.addWidget(widget)
        self.splitter.setSizes([220, 720, 340])
        self.setCentralWidget(self.splitter)

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, shortcut, slot in (("New conversation", QKeySequence.StandardKey.New, self.new_conversation),
                                     ("Settings…", QKeySequence.StandardKey.Preferences, self.open_settings),
                                     ("Quit", QKeySequence.StandardKey.Quit, self.close)):
            action = QAction(text, self)
            action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        view = self.menuBar().addMenu("&View")
        toggle = QAction("Live panel", self, checkable=True, checked=True)
        toggle.toggled.connect(self.live.setVisible)
        view.addAction(toggle)

    # the engine's side ------------------------------------------------------------------------

    def _history_opened(self, history: object) -> None:
        self.history = history
        self.sidebar = ConversationsSidebar(history)
        self.sidebar_slot.layout().addWidget(self.sidebar)
        self.sidebar.conversation_selected.connect(self.show_conversation)
        self.sidebar.conversation_deleted.connect(self._conversation_deleted)

    def _ready(self, info: dict) -> None:
        self._profiles = list(info.get("profiles", self._profiles))
        self.status.set_ready(info)
        if not self.settings.welcomed and info.get("capabilities") and not self.chat.bubbles:
            self.show_welcome(str(info["capabilities"]))

    def show_welcome(self, capabilities: str) -> None:
        """On first start, a card of what works offline and prompts that do (once; remembered)."""
        self.chat.start_reply(WELCOME)
        self.chat.set_final_text(WELCOME, f"**Welcome to NExT-GPT Live.** {capabilities}")
        self.settings.welcomed = True
        try:
            save_settings(self.settings, self.settings_path)
        except OSError as error:  # a read-only config folder: the card shows again next time
            log.warning("could not remember the welcome card: %s", error)

    def _failed(self, message: str) -> None:
        self.status.set_failed(message)
        self.chat.add_error(None, f"The models could not load: {message}")

    def on_event(self, event: object) -> None:
        """Shows one event from the engine (replies) or a live session (speech, turns, sources)."""
        match event:
            case TextDelta(turn_id=turn_id, text=text):
                self.chat.append_text(turn_id, text)
            case FinalText(turn_id=turn_id, text=text):
                self.chat.set_final_text(turn_id, text)
            case DecoderProgress(turn_id=turn_id, modality=modality, step=step, total=total):
                self.chat.show_progress(turn_id, modality, step, total)
            case MediaOutput(turn_id=turn_id, modality=modality, path=path) if path:
                note = UNTRAINED_NOTE.format(", ".join(event.untrained_roles)) if event.untrained_roles else ""
                self.chat.add_media(turn_id, modality, path, note)
            case SpeechOutput(turn_id=turn_id, path=path) if path:
                self.chat.add_media(turn_id, "speech", path)
                self.live.set_state("speaking")
            case Interruption(turn_id=turn_id, reason=reason):
                self.chat.mark_interrupted(turn_id, reason)
            case ErrorEvent(turn_id=turn_id, message=message):
                self.chat.add_error(turn_id, message)
            case TurnDone(turn_id=turn_id):
                self._turn_done(event)
            case Transcript():
                self.live.set_state("thinking" if event.text.strip() else "listening")
            case Turn(id=turn_id, text=text):  # a live turn: the user's words appear as they sent them
                self.chat.add_user_message(turn_id, text, [])
                self.chat.start_reply(turn_id)
                self.running = turn_id
                self._sent_at[turn_id] = time.monotonic()
            case SourceStatus():
                self._source_status(event)
            case SceneSeen(detections=detections):
                self.live.set_detections(detections)
            case SceneChange(text=text):
                self.live.set_caption(text)

    def _turn_done(self, event: TurnDone) -> None:
        if self.running == event.turn_id:
            self.running = None
            self.composer.set_busy(False)
        sent = self._sent_at.pop(event.turn_id, None)
        total = (time.monotonic() - sent) * 1000 if sent is not None else None
        self.status.set_latency(event.timings_ms.get("first_text_ms"), total)
        self.live.set_state("listening" if self.live.is_live() else "idle")
        if self.sidebar is not None:
            self.sidebar.refresh()

    def _source_status(self, status: SourceStatus) -> None:
        if status.source in ("camera", "microphone"):
            if status.state == "unavailable":
                self.live.set_unavailable(status.source, status.detail)
            capturing = status.state == "started"
            camera = capturing if status.source == "camera" else self._capturing[0]
            microphone = capturing if status.source == "microphone" else self._capturing[1]
            self._capturing = (camera, microphone)
            self.live.set_capturing(camera, microphone)
        elif status.source == "live" and status.state in ("ended", "error"):
            self._capturing = (False, False)
            self.live.set_capturing(False, False)
            self.live.set_live(False)
            self.live.set_state("idle")

    # the user's side --------------------------------------------------------------------------

    def send(self, text: str, paths: list, want: object) -> None:
        conversation = self._ensure_conversation()
        turn_id = self.bridge.submit(text, list(paths), want, conversation)
        self.chat.add_user_message(turn_id, text, list(paths))
        self.chat.start_reply(turn_id)
        self.composer.set_busy(True)
        self.running = turn_id
        self._sent_at[turn_id] = time.monotonic()

    def stop(self) -> None:
        if self.running is not None:
            self.bridge.cancel(self.running)

    def _ensure_conversation(self) -> str | None:
        if self.conversation_id is None and self.history is not None:
            self.conversation_id = self.history.new_conversation()
            if self.sidebar is not None:
                self.sidebar.refresh()
                self.sidebar.select(self.conversation_id)
        return self.conversation_id

    def new_conversation(self) -> None:
        self.conversation_id = None
        self.chat.clear()
        if self.sidebar is not None:
            self.sidebar.select(None)

    def show_conversation(self, conversation_id: str) -> None:
        """Shows a stored conversation; new turns continue it."""
        self.conversation_id = conversation_id
        self.chat.clear()
        if self.history is None:
            return
        for turn in self.history.turns(conversation_id):
            inputs = [str(m.path) for m in turn.media if m.role == "input"]
            self.chat.add_user_message(turn.id, turn.transcript or turn.user_text, inputs)
            self.chat.start_reply(turn.id)
            self.chat.set_final_text(turn.id, turn.reply_text)
            for media in (m for m in turn.media if m.role == "output"):
                self.chat.add_media(turn.id, media.modality, str(media.path))
            if turn.status == "interrupted":
                self.chat.mark_interrupted(turn.id)
            elif turn.status == "error":
                self.chat.add_error(turn.id, turn.error or "this answer failed")

    def _conversation_deleted(self, conversation_id: str) -> None:
        if self.conversation_id == conversation_id:
            self.new_conversation()

    def _live_toggled(self, on: bool) -> None:
        if on:
            self.bridge.start_live(self.live.camera_choice(), self.live.microphone_choice(),
                                   self._ensure_conversation(), self.composer.want(),
                                   narrate=self.live.narrate_check.isChecked(),
                                   wake_word=self.settings.wake_word or None)
            self.live.set_state("listening")
        else:
            self.bridge.stop_live()

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self._profiles, [self.settings.camera], [self.settings.microphone],
                                self)
        if dialog.exec():
            self.settings = dialog.result_settings()
            path = save_settings(self.settings, self.settings_path)
            self.live.set_choices(self.settings.camera, self.settings.microphone)
            self.status.showMessage(f"settings saved to {path}; profile, speech and MQTT apply at the next start",
                                    8000)

    def closeEvent(self, event: object) -> None:
        self.bridge.stop_live()
        super().closeEvent(event)
