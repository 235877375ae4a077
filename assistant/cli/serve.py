"""`serve`: the MQTT bridge as a long-running service; loads the model, then serves until Ctrl-C.

With `--wyoming URI` the Wyoming server runs beside the bridge on the same engine (one model, two
front-ends); the images its answers make then show on the bridge's `<prefix>/wyoming/image` topic.
Its conversations need the history, which serve then opens (`--data`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from models import AnyToAnyModel, InputError

from ..engine import Engine, EngineConfig
from ..history import History, default_data_dir
from ..mqtt import BridgeConfig, MqttBridge, read_password_file
from ..wyoming import WyomingConfig, WyomingServer, check_uri
from .stop_signals import stop_on_signals

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
    wyoming: str | None = None,
    zeroconf: bool = False,
    data: Path | None = None,
) -> int:
    """Serves MQTT requests (and Wyoming clients, with `wyoming`) until Ctrl-C (or SIGTERM); returns the
    exit code. Raises InputError for bad options."""
    host, port = parse_broker(broker)
    if wyoming is not None:
        check_uri(wyoming)
    password = read_password_file(password_file) if password_file is not None else None
    config = BridgeConfig(host=host, port=port, prefix=prefix, client_id=client_id, username=username,
                          password=password, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key,
                          allow_devices=set(allow) if allow else None, share_group=share_group,
                          discovery=discovery)
    if remove_discovery:  # Home Assistant forgets the assistant; nothing is served
        asyncio.run(remove_discovery(config))
        return 0
    wyoming_config = WyomingConfig(uri=wyoming, zeroconf=zeroconf) if wyoming is not None else None
    log.info("loading the %s profile", profile)
    model = AnyToAnyModel.from_profile(profile)
    history = History(data or default_data_dir()) if wyoming_config is not None else None
    try:
        asyncio.run(_serve(model, config, wyoming_config, history))
    except KeyboardInterrupt:
        pass
    finally:
        if history is not None:
            history.close()
    return 0


async def _serve(model: AnyToAnyModel, config: BridgeConfig, wyoming: WyomingConfig | None,
                 history: History | None) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with Engine(model, EngineConfig(max_queued=SERVE_QUEUE), history) as engine:
        await engine.run_on_device(model.load_all)  # the models load before the bridge says it is online
        log.info("serving MQTT requests on %s:%s under %s/ (Ctrl-C stops)", config.host, config.port, config.prefix)
        bridge = MqttBridge(engine, model, config)
        # a second front-end on the same engine, whose answers' media show through the bridge; it starts
        # first, so an address it cannot listen on fails before the bridge says it is online
        server = WyomingServer(engine, wyoming, media_sink=bridge.show_media) if wyoming is not None else None
        if server is not None:
            await server.start()
        try:
            await bridge.run(stop)
        finally:
            if server is not None:
                await server.stop()
