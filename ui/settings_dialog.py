"""`SettingsDialog`: edits a copy of `Settings` in sections (model, devices, speech, MQTT bridge, data)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from assistant.wake_word import WAKE_WORDS
from ui.file_choosers import ask_for_audio_file, ask_for_video_file
from ui.live_panel import CAMERA, MICROPHONE, SourceCombo
from ui.settings_store import MAX_KEEP_DAYS, MqttSettings, Settings

logger = logging.getLogger(__name__)


class SettingsDialog(QDialog):
    """The settings window. The input `Settings` is never changed: after OK, read `result_settings()`.

    The file and folder choosers go through `choose_video_file`, `choose_audio_file`,
    `choose_password_file`, `choose_ca_file` and `choose_data_folder` (None: cancelled), which tests replace.
    """

    def __init__(self, settings: Settings, profiles: list[str], cameras: list[str], microphones: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(480)
        self._original = copy.deepcopy(settings)

        # model
        self.profile_combo = QComboBox()
        offered = [*profiles, settings.profile] if settings.profile else profiles
        self.profile_combo.addItems(list(dict.fromkeys(offered)))
        self.profile_combo.setCurrentText(settings.profile)
        model = self._section("Model", [("Profile", self.profile_combo)])

        # devices
        self.camera_combo = SourceCombo(CAMERA, lambda: self.choose_video_file())
        self.camera_combo.set_sources(cameras, settings.camera)
        self.microphone_combo = SourceCombo(MICROPHONE, lambda: self.choose_audio_file())
        self.microphone_combo.set_sources(microphones, settings.microphone)
        devices = self._section("Devices", [("Camera", self.camera_combo), ("Microphone", self.microphone_combo)])

        # speech
        self.speech_check = QCheckBox("Speak replies aloud")
        self.speech_check.setChecked(settings.speech)
        self.voice_edit = QLineEdit(settings.voice)
        self.voice_edit.setPlaceholderText("a Piper voice, e.g. en_US-joe-medium")
        self.speech_check.toggled.connect(self.voice_edit.setEnabled)
        self.voice_edit.setEnabled(settings.speech)
        self.headphones_check = QCheckBox("Headphones (no echo cancellation)")
        self.headphones_check.setChecked(settings.headphones)
        self.headphones_check.setToolTip("With speakers, the microphone hears the assistant's voice: echo "
                                         "cancellation removes it so it does not answer or interrupt itself. "
                                         "With headphones there is no echo to remove.")
        self.wake_word_combo = QComboBox()
        self.wake_word_combo.addItem("none: always listening", "")
        for name in WAKE_WORDS:
            self.wake_word_combo.addItem(f"\u201c{name.replace('_', ' ')}\u201d", name)
        self.wake_word_combo.setCurrentIndex(self.wake_word_combo.findData(settings.wake_word))
        self.wake_word_combo.setToolTip("Live sessions answer only after this word (microWakeWord, offline); "
                                        "holding to talk works either way.")
        speech = self._section("Speech", [("", self.speech_check), ("Voice", self.voice_edit),
                                          ("", self.headphones_check), ("Wake word", self.wake_word_combo)])

        # MQTT bridge
        mqtt = settings.mqtt
        self.mqtt_check = QCheckBox("Bridge smart-home devices over MQTT")
        self.mqtt_check.setChecked(mqtt.enabled)
        self.mqtt_host = QLineEdit(mqtt.host)
        self.mqtt_port = QSpinBox()
        self.mqtt_port.setRange(1, 65535)
        self.mqtt_port.setValue(mqtt.port)
        self.mqtt_username = QLineEdit(mqtt.username)
        self.mqtt_password_file = QLineEdit(mqtt.password_file)
        self.mqtt_password_file.setPlaceholderText("the file holding the password")
        self.mqtt_password_file.setToolTip("The password is read from this file; it is never stored in the settings.")
        self.mqtt_tls_ca = QLineEdit(mqtt.tls_ca)
        self.mqtt_tls_ca.setPlaceholderText("a CA certificate file; empty for no TLS")
        self.mqtt_prefix = QLineEdit(mqtt.prefix)
        self.mqtt_fields = QWidget()
        form = QFormLayout(self.mqtt_fields)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Host", self.mqtt_host)
        form.addRow("Port", self.mqtt_port)
        form.addRow("Username", self.mqtt_username)
        form.addRow("Password file", self._with_browse(self.mqtt_password_file, lambda: self.choose_password_file()))
        form.addRow("TLS CA file", self._with_browse(self.mqtt_tls_ca, lambda: self.choose_ca_file()))
        form.addRow("Topic prefix", self.mqtt_prefix)
        self.mqtt_check.toggled.connect(self.mqtt_fields.setEnabled)
        self.mqtt_fields.setEnabled(mqtt.enabled)
        bridge = QGroupBox("MQTT bridge")
        bridge_layout = QVBoxLayout(bridge)
        bridge_layout.addWidget(self.mqtt_check)
        bridge_layout.addWidget(self.mqtt_fields)

        # data
        self.data_folder_edit = QLineEdit(settings.data_folder)
        self.data_folder_edit.setPlaceholderText("the default user data folder")
        self.keep_history_spin = self._days(settings.keep_history_days)
        self.keep_media_spin = self._days(settings.keep_media_days)
        data = self._section("Data", [
            ("Data folder", self._with_browse(self.data_folder_edit, lambda: self.choose_data_folder())),
            ("Keep conversations", self.keep_history_spin),
            ("Keep media files", self.keep_media_spin),
        ])

        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #d32f2f;")
        self.error_label.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.mqtt_check.toggled.connect(self._validate)
        self.mqtt_host.textChanged.connect(self._validate)

        layout = QVBoxLayout(self)
        for section in (model, devices, speech, bridge, data):
            layout.addWidget(section)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self._validate()

    @staticmethod
    def _section(title: str, rows: list[tuple[str, QWidget]]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        for label, widget in rows:
            if label:
                form.addRow(label, widget)
            else:
                form.addRow(widget)
        return box

    @staticmethod
    def _days(value: int) -> QSpinBox:
        """A days box where 0 reads "forever"."""
        spin = QSpinBox()
        spin.setRange(0, MAX_KEEP_DAYS)
        spin.setSuffix(" days")
        spin.setSpecialValueText("forever")
        spin.setValue(value)
        return spin

    @staticmethod
    def _with_browse(edit: QLineEdit, choose: Callable[[], str | None]) -> QWidget:
        """``edit`` with a "Browse…" button that fills it from ``choose()`` (None leaves it)."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        button = QPushButton("Browse…")

        def browse() -> None:
            path = choose()
            if path:
                edit.setText(path)

        button.clicked.connect(browse)
        layout.addWidget(button)
        return row

    def _validate(self) -> None:
        """Allow OK only when the settings make sense: an enabled bridge needs a host."""
        problem = "The MQTT bridge needs a host." if self.mqtt_check.isChecked() and not self.mqtt_host.text().strip() \
            else ""
        self.error_label.setText(problem)
        self.error_label.setVisible(bool(problem))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)

    # the file dialogs (tests replace these) --------------------------------------------------------

    def choose_video_file(self) -> str | None:
        """Ask for a video file to stand in for the camera; None when cancelled."""
        return ask_for_video_file(self)

    def choose_audio_file(self) -> str | None:
        """Ask for an audio file to stand in for the microphone; None when cancelled."""
        return ask_for_audio_file(self)

    def choose_password_file(self) -> str | None:
        """Ask for the file that holds the MQTT password; None when cancelled."""
        path, _ = QFileDialog.getOpenFileName(self, "Choose the MQTT password file")
        return path or None

    def choose_ca_file(self) -> str | None:
        """Ask for the MQTT broker's CA certificate; None when cancelled."""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a CA certificate", "",
                                              "Certificates (*.pem *.crt *.cer);;All files (*)")
        return path or None

    def choose_data_folder(self) -> str | None:
        """Ask for the folder that holds history and media; None when cancelled."""
        return QFileDialog.getExistingDirectory(self, "Choose the data folder") or None

    # the result ------------------------------------------------------------------------------------

    def result_settings(self) -> Settings:
        """The settings as edited, as a new object (a source left at "none" keeps the one given)."""
        return Settings(
            profile=self.profile_combo.currentText(),
            camera=self.camera_combo.choice() or self._original.camera,
            microphone=self.microphone_combo.choice() or self._original.microphone,
            speech=self.speech_check.isChecked(),
            headphones=self.headphones_check.isChecked(),
            wake_word=self.wake_word_combo.currentData(),
            voice=self.voice_edit.text().strip(),
            data_folder=self.data_folder_edit.text().strip(),
            keep_history_days=self.keep_history_spin.value(),
            keep_media_days=self.keep_media_spin.value(),
            mqtt=MqttSettings(
                enabled=self.mqtt_check.isChecked(),
                host=self.mqtt_host.text().strip(),
                port=self.mqtt_port.value(),
                username=self.mqtt_username.text().strip(),
                password_file=self.mqtt_password_file.text().strip(),
                tls_ca=self.mqtt_tls_ca.text().strip(),
                prefix=self.mqtt_prefix.text().strip(),
            ),
        )
