"""The Wyoming server: Home Assistant's voice pipeline (and any Wyoming client) reaches the engine.

A front-end like the MQTT bridge and the desktop: it turns what clients send into model calls and
turns, submits them to the engine it is given, and sends back what comes out. It offers speech to
text (the profile's Whisper), text to speech (its Piper voice) and the engine as a conversation
agent (`describe.py`). Built on the `wyoming` package: its servers (tcp://, unix://, stdio://) and
its event types; each connection is a `WyomingHandler` that reads within `WyomingLimits`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from urllib.parse import urlparse

from wyoming.info import Info
from wyoming.server import AsyncServer, AsyncTcpServer

from models import InputError

from ..engine import Engine
from .conversation import ConversationAgent, MediaSink
from .describe import describe, program_names
from .handler import WyomingHandler
from .limits import WyomingLimits
from .reader import ProtocolError, shown
from .zeroconf_advert import ZeroconfAdvert

log = logging.getLogger(__name__)
DEFAULT_URI = "tcp://0.0.0.0:10300"


def check_uri(uri: str) -> None:
    """Raises InputError unless `uri` is one the server can listen on: tcp://HOST:PORT or unix://PATH."""
    try:
        parsed = urlparse(uri)
        ok = (parsed.scheme == "tcp" and bool(parsed.hostname) and parsed.port is not None) or \
             (parsed.scheme == "unix" and bool(parsed.path))
    except ValueError:  # a port that is not a number, or out of range
        ok = False
    if not ok:
        raise InputError(f"a Wyoming address must be tcp://HOST:PORT or unix://PATH, got {uri!r}")


@dataclass
class WyomingConfig:
    uri: str = DEFAULT_URI
    limits: WyomingLimits = field(default_factory=WyomingLimits)
    zeroconf: bool = False  # announce the server (mDNS) so Home Assistant discovers it
    zeroconf_name: str | None = None  # the announced name (default: nextgpt-live-HOSTNAME)
    media_source: str = "wyoming"  # the device name its answers' media are shown under (the MQTT image topic)


class WyomingServer:
    """Serves Wyoming clients on the engine's model until stopped. `start` answers `describe` from
    then on; `run(stop)` serves until `stop` is set."""

    def __init__(self, engine: Engine, config: WyomingConfig | None = None,
                 media_sink: MediaSink | None = None) -> None:
        self.engine = engine
        self.config = config or WyomingConfig()
        # where an answer's images and sounds go (the MQTT bridge), if anywhere
        self.agent = ConversationAgent(engine, media_sink, self.config.media_source)
        self.info = Info()
        self.program_names: set[str] = set()
        self.voice_names: set[str] = set()
        self.voice_rate = 0
        self.asr_languages: list[str] = []
        self.connections = 0
        self.idle = asyncio.Event()  # set while no client is connected
        self.idle.set()
        self._server: AsyncServer | None = None
        self._advert: ZeroconfAdvert | None = None

    async def start(self) -> None:
        """Learns what the profile offers (loading its speech models), then listens. Raises InputError
        for a URI it cannot listen on."""
        check_uri(self.config.uri)
        model = self.engine.model
        self.info = await self.engine.run_on_device(describe, model)
        speaker = await self.engine.run_on_device(model.speech_info, "tts")
        self.voice_rate = speaker.rate if speaker is not None else 0
        self.voice_names = {voice.name for program in self.info.tts for voice in program.voices}
        self.program_names = program_names(self.info)
        self.asr_languages = [lang for program in self.info.asr for m in program.models for lang in m.languages]
        try:
            self._server = AsyncServer.from_uri(self.config.uri)
            await self._server.start(lambda reader, writer: WyomingHandler(reader, writer, self))
        except (ValueError, OSError) as error:
            raise InputError(f"cannot serve Wyoming on {self.config.uri}: {error}") from None
        log.info("serving Wyoming on %s (asr: %s, tts: %s, handle: yes)", self.config.uri,
                 bool(self.info.asr), bool(self.info.tts))
        if self.config.zeroconf:
            await self._announce()

    @property
    def port(self) -> int | None:
        """The TCP port it listens on (None before `start`, or on a Unix socket)."""
        return self._server.port if isinstance(self._server, AsyncTcpServer) else None

    async def stop(self) -> None:
        """Stops listening, ends every connection (their engine turns are cancelled) and waits for them."""
        if self._advert is not None:
            await self._advert.close()
            self._advert = None
        if self._server is not None:
            await self._server.stop()
            self._server = None
        try:
            await asyncio.wait_for(self.idle.wait(), 10)
        except TimeoutError:
            log.warning("%d Wyoming connections did not close within 10 s", self.connections)

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    def asr_language(self, language: object) -> str | None:
        """The language a `transcribe` asks for, as the recognizer names it ("en-US" is "en"); None
        for the profile's own. Raises ProtocolError for one it does not hear."""
        if language is None:
            return None
        if not isinstance(language, str):
            raise ProtocolError("bad_event", f"transcribe: \"language\" must be a string, got {shown(language)}")
        for candidate in (language, language.replace("_", "-").split("-")[0]):
            if candidate in self.asr_languages:
                return candidate
        hears = ", ".join(self.asr_languages) or "nothing"
        raise ProtocolError("unsupported_language", f"transcribe: speech recognition hears {hears}, "
                                                    f"not {shown(language)}")

    # connections (the handlers report in) --------------------------------------------------------

    def opened(self, handler: WyomingHandler) -> None:
        self.connections += 1
        self.idle.clear()

    def closed(self, handler: WyomingHandler) -> None:
        self.connections -= 1
        if self.connections == 0:
            self.idle.set()

    async def _announce(self) -> None:
        if not isinstance(self._server, AsyncTcpServer):
            log.warning("zeroconf announces only tcp:// servers; %s is not one", self.config.uri)
            return
        parsed = urlparse(self.config.uri)
        host = parsed.hostname if parsed.hostname not in (None, "0.0.0.0", "::", "") else None
        name = self.config.zeroconf_name or f"nextgpt-live-{socket.gethostname()}"
        advert = ZeroconfAdvert(name, self._server.port, host)
        try:
            await advert.register()
        except OSError as error:  # no network route for mDNS: serve all the same
            log.warning("could not announce the server over zeroconf (%s); add it in Home Assistant by host "
                        "and port", error)
            await advert.close()
            return
        self._advert = advert
