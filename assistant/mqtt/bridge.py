"""The MQTT bridge: subscribes to device requests, runs them through the engine, publishes the replies.

Topics (prefix configurable): requests on `<prefix>/<device>/request` (JSON) and
`<prefix>/<device>/request/<modality>` (raw media); replies to the MQTT 5 response topic with the
correlation data echoed, else to `<prefix>/<device>/reply`; the latest generated image and sound, retained,
on `<prefix>/<device>/image` and `<prefix>/<device>/audio`; availability, retained, on `<prefix>/status`
(`online` / `offline`). With Home Assistant discovery on, also questions from its "Ask" entity on
`<prefix>/<node>/ask`, and its birth message on `homeassistant/status` (discovery is published again).

Other front-ends in the same process show their answers' media here too (`show_media`: the Wyoming server's
images go to `<prefix>/wyoming/image`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from models import InputError, encode_png, encode_wav

from ..engine import Engine
from ..frames import ErrorEvent, FinalText, MediaOutput, Turn, new_id
from ..turn_inputs import prepare_inputs
from .discovery import (
    DISCOVERY_PREFIX,
    ONLINE,
    ask_topic,
    birth_topic,
    discovery_messages,
    last_text_message,
    object_id,
    removal_messages,
)
from .replies import error_payload, reply_payload
from .requests import (
    DEFAULT_MAX_MEDIA,
    DEFAULT_MAX_PAYLOAD,
    MqttRequest,
    RequestError,
    parse_raw_media,
    parse_request,
    request_id_of,
)

log = logging.getLogger(__name__)
VERSION = "0.1.0"
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
PUBLISH_BATCH = 64  # replies in flight to the broker at once
INLINE_PARSE_BYTES = 64 * 1024  # smaller requests are parsed on the loop; larger (media) on a thread
MAX_ASK_CHARS = 4096  # a question from the "Ask" entity (Home Assistant's own text entity stops at 255)
ASK_DEVICE = "ask"  # media the "Ask" entity's answers make show under this device's topics


@dataclass
class BridgeConfig:
    """Where the broker is, how to log in, and what the bridge accepts from devices."""

    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "nextgpt"
    client_id: str | None = None
    username: str | None = None
    password: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    allow_devices: set[str] | None = None  # None: every device may ask
    max_payload: int = DEFAULT_MAX_PAYLOAD
    max_media: int = DEFAULT_MAX_MEDIA
    rate_per_minute: int = 30  # requests per device per rolling minute
    share_group: str | None = None  # MQTT 5 shared subscription: bridges in one group split the devices' requests
    session_expiry_s: int = 86_400  # the broker keeps our session (and queues requests) this long while we are away
    discovery: bool = False  # Home Assistant MQTT discovery: status, last answer, each device's last image

    def identifier(self) -> str:
        """A stable client id: the broker finds our persistent session under it after a restart."""
        if self.client_id:
            return self.client_id
        return "nextgpt-bridge-" + re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40]

    def __repr__(self) -> str:  # credentials never reach a log line
        return f"BridgeConfig(host={self.host!r}, port={self.port}, prefix={self.prefix!r})"


@dataclass(frozen=True)
class Outgoing:
    """One message waiting in the outbox: published once the broker is there."""

    topic: str
    payload: bytes
    retain: bool = False
    correlation: bytes | None = None


@dataclass(frozen=True)
class ReplyAddress:
    """Where one request's replies go: a topic, and the MQTT 5 correlation data to echo (if any)."""

    topic: str
    correlation: bytes | None = None


def read_password_file(path: str | Path) -> str:
    """The broker password kept in `path`: the file's text less its line ending (spaces are part
    of a password, so they stay). Raises InputError saying what could not be read."""
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the MQTT password file {path}: {error}") from None


class RateLimiter:
    """At most `per_minute` events per key in any rolling 60 seconds. Keys idle for a minute are
    forgotten, and at most `max_keys` are kept (the longest idle go first), so a flood of made-up
    device ids cannot grow memory without bound."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()  # least recently active first

    def __len__(self) -> int:
        return len(self._seen)

    def allow(self, key: str) -> bool:
        now = self._clock()
        while self._seen:  # forget whoever has been quiet for a minute
            oldest = next(iter(self._seen.values()))
            if oldest and now - oldest[-1] < 60.0:
                break
            self._seen.popitem(last=False)
        seen = self._seen.setdefault(key, deque())
        self._seen.move_to_end(key)
        while seen and now - seen[0] >= 60.0:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return False
        seen.append(now)
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return True


def _correlated(correlation: bytes | None) -> Properties | None:
    if correlation is None:
        return None
    properties = Properties(PacketTypes.PUBLISH)
    properties.CorrelationData = correlation
    return properties


def no_delay(client: aiomqtt.Client) -> None:
    """Turns Nagle's algorithm off on the client's socket: MQTT messages are small, and with it each
    QoS 1 round trip waited for the peer's delayed ACK (docs/mqtt.md)."""
    sock = client._client.socket()  # aiomqtt keeps the paho client, whose socket() is public
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect(config: BridgeConfig) -> aiomqtt.Client:
    """The bridge's MQTT 5 client: TLS when asked, a persistent session, and `offline` as its last will."""
    tls = None
    if config.tls_ca or config.tls_cert or config.tls_key:
        tls = aiomqtt.TLSParameters(ca_certs=config.tls_ca, certfile=config.tls_cert, keyfile=config.tls_key)
    session = Properties(PacketTypes.CONNECT)
    session.SessionExpiryInterval = config.session_expiry_s
    return aiomqtt.Client(
        config.host, config.port, username=config.username, password=config.password,
        identifier=config.identifier(), protocol=aiomqtt.ProtocolVersion.V5, tls_params=tls, clean_start=False,
        properties=session, will=aiomqtt.Will(f"{config.prefix.strip('/')}/status", b"offline", qos=1, retain=True),
    )


async def remove_discovery(config: BridgeConfig) -> None:
    """Removes the assistant from Home Assistant: empty retained configs (and last answer); serves nothing."""
    prefix, node_id = config.prefix.strip("/"), object_id(config.identifier())
    async with connect(config) as client:
        for topic, payload, retain in removal_messages(prefix, node_id):
            await client.publish(topic, payload, qos=1, retain=retain)
        await client.publish(last_text_message(prefix, node_id, "")[0], b"", qos=1, retain=True)


class MqttBridge:
    """Connects the engine to an MQTT broker; `run(stop)` serves until `stop` is set, reconnecting."""

    def __init__(self, engine: Engine, model: Any, config: BridgeConfig) -> None:
        self.engine = engine
        self.model = model
        self.config = config
        self.prefix = config.prefix.strip("/")
        self.status_topic = f"{self.prefix}/status"
        self._limiter = RateLimiter(config.rate_per_minute)
        self._tasks: set[asyncio.Task[None]] = set()
        self._outbox: deque[Outgoing] = deque()  # replies survive a lost connection and go out on reconnect
        self._outbox_ready = asyncio.Event()
        self.handled = 0  # requests this bridge answered (shared subscriptions split them)
        self.node_id = object_id(config.identifier())
        self.ask_topic = ask_topic(self.prefix, self.node_id)
        self.birth_topic = birth_topic(DISCOVERY_PREFIX)
        self._devices: set[str] = set(config.allow_devices or ())  # exposed to Home Assistant
        self.connected = asyncio.Event()  # set while subscribed and serving (tests wait on it)

    # connection ---------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Serves until `stop` is set; reconnects with backoff (1 s doubling to 30 s) when the broker goes."""
        backoff = BACKOFF_START_S
        while not stop.is_set():
            try:
                async with connect(self.config) as client:
                    log.info("connected to MQTT broker %s:%s", self.config.host, self.config.port)
                    backoff = BACKOFF_START_S
                    await self._serve(client, stop)
                    await client.publish(self.status_topic, b"offline", qos=1, retain=True)
                    log.info("MQTT bridge stopped")
                    return
            except aiomqtt.MqttError as error:  # requests in flight carry on; their replies wait in the outbox
                self.connected.clear()
                log.warning("MQTT broker %s:%s unreachable (%s); retrying in %g s",
                            self.config.host, self.config.port, error, backoff)
            try:
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            except TimeoutError:
                pass
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _serve(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        no_delay(client)
        share = f"$share/{self.config.share_group}/" if self.config.share_group else ""
        await client.subscribe(f"{share}{self.prefix}/+/request", qos=1)
        await client.subscribe(f"{share}{self.prefix}/+/request/+", qos=1)
        if self.config.discovery:  # this bridge's own: not shared
            await client.subscribe(self.ask_topic, qos=1)
            await client.subscribe(self.birth_topic, qos=1)
        # online once the broker acknowledged the subscriptions: a request sent on "online" is heard
        await client.publish(self.status_topic, b"online", qos=1, retain=True)
        self._announce()
        self.connected.set()
        workers = {asyncio.create_task(self._receive(client)), asyncio.create_task(self._drain(client))}
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({*workers, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            self.connected.clear()
        if any(worker.done() for worker in workers):  # the connection ended: run() reconnects
            for worker in workers:
                worker.cancel()
            outcomes = await asyncio.gather(*workers, return_exceptions=True)
            errors = [o for o in outcomes if isinstance(o, aiomqtt.MqttError)]
            raise errors[0] if errors else aiomqtt.MqttError("the message stream ended")
        await self._cancel_tasks()
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await self._drain_once(client)  # what the cancelled turns said last (interruptions) goes out

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            task = asyncio.create_task(self._handle_safely(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Publishes the outbox in order for as long as the connection lasts."""
        while True:
            await self._drain_once(client)
            self._outbox_ready.clear()
            await self._outbox_ready.wait()

    async def _drain_once(self, client: aiomqtt.Client) -> None:
        """Publishes the outbox in pipelined batches (paho sends them in call order, so each request's
        events stay in order); a batch leaves the outbox only once the broker acknowledged all of it."""
        while self._outbox:
            batch = [self._outbox[i] for i in range(min(PUBLISH_BATCH, len(self._outbox)))]
            await asyncio.gather(*(client.publish(item.topic, item.payload, qos=1, retain=item.retain,
                                                  properties=_correlated(item.correlation)) for item in batch))
            for _ in batch:
                self._outbox.popleft()

    async def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # one message --------------------------------------------------------------------------------

    async def _handle_safely(self, message: aiomqtt.Message) -> None:
        """Handles one message; nothing in it can end the bridge."""
        try:
            await self._handle(message)
        except asyncio.CancelledError:
            raise
        except aiomqtt.MqttError as error:
            log.warning("could not publish a reply on %s: %s", message.topic, error)
        except Exception:
            log.exception("handling a message on %s failed", message.topic)

    async def _handle(self, message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        if self.config.discovery and topic == self.birth_topic:
            if message.payload == ONLINE.encode():  # Home Assistant (re)started: tell it about us again
                log.info("Home Assistant is online; publishing the discovery config again")
                self._announce()
            return
        if self.config.discovery and topic == self.ask_topic:
            await self._ask(message.payload)
            return
        parts = topic[len(self.prefix) + 1:].split("/") if topic.startswith(self.prefix + "/") else []
        if len(parts) not in (2, 3) or parts[1] != "request" or not parts[0]:
            log.warning("ignoring a message on unexpected topic %s", topic)
            return
        device = parts[0]
        address = self._reply_address(device, message)
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload or "").encode()

        def refuse(code: str, text: str) -> None:
            log.info("refused a request from %s: %s (%s)", device, code, text)
            request_id = (request_id_of(payload) if len(parts) == 2 and len(payload) <= self.config.max_payload
                          else None) or new_id()
            self._reply(address, error_payload(request_id, code, text))

        if self.config.allow_devices is not None and device not in self.config.allow_devices:
            refuse("unauthorized", f"device {device!r} is not allowed")
            return
        if not self._limiter.allow(device):
            refuse("rate_limited", f"over {self.config.rate_per_minute} requests a minute; try again later")
            return
        if len(parts) == 3:
            parse = partial(parse_raw_media, payload, parts[2], max_payload=self.config.max_payload)
        else:
            parse = partial(parse_request, payload, max_payload=self.config.max_payload,
                            max_media=self.config.max_media)
        try:  # a small request parses faster than a thread hop; media decode off the loop
            request = parse() if len(payload) <= INLINE_PARSE_BYTES else await asyncio.to_thread(parse)
        except RequestError as error:
            refuse(error.code, error.message)
            return
        await self._answer(device, address, request)

    async def _answer(self, device: str, address: ReplyAddress,
                      request: MqttRequest) -> None:
        prepared = await self.engine.run_on_device(prepare_inputs, self.model, request.text, list(request.media))
        turn = Turn(text=prepared.text, media=tuple(prepared.media), want=request.want,
                    conversation_id=request.session, transcript=prepared.transcript)
        log.info("device %s request %s → turn %s", device, request.id, turn.id)
        self.handled += 1
        if device not in self._devices:
            self._devices.add(device)
            self._announce()  # a new device: its last image becomes an entity too
        async for event in self.engine.submit(turn):
            if isinstance(event, FinalText) and self.config.discovery:
                self._last_text(event.text)
            payload = await asyncio.to_thread(reply_payload, event, request.id)
            if payload is not None:
                self._reply(address, payload)
            if isinstance(event, MediaOutput):
                await self.show_media(device, event)

    async def _ask(self, payload: Any) -> None:
        """A question from the "Ask" text entity: the answer goes to "Last answer" (there is no one to reply to)."""
        raw = payload if isinstance(payload, bytes) else str(payload or "").encode()
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            log.warning("ignoring a question on %s that is not UTF-8", self.ask_topic)
            return
        if not text:
            return
        if len(text) > MAX_ASK_CHARS:
            self._last_text(f"(not asked: a question of {len(text)} characters; at most {MAX_ASK_CHARS})")
            return
        if not self._limiter.allow(ASK_DEVICE):
            self._last_text(f"(not asked: over {self.config.rate_per_minute} questions a minute)")
            return
        turn = Turn(text=text)
        log.info("Home Assistant asked → turn %s", turn.id)
        self.handled += 1
        async for event in self.engine.submit(turn):
            if isinstance(event, FinalText):
                self._last_text(event.text)
            elif isinstance(event, ErrorEvent):
                self._last_text(f"(no answer: {event.message})")
            elif isinstance(event, MediaOutput):
                await self.show_media(ASK_DEVICE, event)

    async def show_media(self, device: str, event: MediaOutput) -> None:
        """Publishes the latest image (PNG) or sound (WAV) an answer for `device` made, retained, on
        `<prefix>/<device>/image` or `.../audio`; a device seen for the first time joins Home Assistant's
        image entities. Other front-ends in this process call it too (the Wyoming server's media hook)."""
        if event.modality == "image":
            data = await asyncio.to_thread(encode_png, event.media)
        elif event.modality == "audio":
            data = await asyncio.to_thread(encode_wav, event.media)
        else:  # a video is too large to keep retained on a broker
            return
        self._send(Outgoing(f"{self.prefix}/{device}/{event.modality}", data, retain=True))
        if event.modality == "image" and device not in self._devices:
            self._devices.add(device)
            self._announce()

    def _last_text(self, text: str) -> None:
        if self.config.discovery:
            self._send(Outgoing(*last_text_message(self.prefix, self.node_id, text)[:2], retain=True))

    def _reply_address(self, device: str, message: aiomqtt.Message) -> ReplyAddress:
        properties = message.properties
        response_topic = getattr(properties, "ResponseTopic", None) if properties is not None else None
        if response_topic:
            return ReplyAddress(response_topic, getattr(properties, "CorrelationData", None))
        return ReplyAddress(f"{self.prefix}/{device}/reply")

    def _reply(self, address: ReplyAddress, payload: bytes) -> None:
        """Queues one reply; the outbox publishes it (now, or once the broker is back)."""
        self._send(Outgoing(address.topic, payload, correlation=address.correlation))

    def _announce(self) -> None:
        """(Re)publishes the Home Assistant discovery config, when discovery is on."""
        if self.config.discovery:
            for topic, payload, retain in discovery_messages(self.prefix, self.node_id, sorted(self._devices),
                                                             VERSION):
                self._send(Outgoing(topic, payload, retain=retain))

    def _send(self, item: Outgoing) -> None:
        self._outbox.append(item)
        self._outbox_ready.set()
