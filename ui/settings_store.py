"""The app's settings: what they are (`Settings`), where they live (`config_path`), and reading and
writing them as TOML (`load_settings`, `save_settings`).

A settings file can never stop the app from starting: a missing file gives the defaults, and a
corrupt file or a value of the wrong type gives the default for what is bad, with a logged warning.
No password is ever stored here, only the path of a file that holds one.
"""

from __future__ import annotations

import logging
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Literal

import platformdirs
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.wake_word import WAKE_WORDS

logger = logging.getLogger(__name__)

APP_NAME = "nextgpt-live"
CONFIG_ENV = "NEXTGPT_CONFIG"
MAX_KEEP_DAYS = 36500  # a hundred years: the most the dialog offers


class MqttSettings(BaseModel):
    """The MQTT bridge to smart-home devices: off by default. The password lives in ``password_file``."""

    model_config = ConfigDict(strict=True)  # a bool is not an int, "1883" is not a port

    enabled: bool = False
    host: str = "localhost"
    port: int = Field(1883, ge=1, le=65535)
    username: str = ""
    password_file: str = ""  # a file holding the password; never the password itself
    tls_ca: str = ""  # a CA certificate file; "" means no TLS
    prefix: str = "nextgpt"  # the topic prefix


class Settings(BaseModel):
    """Everything the app remembers between runs."""

    model_config = ConfigDict(strict=True)

    profile: str = "local"
    camera: str = "0"  # a camera index, or a video file path
    microphone: str = "default"  # "default", a device index or name, or an audio file path
    speech: bool = True  # speak replies aloud
    headphones: bool = False  # True: no echo cancellation (the microphone cannot hear the speaker)
    wake_word: Literal["", *WAKE_WORDS] = ""  # live sessions answer only after it; "": always listening
    voice: str = "en_US-joe-medium"
    data_folder: str = ""  # "" means the default user data folder
    keep_history_days: int = Field(0, ge=0, le=MAX_KEEP_DAYS)  # 0 = keep forever
    keep_media_days: int = Field(0, ge=0, le=MAX_KEEP_DAYS)  # 0 = keep forever
    welcomed: bool = False  # the first-start card (what works offline) was shown
    mqtt: MqttSettings = Field(default_factory=MqttSettings)


def config_path() -> Path:
    """The settings file: ``$NEXTGPT_CONFIG`` (a file path) if set, else ``settings.toml`` in the user config folder."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "settings.toml"


# reading ------------------------------------------------------------------------------------------


def load_settings(path: Path | None = None) -> Settings:
    """The settings in ``path`` (default `config_path()`); never raises for a bad file.

    A missing file gives the defaults; an unreadable or corrupt one gives the defaults and a warning;
    a value of the wrong type or out of range gives that value's default and a warning; unknown keys
    are ignored.
    """
    path = Path(path) if path is not None else config_path()
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        logger.warning("cannot read the settings file %s (%s); using the default settings", path, exc)
        return Settings()
    for where, table in (("", data), ("mqtt.", data.get("mqtt"))):
        if isinstance(table, dict) and "password" in table:
            logger.warning("%s: ignoring %spassword: a password is never read from the settings; put it in a "
                           "file and set password_file", path, where)
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        for problem in error.errors(include_url=False):  # every bad value at once; each falls back alone
            *tables, name = problem["loc"]
            table = data
            for key in tables:
                table = table[key]
            logger.warning("%s: %s = %r is refused (%s); using the default", path,
                           ".".join(map(str, problem["loc"])), table.pop(name), problem["msg"].lower())
    return Settings.model_validate(data)  # only good values and defaults are left


# writing ------------------------------------------------------------------------------------------


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write ``settings`` to ``path`` (default `config_path()`) atomically; return the path written.

    The text goes to a temporary file beside it, is flushed to disk, then replaces the old file, so a
    crash leaves either the old settings or the new ones, never half of either.
    """
    path = Path(path) if path is not None else config_path()
    text = tomli_w.dumps(settings.model_dump())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable where the platform allows it (POSIX); a no-op elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
