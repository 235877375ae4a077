"""A real sound card loop for tests: a private PulseAudio server whose only sink is a null sink, the
default speaker, and whose monitor is the default microphone, so what the speaker plays comes
straight back in. sounddevice reaches it through ALSA's pulse plugin (Debian: pulseaudio
libasound2-plugins); PortAudio lists devices once, so it is started again around the loop."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SINK = "room"


def _restart_portaudio() -> None:
    import sounddevice

    sounddevice._terminate()
    sounddevice._initialize()


@contextmanager
def pulse_loop(folder: Path) -> Iterator[str]:
    if shutil.which("pulseaudio") is None:
        pytest.skip("no PulseAudio server here (Debian: pulseaudio libasound2-plugins; `make test` installs them)")
    runtime = folder / "pulse-runtime"
    runtime.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime), "PULSE_SINK": SINK, "PULSE_SOURCE": f"{SINK}.monitor"}
    log = (folder / "pulseaudio.log").open("w")
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--load=module-native-protocol-unix",
         f"--load=module-null-sink sink_name={SINK} rate=16000", "--load=module-always-sink"],
        env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    socket = runtime / "pulse" / "native"
    deadline = time.monotonic() + 20
    while not socket.exists():  # the server is up once its socket is
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.skip(f"PulseAudio did not start: {(folder / 'pulseaudio.log').read_text()[-300:]}")
        time.sleep(0.05)
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    _restart_portaudio()
    try:
        yield SINK
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.terminate()
        server.wait(10)
        log.close()
        _restart_portaudio()
