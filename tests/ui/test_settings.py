"""The settings file (defaults, round trip, bad files, awkward strings) and the settings dialog."""

from __future__ import annotations

import copy
import logging
import tomllib

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from tests.ui.screens import is_blank, save_screenshot
from ui.settings_dialog import SettingsDialog
from ui.settings_store import MqttSettings, Settings, config_path, load_settings, save_settings


def click_check_box(qtbot, box) -> None:
    """Click a check box on its indicator (a stretched box only answers clicks on its indicator and text)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def full_settings() -> Settings:
    """Settings with every field away from its default."""
    return Settings(profile="full", camera="/videos/clip one.mp4", microphone="USB Audio: \"Desk\" mic",
                    speech=False, headphones=True, wake_word="okay_nabu", voice="de_DE-thorsten-high",
                    data_folder="C:\\Users\\me\\next gpt",
                    keep_history_days=30, keep_media_days=7,
                    mqtt=MqttSettings(enabled=True, host="broker.lan", port=8883, username="home",
                                      password_file="/etc/nextgpt/mqtt.pass", tls_ca="/etc/ssl/ca.pem",
                                      prefix="house/nextgpt"))


def test_config_path_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEXTGPT_CONFIG", str(tmp_path / "mine.toml"))
    assert config_path() == tmp_path / "mine.toml"
    monkeypatch.delenv("NEXTGPT_CONFIG")
    assert config_path().name == "settings.toml" and "nextgpt-live" in str(config_path())


def test_defaults_when_there_is_no_file(tmp_path, monkeypatch):
    assert load_settings(tmp_path / "missing.toml") == Settings()
    monkeypatch.setenv("NEXTGPT_CONFIG", str(tmp_path / "also-missing.toml"))
    assert load_settings() == Settings()


def test_save_then_load_gives_back_every_field(tmp_path):
    settings = full_settings()
    path = save_settings(settings, tmp_path / "deep" / "settings.toml")
    assert path == tmp_path / "deep" / "settings.toml"
    assert load_settings(path) == settings
    assert [p.name for p in path.parent.iterdir()] == ["settings.toml"]  # no temporary file left behind
    save_settings(Settings(), path)  # replacing works too
    assert load_settings(path) == Settings()


def test_save_uses_the_config_path_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("NEXTGPT_CONFIG", str(tmp_path / "env.toml"))
    assert save_settings(full_settings()) == tmp_path / "env.toml"
    assert load_settings() == full_settings()


def test_no_password_is_ever_stored_or_read(tmp_path, caplog):
    text = (tmp_path / "s.toml")
    save_settings(full_settings(), text)
    assert "password =" not in text.read_text() and "password_file" in text.read_text()
    text.write_text('[mqtt]\npassword = "hunter2"\nhost = "b"\n')
    with caplog.at_level(logging.WARNING):
        settings = load_settings(text)
    assert settings.mqtt.host == "b" and not hasattr(settings.mqtt, "password")
    assert "password is never read" in caplog.text


@pytest.mark.parametrize("text", [
    "this is = = not toml [",
    "\x00\xff binary",
    'profile = "unterminated\n',
])
def test_a_corrupt_file_gives_the_defaults(tmp_path, caplog, text):
    path = tmp_path / "settings.toml"
    path.write_bytes(text.encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        assert load_settings(path) == Settings()
    assert "using the default settings" in caplog.text


def test_a_folder_in_place_of_the_file_gives_the_defaults(tmp_path):
    assert load_settings(tmp_path) == Settings()


def test_wrong_types_fall_back_one_key_at_a_time(tmp_path, caplog):
    path = tmp_path / "settings.toml"
    path.write_text('profile = "full"\ncamera = 0\nspeech = "yes"\nkeep_history_days = true\nkeep_media_days = -3\n'
                    'voice = "v"\nunknown = 1\n[mqtt]\nport = "1883"\nhost = "h"\nenabled = 1\n[other]\nx = 1\n')
    with caplog.at_level(logging.WARNING):
        settings = load_settings(path)
    expected = Settings(profile="full", voice="v", mqtt=MqttSettings(host="h"))
    assert settings == expected
    for key in ("camera", "speech", "keep_history_days", "keep_media_days", "mqtt.port", "mqtt.enabled"):
        assert key in caplog.text
    assert "unknown" not in caplog.text  # unknown keys are ignored quietly
    path.write_text('mqtt = "not a table"\nport = 1\n[mqtt.deeper]\n')  # redefinition: corrupt
    assert load_settings(path) == Settings()
    path.write_text('mqtt = 5\n')
    assert load_settings(path) == Settings()
    path.write_text('[mqtt]\nport = 70000\n')
    assert load_settings(path).mqtt.port == 1883
    path.write_text('wake_word = "hey_siri"\nheadphones = true\n')  # not a wake word this app has
    with caplog.at_level(logging.WARNING):
        assert load_settings(path) == Settings(headphones=True)
    assert "wake_word" in caplog.text


def test_awkward_strings_survive(tmp_path):
    awkward = 'quote " backslash \\ newline \n tab \t cr \r bell \x07 del \x7f unicode é 🎥 end\\'
    settings = Settings(profile=awkward, voice='"', data_folder="\\\\server\\share\\", camera="\n")
    path = save_settings(settings, tmp_path / "s.toml")
    assert load_settings(path) == settings


def test_a_file_written_by_the_earlier_hand_made_writer_still_loads(tmp_path):
    path = tmp_path / "settings.toml"  # what save_settings wrote before tomli-w, byte for byte
    path.write_text('profile = "full"\ncamera = "/videos/clip one.mp4"\nmicrophone = "USB Audio: \\"Desk\\" mic"\n'
                    'speech = false\nvoice = "de_DE-thorsten-high"\ndata_folder = "C:\\\\Users\\\\me\\\\next gpt"\n'
                    'keep_history_days = 30\nkeep_media_days = 7\nwelcomed = false\n\n[mqtt]\nenabled = true\n'
                    'host = "broker.lan"\nport = 8883\nusername = "home"\npassword_file = "/etc/nextgpt/mqtt.pass"\n'
                    'tls_ca = "/etc/ssl/ca.pem"\nprefix = "house/nextgpt"\n', encoding="utf-8")
    assert load_settings(path) == full_settings().model_copy(update={"headphones": False, "wake_word": ""})


def test_the_file_is_plain_toml_with_the_mqtt_table_last(tmp_path):
    path = save_settings(full_settings(), tmp_path / "s.toml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith('profile = "full"\n') and "\n[mqtt]\nenabled = true\n" in text
    assert tomllib.loads(text) == full_settings().model_dump()


def test_settings_in_code_are_checked_too():
    with pytest.raises(ValueError):
        Settings(keep_history_days=-1)
    with pytest.raises(ValueError):
        MqttSettings(port="1883")


@pytest.fixture
def dialog(qtbot):
    settings = Settings()
    dialog = SettingsDialog(settings, ["local", "tiny", "full"], ["0", "1"], ["USB mic", "Built-in"])
    qtbot.addWidget(dialog)
    dialog.show()  # clicks land where the layout put things
    qtbot.waitExposed(dialog)
    dialog.given = settings
    return dialog


def test_dialog_shows_the_settings_given(qtbot):
    settings = full_settings()
    dialog = SettingsDialog(settings, ["local"], ["0"], ["USB mic"])
    qtbot.addWidget(dialog)
    assert dialog.result_settings() == settings  # unknown profile and missing sources are kept, not lost
    assert dialog.profile_combo.currentText() == "full"
    assert dialog.camera_combo.currentText() == "File: clip one.mp4"


def test_dialog_edits_reach_the_result_and_leave_the_input_alone(dialog, qtbot, tmp_path):
    before = copy.deepcopy(dialog.given)
    dialog.profile_combo.setCurrentText("tiny")
    dialog.camera_combo.setCurrentIndex(dialog.camera_combo.findData("1"))
    dialog.microphone_combo.setCurrentIndex(dialog.microphone_combo.findData("USB mic"))
    click_check_box(qtbot, dialog.speech_check)
    assert not dialog.voice_edit.isEnabled()
    dialog.keep_history_spin.setValue(90)
    assert dialog.keep_media_spin.text() == "forever"
    dialog.choose_data_folder = lambda: str(tmp_path)
    qtbot.mouseClick(dialog.data_folder_edit.parent().findChild(QPushButton),
                     Qt.MouseButton.LeftButton)
    dialog.wake_word_combo.setCurrentIndex(dialog.wake_word_combo.findData("hey_jarvis"))
    dialog.mqtt_check.setChecked(True)
    dialog.mqtt_host.setText("  broker.lan ")
    dialog.mqtt_port.setValue(8883)
    dialog.choose_password_file = lambda: "/run/secrets/mqtt"
    qtbot.mouseClick(dialog.mqtt_password_file.parent().findChild(QPushButton),
                     Qt.MouseButton.LeftButton)

    result = dialog.result_settings()
    assert result == Settings(profile="tiny", camera="1", microphone="USB mic", speech=False,
                              wake_word="hey_jarvis", data_folder=str(tmp_path), keep_history_days=90,
                              mqtt=MqttSettings(enabled=True, host="broker.lan", port=8883,
                                                password_file="/run/secrets/mqtt"))
    assert dialog.given == before and result is not dialog.given


def test_dialog_video_and_audio_file_entries(dialog):
    dialog.choose_video_file = lambda: "/clips/kitchen.mp4"
    dialog.camera_combo.setCurrentIndex(dialog.camera_combo.count() - 1)  # "Video file…"
    assert dialog.result_settings().camera == "/clips/kitchen.mp4"
    assert dialog.camera_combo.currentText() == "File: kitchen.mp4"
    dialog.choose_audio_file = lambda: None  # cancelled: the choice stays
    dialog.microphone_combo.setCurrentIndex(dialog.microphone_combo.count() - 1)
    assert dialog.result_settings().microphone == "default"
    assert dialog.microphone_combo.currentText() == "Default microphone"


def test_mqtt_fields_are_disabled_until_enabled(dialog, qtbot):
    fields = [dialog.mqtt_host, dialog.mqtt_port, dialog.mqtt_username, dialog.mqtt_password_file,
              dialog.mqtt_tls_ca, dialog.mqtt_prefix]
    assert not any(f.isEnabled() for f in fields)
    click_check_box(qtbot, dialog.mqtt_check)
    assert all(f.isEnabled() for f in fields)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.mqtt_host.clear()
    assert not ok.isEnabled() and dialog.error_label.text()
    dialog.mqtt_check.setChecked(False)
    assert ok.isEnabled() and not any(f.isEnabled() for f in fields)


def test_dialog_screenshot(dialog):
    assert not is_blank(save_screenshot(dialog, "settings"))
