"""Test helpers for the MQTT tests: a real mosquitto child process on free loopback ports, started from a
config file with extra lines (passwords, TLS), and bridges on the tiny model served until the test ends.

The MQTT tests and bench/mqtt_bridge.py share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiomqtt

from assistant.engine import Engine
from assistant.mqtt import BridgeConfig, MqttBridge

log = logging.getLogger(__name__)
MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A mosquitto on 127.0.0.1 with one listener per entry of `listeners` (each entry: that listener's
    extra config lines, e.g. `cafile ...`), plus `options` (global lines, e.g. `allow_anonymous false`)."""

    def __init__(self, folder: Path, listeners: Sequence[str] = ("",), options: str = "allow_anonymous true",
                 persistent: bool = False) -> None:
        self.ports = [free_port() for _ in listeners]
        self.conf = folder / f"mosquitto-{uuid.uuid4().hex[:6]}.conf"
        blocks = [f"listener {port} 127.0.0.1\n{extra.strip()}\n"
                  for port, extra in zip(self.ports, listeners, strict=True)]
        # as root, mosquitto would drop to its own user, which cannot read pytest's private tmp folders
        user = "user root\n" if os.geteuid() == 0 else ""
        store = f"persistence true\npersistence_location {folder}/\n" if persistent else "persistence false\n"
        self.conf.write_text(f"{store}log_dest stdout\nset_tcp_nodelay true\n{user}{options.strip()}\n"
                             + "".join(blocks))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """The first listener's port."""
        return self.ports[0]

    def start(self) -> None:
        """Starts mosquitto and waits until every listener accepts TCP connections."""
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        for port in self.ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        output = self.kill()
                        raise RuntimeError(f"mosquitto did not start:\n{output}") from None
                    time.sleep(0.05)

    def stop(self) -> str:
        """Stops mosquitto gracefully (SIGTERM: a persistent broker saves its sessions); its log output."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        return self.kill()

    def kill(self) -> str:
        """Stops mosquitto at once (SIGKILL); its log output."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.kill()
        output, _ = self.process.communicate()
        self.process = None
        return output.decode(errors="replace")


@contextlib.contextmanager
def running_broker(folder: Path, listeners: Sequence[str] = ("",),
                   options: str = "allow_anonymous true") -> Iterator[Broker]:
    """A started `Broker` (see there); killed on exit."""
    broker = Broker(folder, listeners, options)
    broker.start()
    try:
        yield broker
    finally:
        output = broker.kill()
        log.debug("mosquitto output:\n%s", output)


class Bridges:
    """Bridges on the tiny model with their own engines; `stop_all` stops them and their engines."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.running: list[tuple[asyncio.Event, asyncio.Task[None], Engine, MqttBridge]] = []

    async def start(self, config: BridgeConfig, wait_connected: bool = True) -> MqttBridge:
        """A bridge with `config`, running; waits (10 s at most) until it serves unless told not to."""
        engine = Engine(self.model)
        await engine.start()
        bridge = MqttBridge(engine, self.model, config)
        stop = asyncio.Event()
        task = asyncio.create_task(bridge.run(stop))
        self.running.append((stop, task, engine, bridge))
        if wait_connected:
            await asyncio.wait_for(bridge.connected.wait(), 10)
        return bridge

    def task_of(self, bridge: MqttBridge) -> asyncio.Task[None]:
        return next(task for _, task, _, b in self.running if b is bridge)

    async def stop_all(self) -> None:
        while self.running:
            stop, task, engine, _ = self.running.pop()
            stop.set()
            await asyncio.wait_for(task, 10)
            await engine.close()


@contextlib.asynccontextmanager
async def bridges(model: Any) -> AsyncIterator[Bridges]:
    """`Bridges` on `model`, all stopped on exit."""
    running = Bridges(model)
    try:
        yield running
    finally:
        await running.stop_all()


def client(port: int, v5: bool = True, **options: Any) -> aiomqtt.Client:
    """A test client on 127.0.0.1:`port` (options: username, password, tls_params...)."""
    protocol = aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311
    return aiomqtt.Client("127.0.0.1", port, identifier=f"test-{uuid.uuid4().hex[:8]}", protocol=protocol,
                          **options)


async def ask(port: int, device: str, body: dict[str, Any], timeout: float = 30,
              **options: Any) -> list[dict[str, Any]]:
    """One JSON request over MQTT 3.1.1; its replies from `nextgpt/<device>/reply` until the request ended
    (a `done`, or an error other than `busy`). Options go to the client (username, password, tls_params)."""
    replies: list[dict[str, Any]] = []
    async with client(port, v5=False, **options) as c:
        await c.subscribe(f"nextgpt/{device}/reply", qos=1)
        await c.publish(f"nextgpt/{device}/request", json.dumps(body).encode(), qos=1)
        async with asyncio.timeout(timeout):
            async for message in c.messages:
                reply = json.loads(message.payload)
                replies.append(reply)
                if reply["type"] == "done" or (reply["type"] == "error" and reply["code"] != "busy"):
                    return replies
    return replies
