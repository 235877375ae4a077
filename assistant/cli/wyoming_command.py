"""`wyoming`: the Wyoming server alone, for Home Assistant's voice pipeline; serves until Ctrl-C.

Speech to text, text to speech and the engine as a conversation agent, on one engine with the
history (each Home Assistant conversation continues its own). `serve --wyoming` runs the same
server beside the MQTT bridge, on the bridge's engine.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from models import AnyToAnyModel

from ..engine import Engine, EngineConfig
from ..history import History, default_data_dir
from ..wyoming import WyomingConfig, WyomingServer, check_uri
from .stop_signals import stop_on_signals

log = logging.getLogger(__name__)
WYOMING_QUEUE = 64  # questions waiting for the model before more are told the assistant is busy


def run_wyoming(uri: str, *, profile: str = "local", zeroconf: bool = False, zeroconf_name: str | None = None,
                data: Path | None = None) -> int:
    """Serves Wyoming clients until Ctrl-C (or SIGTERM); returns the exit code. Raises InputError for a
    bad address (before the models load) or one it cannot listen on."""
    check_uri(uri)
    config = WyomingConfig(uri=uri, zeroconf=zeroconf, zeroconf_name=zeroconf_name)
    log.info("loading the %s profile", profile)
    model = AnyToAnyModel.from_profile(profile)
    history = History(data or default_data_dir())
    try:
        asyncio.run(_serve(model, config, history))
    except KeyboardInterrupt:
        pass
    finally:
        history.close()
    return 0


async def _serve(model: AnyToAnyModel, config: WyomingConfig, history: History) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with Engine(model, EngineConfig(max_queued=WYOMING_QUEUE), history) as engine:
        await engine.run_on_device(model.load_all)  # the models load before the server answers
        await WyomingServer(engine, config).run(stop)
