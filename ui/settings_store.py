"""The app's settings: what they are (`Settings`), where they live (`config_path`), and reading and
writing them as TOML (`load_settings`, `save_settings`).

A settings file can never stop the app from starting: a missing file gives the defaults, and a
corrupt file or a value of the wrong type gives the default for what is bad, with a logged warning.
No password is ever stored here, only the path of a file that holds one.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import platformdirs

logger = logging.getLogger(__name__)

APP_NAME = "nextgpt-live"
CONFIG_ENV = "NEXTGPT_CONFIG"
MAX_KEEP_DAYS = 36500  # a hundred years: the most the dialog offers


@dataclass
class MqttSettings:
    """The MQTT bridge to smart-home devices: off by default. The password lives in ``password_file``."""

    enabled: bool = False
    host: str = "localhost"
    port: int = 1883
    username: str = ""
    password_file: str = ""  # a file holding the password; never the password itself
    tls_ca: str = ""  # a CA certificate file; "" means no TLS
    prefix: str = "nextgpt"  # the topic prefix


@dataclass
class Settings:
    """Everything the app remembers between runs."""

    profile: str = "local"
    camera: str = "0"  # a camera index, or a video file path
    microphone: str = "default"  # "default", a device index or name, or an audio file path
    speech: bool = True  # speak replies aloud
    voice: str = "en_US-joe-medium"
    data_folder: str = ""  # "" means the default user data folder
    keep_history_days: int = 0  # 0 = keep forever
    keep_media_days: int = 0  # 0 = keep forever
    welcomed: bool = False  # the first-start card (what works offline) was shown
    mqtt: MqttSettings = field(default_factory=MqttSettings)


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
    settings = _from_table(Settings, data, path, "")
    _check_ranges(settings, path)
    return settings


def _fits(value: object, expected: type) -> bool:
    """Whether a TOML value has the type a field expects (a bool is not an int; an int is a float)."""
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, expected)


def _from_table(cls: type, table: Mapping[str, Any], path: Path, where: str) -> Any:
    """An instance of the dataclass ``cls`` from a TOML table, keeping the default of every bad value."""
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name, value in table.items():
        key = where + name
        if name not in names:
            if name == "password":
                logger.warning("%s: ignoring %s: a password is never read from the settings; put it in a "
                               "file and set password_file", path, key)
            else:
                logger.debug("%s: ignoring unknown setting %s", path, key)
            continue
        expected = hints[name]
        if dataclasses.is_dataclass(expected):
            if isinstance(value, dict):
                values[name] = _from_table(expected, value, path, key + ".")
            else:
                logger.warning("%s: %s should be a table, not %r; using its defaults", path, key, value)
        elif _fits(value, expected):
            values[name] = float(value) if expected is float else value
        else:
            logger.warning("%s: %s should be a %s, not %r; using the default", path, key, expected.__name__, value)
    return cls(**values)


def _check_ranges(settings: Settings, path: Path) -> None:
    """Put back the default of each number that is out of its range."""
    defaults = Settings()
    for name in ("keep_history_days", "keep_media_days"):
        if not 0 <= getattr(settings, name) <= MAX_KEEP_DAYS:
            logger.warning("%s: %s must be 0 (forever) to %d, not %r; using the default", path, name, MAX_KEEP_DAYS,
                           getattr(settings, name))
            setattr(settings, name, getattr(defaults, name))
    if not 1 <= settings.mqtt.port <= 65535:
        logger.warning("%s: mqtt.port must be 1 to 65535, not %r; using the default", path, settings.mqtt.port)
        settings.mqtt.port = defaults.mqtt.port


# writing ------------------------------------------------------------------------------------------


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write ``settings`` to ``path`` (default `config_path()`) atomically; return the path written.

    The text goes to a temporary file beside it, is flushed to disk, then replaces the old file, so a
    crash leaves either the old settings or the new ones, never half of either.
    """
    path = Path(path) if path is not None else config_path()
    text = dumps(dataclasses.asdict(settings))
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


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def dumps(data: Mapping[str, Any]) -> str:
    """TOML text for a table of strings, ints, floats and bools, with at most one level of sub-tables.

    Enough for `Settings`; anything else (lists, dates, deeper tables) raises TypeError.
    """
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for name, table in tables:
        if lines:
            lines.append("")
        lines.append(f"[{_key(name)}]")
        for key, value in table.items():
            if isinstance(value, Mapping):
                raise TypeError(f"dumps writes one level of tables; [{name}] holds the table {key!r}")
            lines.append(f"{_key(key)} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"a TOML key is a string, not {key!r}")
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"dumps writes strings, ints, floats and bools, not {type(value).__name__} ({value!r})")


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"{text!r} holds a lone surrogate, which TOML (UTF-8) cannot store")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
