"""`serve`: the MQTT bridge as a long-running service; loads the model, then serves until Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from pathlib import Path

from models import AnyToAnyModel, InputError

from ..engine import Engine, EngineConfig
from ..mqtt import BridgeConfig, MqttBridge, read_password_file

log = logging.getLogger(__name__)
SERVE_QUEUE = 256  # a fleet's requests wait for the model rather than bounce as busy; beyond this they do


def parse_broker(broker: str) -> tuple[str, int]:
    """`HOST:PORT` (or `HOST`, port 1883) to (host, port); raises InputError when it is not one."""
    host, _, port = broker.rpartition(":") if ":" in broker else (broker, ":", "1883")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--broker must be HOST:PORT, got {broker!r}")
    return host, int(port)


def run_serve(
    broker: str,
    *,
    username: str | None = None,
    password_file: str | Path | None = None,
    tls_ca: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    prefix: str = "nextgpt",
    profile: str = "local",
    allow: Sequence[str] | None = None,
    client_id: str | None = None,
    share_group: str | None = None,
    discovery: bool = False,
    remove_discovery: bool = False,
) -> int:
    """Serves MQTT requests until Ctrl-C (or SIGTERM); returns the exit code. Raises InputError for bad options."""
    host, port = parse_broker(broker)
    password = read_password_file(password_file) if password_file is not None else None
    config = BridgeConfig(host=host, port=port, prefix=prefix, client_id=client_id, username=username,
                          password=password, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key,
                          allow_devices=set(allow) if allow else None, share_group=share_group,
                          discovery=discovery)
    if remove_discovery:  # Home Assistant forgets the assistant; nothing is served
        asyncio.run(remove_discovery(config))
        return 0
    log.info("loading the %s profile", profile)
    model = AnyToAnyModel.from_profile(profile)
    try:
        asyncio.run(_serve(model, config))
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(model: AnyToAnyModel, config: BridgeConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not on this platform / not the main thread
            pass
    async with Engine(model, EngineConfig(max_queued=SERVE_QUEUE)) as engine:
        await engine.run_on_device(model.load_all)  # the models load before the bridge says it is online
        log.info("serving MQTT requests on %s:%s under %s/ (Ctrl-C stops)", config.host, config.port, config.prefix)
        await MqttBridge(engine, model, config).run(stop)
