"""The MQTT bridge against a real mosquitto on a free loopback port, with the tiny model and a real engine:
round trips over MQTT 5 and 3.1.1, media in and out, raw media, malformed requests, allowlist, rate
limit and availability."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import numpy as np
import pytest
import pytest_asyncio
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from PIL import Image

from assistant.engine import Engine
from assistant.frames import FinalText, MediaOutput, SpeechOutput, Turn
from assistant.mqtt import BridgeConfig, MqttBridge, reply_payload
from assistant.mqtt.bridge import remove_discovery
from models.media import AudioData, ImageData, encode_png, read_image
from tests.assistant.mqtt_broker import Broker
from tests.photos import photo

PNG = encode_png(ImageData(np.full((16, 16, 3), 120, np.uint8)))


@pytest.fixture
def mosquitto(tmp_path: Path):
    """The running broker; killed at teardown."""
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture
def broker(mosquitto: Broker) -> int:
    """The broker's port."""
    return mosquitto.port


@pytest_asyncio.fixture
async def serve(broker: int, tiny_model) -> AsyncIterator[Callable[..., Any]]:
    """Starts bridges on the broker (`await serve(**config)`); stops them (and their engines) at teardown."""
    running: list[tuple[asyncio.Event, asyncio.Task[None], Engine]] = []

    async def start(model: Any = None, **options: Any) -> MqttBridge:
        model = model or tiny_model
        engine = Engine(model)
        await engine.start()
        bridge = MqttBridge(engine, model, BridgeConfig(host="127.0.0.1", port=broker, **options))
        stop = asyncio.Event()
        task = asyncio.create_task(bridge.run(stop))
        running.append((stop, task, engine))
        await asyncio.wait_for(bridge.connected.wait(), 10)
        return bridge

    async def stop_all() -> None:
        while running:
            stop, task, engine = running.pop()
            stop.set()
            await asyncio.wait_for(task, 10)
            await engine.close()

    start.stop_all = stop_all  # type: ignore[attr-defined]
    yield start
    await stop_all()


def client(port: int, v5: bool = True) -> aiomqtt.Client:
    protocol = aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311
    return aiomqtt.Client("127.0.0.1", port, identifier=f"test-{uuid.uuid4().hex[:8]}", protocol=protocol)


async def replies_until_end(c: aiomqtt.Client, count: int = 1, timeout: float = 30) -> list[aiomqtt.Message]:
    """Messages until `count` requests ended (a `done`, or an error with no turn behind it)."""
    got: list[aiomqtt.Message] = []
    ended = 0
    async with asyncio.timeout(timeout):
        async for message in c.messages:
            got.append(message)
            reply = json.loads(message.payload)
            if reply["type"] == "done" or (reply["type"] == "error" and reply["code"] != "busy"):
                ended += 1
                if ended == count:
                    return got
    return got


async def ask(port: int, device: str, body: dict[str, Any] | bytes, topic_suffix: str = "") -> list[dict[str, Any]]:
    """One request over MQTT 5 with a response topic; its replies (correlation data checked)."""
    async with client(port) as c:
        response_topic = f"test/{uuid.uuid4().hex[:8]}/replies"
        await c.subscribe(response_topic, qos=1)
        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = response_topic
        properties.CorrelationData = b"corr-42"
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        await c.publish(f"nextgpt/{device}/request{topic_suffix}", payload, qos=1, properties=properties)
        messages = await replies_until_end(c)
    assert all(m.properties.CorrelationData == b"corr-42" for m in messages)
    return [json.loads(m.payload) for m in messages]


@pytest.mark.asyncio
async def test_text_round_trip_over_mqtt5_echoes_correlation(serve, broker):
    await serve()
    replies = await ask(broker, "kitchen", {"id": "q1", "text": "hello"})
    assert [r["type"] for r in replies] == ["accepted", "text", "done"]
    assert all(r["id"] == "q1" for r in replies)
    assert isinstance(replies[1]["text"], str) and replies[-1]["status"] == "done"
    assert replies[-1]["timings_ms"]["model_ms"] > 0


@pytest.mark.asyncio
async def test_mqtt311_client_gets_replies_on_the_reply_topic(serve, broker):
    await serve()
    async with client(broker, v5=False) as c:
        await c.subscribe("nextgpt/hall/reply", qos=1)
        await c.publish("nextgpt/hall/request", json.dumps({"text": "hi"}).encode(), qos=1)
        replies = [json.loads(m.payload) for m in await replies_until_end(c)]
    assert [r["type"] for r in replies] == ["accepted", "text", "done"]
    assert len({r["id"] for r in replies}) == 1 and replies[0]["id"]  # one made-up id for the whole turn


@pytest.mark.asyncio
async def test_image_in_image_out_and_the_retained_latest_image(serve, broker):
    await serve()
    body = {"id": "img", "text": "draw this", "want": ["image"],
            "media": [{"modality": "image", "mime": "image/png", "data": base64.b64encode(PNG).decode()}]}
    replies = await ask(broker, "frame", body)
    media = [r for r in replies if r["type"] == "media"]
    assert [(m["modality"], m["mime"]) for m in media] == [("image", "image/png")]
    png = base64.b64decode(media[0]["data"])
    assert png.startswith(b"\x89PNG") and read_image(png).pixels.ndim == 3
    async with client(broker) as c:
        await c.subscribe("nextgpt/frame/image", qos=1)
        async with asyncio.timeout(5):
            message = await anext(aiter(c.messages))
    assert message.retain and message.payload == png


@pytest.mark.asyncio
async def test_raw_media_topic_asks_for_a_description(serve, broker):
    await serve()
    replies = await ask(broker, "doorbell", PNG, topic_suffix="/image")
    assert [r["type"] for r in replies] == ["accepted", "text", "done"]


@pytest.mark.asyncio
async def test_a_doorbell_snapshot_gets_detections_beside_the_text(serve, broker, seeing_model):
    await serve(model=seeing_model)
    snapshot = (Image.fromarray(photo("astronaut")), io.BytesIO())
    snapshot[0].save(snapshot[1], "JPEG", quality=85)
    replies = await ask(broker, "doorbell", snapshot[1].getvalue(), topic_suffix="/image")
    [text] = [r for r in replies if r["type"] == "text"]
    assert "person" in text["text"]
    person = next(d for d in text["detections"] if d["label"] == "person")
    assert 0.45 <= person["score"] <= 1 and len(person["box"]) == 4
    assert all(0 <= v <= 1 for v in person["box"])


def _media(modality: str, data: str) -> dict[str, Any]:
    return {"text": "x", "media": [{"modality": modality, "mime": "image/png", "data": data}]}


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not json", b"{not json", "bad_request"),
    ("not utf-8", b"\xff\xfe\x00", "bad_request"),
    ("not an object", b"[1, 2]", "bad_request"),
    ("wrong type", json.dumps({"text": 5}).encode(), "bad_request"),
    ("text a list", json.dumps({"text": ["hi"]}).encode(), "bad_request"),
    ("want a number", json.dumps({"text": "hi", "want": 3}).encode(), "bad_request"),
    ("unknown field", json.dumps({"text": "hi", "colour": "red"}).encode(), "bad_request"),
    ("id too long", json.dumps({"id": "x" * 65, "text": "hi"}).encode(), "bad_request"),
    ("bad base64", json.dumps(_media("image", "!!not base64!!")).encode(), "bad_request"),
    ("undecodable media", json.dumps(_media("image", base64.b64encode(b"no image").decode())).encode(),
     "bad_request"),
    ("unknown modality", json.dumps(_media("smell", base64.b64encode(PNG).decode())).encode(), "bad_request"),
    ("unknown want", json.dumps({"text": "hi", "want": ["smell"]}).encode(), "bad_request"),
    ("nothing to answer", json.dumps({"id": "empty"}).encode(), "bad_request"),
    ("too many media", json.dumps({"media": [_media("image", "")["media"][0]] * 5}).encode(), "bad_request"),
    ("too deep", json.dumps({"text": "hi", "session": [[[[[[[[["deep"]]]]]]]]]}).encode(), "bad_request"),
    ("very deep", b"[" * 100_000 + b"]" * 100_000, "bad_request"),
    ("too large", json.dumps({"text": "y" * 300_000}).encode(), "too_large"),
]


@pytest.mark.asyncio
async def test_every_malformed_request_gets_its_error_and_the_bridge_carries_on(serve, broker):
    await serve(max_payload=200_000, rate_per_minute=1000)
    for name, payload, code in MALFORMED:
        replies = await ask(broker, "toaster", payload)
        assert [(r["type"], r["code"]) for r in replies] == [("error", code)], name
    assert (await ask(broker, "toaster", json.dumps({"id": "empty"}).encode()))[0]["id"] == "empty"
    replies = await ask(broker, "toaster", {"id": "after", "text": "still there?"})
    assert [r["type"] for r in replies] == ["accepted", "text", "done"]


@pytest.mark.asyncio
async def test_a_device_outside_the_allowlist_is_unauthorized(serve, broker):
    await serve(allow_devices={"kitchen"})
    refused = await ask(broker, "garage", {"id": "g", "text": "open"})
    assert [(r["type"], r["code"], r["id"]) for r in refused] == [("error", "unauthorized", "g")]
    assert [r["type"] for r in await ask(broker, "kitchen", {"text": "hi"})] == ["accepted", "text", "done"]


@pytest.mark.asyncio
async def test_requests_over_the_rate_are_rate_limited(serve, broker):
    await serve(rate_per_minute=2)
    for _ in range(2):
        assert (await ask(broker, "chatty", {"text": "hi"}))[-1]["type"] == "done"
    refused = await ask(broker, "chatty", {"text": "hi"})
    assert [(r["type"], r["code"]) for r in refused] == [("error", "rate_limited")]
    assert (await ask(broker, "quiet", {"text": "hi"}))[-1]["type"] == "done"  # the limit is per device


async def _retained_status(port: int) -> bytes:
    async with client(port) as c:
        await c.subscribe("nextgpt/status", qos=1)
        async with asyncio.timeout(5):
            message = await anext(aiter(c.messages))
    assert message.retain
    return message.payload


@pytest.mark.asyncio
async def test_availability_is_online_then_offline_after_shutdown(serve, broker):
    await serve()
    assert await _retained_status(broker) == b"online"
    await serve.stop_all()
    assert await _retained_status(broker) == b"offline"


@pytest.mark.asyncio
async def test_the_bridge_survives_its_stream_of_replies_being_dropped(serve, broker):
    """A client that asks and leaves at once: the bridge still answers the next one."""
    await serve()
    async with client(broker) as c:
        await c.publish("nextgpt/ghost/request", json.dumps({"text": "hi"}).encode(), qos=1)
    assert (await ask(broker, "ghost", {"text": "hi"}))[-1]["type"] == "done"


def test_speech_is_a_wav_media_reply():
    """(The tiny model's answers are often empty, so speech is checked on the reply encoder.)"""
    event = SpeechOutput("turn", AudioData(np.zeros(1600, np.float32), 16000), 0, "Hello.")
    reply = json.loads(reply_payload(event, "q9"))
    assert (reply["id"], reply["type"], reply["modality"], reply["mime"]) == ("q9", "media", "speech", "audio/wav")
    assert base64.b64decode(reply["data"]).startswith(b"RIFF")


@pytest.mark.asyncio
async def test_the_bridge_reconnects_when_the_broker_comes_back(serve, mosquitto):
    bridge = await serve()
    mosquitto.kill()
    async with asyncio.timeout(5):
        while bridge.connected.is_set():
            await asyncio.sleep(0.05)
    mosquitto.start()  # same port; the bridge retries after 1 s
    await asyncio.wait_for(bridge.connected.wait(), 10)
    assert await _retained_status(mosquitto.port) == b"online"
    assert (await ask(mosquitto.port, "kitchen", {"text": "back?"}))[-1]["type"] == "done"


# ---- delivery: persistent sessions, broker restarts, shared subscriptions ----


def persistent_client(port: int, name: str) -> aiomqtt.Client:
    """An MQTT 5 device with a persistent session: the broker keeps its subscriptions while it is away."""
    session = Properties(PacketTypes.CONNECT)
    session.SessionExpiryInterval = 3600
    return aiomqtt.Client("127.0.0.1", port, identifier=name, protocol=aiomqtt.ProtocolVersion.V5,
                          clean_start=False, properties=session)


@pytest.mark.asyncio
async def test_requests_sent_while_the_bridge_is_away_are_answered_when_it_returns(serve, broker):
    await serve(client_id="bridge-away")  # the broker learns the bridge's persistent session
    await serve.stop_all()
    async with client(broker, v5=False) as device:
        await device.subscribe("nextgpt/porch/reply", qos=1)
        for n in range(3):  # nobody is serving: the broker queues them in the bridge's session
            await device.publish("nextgpt/porch/request", json.dumps({"id": f"q{n}", "text": "hi"}).encode(), qos=1)
        await serve(client_id="bridge-away")
        replies = [json.loads(m.payload) for m in await replies_until_end(device, count=3)]
    assert sorted(r["id"] for r in replies if r["type"] == "done") == ["q0", "q1", "q2"]


@pytest.mark.asyncio
async def test_a_request_accepted_before_a_broker_restart_is_answered_after_it(
        serve, mosquitto: Broker, tiny_saved_profile: Path):
    from models import AnyToAnyModel
    from tests.clips import slow_video_profile

    slow = AnyToAnyModel.from_profile(slow_video_profile(tiny_saved_profile, steps=60))
    bridge = await serve(model=slow, client_id="bridge-restart")
    replies: list[dict[str, Any]] = []
    async with persistent_client(mosquitto.port, "device-restart") as device:
        await device.subscribe("nextgpt/gate/reply", qos=1)
        await device.publish("nextgpt/gate/request",
                             json.dumps({"id": "slow", "text": "a video", "want": ["video"]}).encode(), qos=1)
        async with asyncio.timeout(30):
            async for message in device.messages:
                replies.append(json.loads(message.payload))
                break  # accepted: the bridge has the request and the decoder is running
    mosquitto.kill()  # the broker dies mid-request
    mosquitto.start()
    async with persistent_client(mosquitto.port, "device-restart") as device:
        await device.subscribe("nextgpt/gate/reply", qos=1)
        replies += [json.loads(m.payload) for m in await replies_until_end(device, timeout=60)]
    assert replies[0]["type"] == "accepted"
    assert [r["type"] for r in replies][-1] == "done" and replies[-1]["status"] == "done"
    assert any(r["type"] == "media" and r["modality"] == "video" for r in replies)
    assert bridge.handled == 1


@pytest.mark.asyncio
async def test_bridges_sharing_a_subscription_split_the_load_without_duplicates(serve, broker):
    first = await serve(client_id="bridge-a", share_group="assistants")
    second = await serve(client_id="bridge-b", share_group="assistants")
    async with client(broker, v5=False) as device:
        await device.subscribe("nextgpt/+/reply", qos=1)
        for n in range(10):
            body = json.dumps({"id": f"r{n}", "text": "hello", "want": ["text"]}).encode()
            await device.publish(f"nextgpt/device{n}/request", body, qos=1)
        replies = [json.loads(m.payload) for m in await replies_until_end(device, count=10, timeout=60)]
    done = [r["id"] for r in replies if r["type"] == "done"]
    assert sorted(done) == sorted(f"r{n}" for n in range(10))  # every request once, none twice
    assert first.handled + second.handled == 10 and first.handled > 0 and second.handled > 0


async def _retained(port: int, topic: str) -> bytes | None:
    """The retained message on `topic`, or None when there is none."""
    async with client(port) as c:
        await c.subscribe(topic, qos=1)
        try:
            async with asyncio.timeout(1.0):
                async for message in c.messages:
                    return message.payload or None
        except TimeoutError:
            return None
    return None


@pytest.mark.asyncio
async def test_home_assistant_discovery_is_announced_kept_current_and_removed(serve, broker):
    bridge = await serve(client_id="hall-assistant", discovery=True)
    replies = await ask(broker, "porch", {"id": "d1", "text": "hello"})
    final = next(r for r in replies if r["type"] == "text")["text"]
    config = json.loads(await _retained(broker, f"homeassistant/device/{bridge.node_id}/config"))
    images = [c for c in config["cmps"].values() if c["p"] == "image"]
    assert [c["image_topic"] for c in images] == ["nextgpt/porch/image"]
    assert config["dev"]["identifiers"] and config["o"]["name"]
    assert (await _retained(broker, f"nextgpt/{bridge.node_id}/last_text") or b"").decode() == final[:255]
    await serve.stop_all()
    await remove_discovery(bridge.config)
    assert await _retained(broker, f"homeassistant/device/{bridge.node_id}/config") is None


@pytest.mark.asyncio
async def test_discovery_is_published_again_when_home_assistant_comes_online(serve, broker):
    bridge = await serve(client_id="reborn", discovery=True)
    topic = f"homeassistant/device/{bridge.node_id}/config"
    async with client(broker) as c:
        await c.subscribe(topic, qos=1)
        async with asyncio.timeout(5):
            retained = await anext(aiter(c.messages))
        assert retained.retain and json.loads(retained.payload)["cmps"]
        await c.publish("homeassistant/status", b"online", qos=1)  # Home Assistant's birth message
        async with asyncio.timeout(5):
            again = await anext(aiter(c.messages))
    assert str(again.topic) == topic and again.payload == retained.payload


@pytest.mark.asyncio
async def test_a_question_from_the_ask_entity_is_answered_in_last_answer(serve, broker, tiny_model):
    bridge = await serve(client_id="asked", discovery=True)
    config = json.loads(await _retained(broker, f"homeassistant/device/{bridge.node_id}/config"))
    [ask] = [c for c in config["cmps"].values() if c["p"] == "text"]
    question = "What can you do?"  # the pipeline answers it itself, so the answer is known
    expected = [e.text async for e in bridge.engine.submit(Turn(text=question)) if isinstance(e, FinalText)][0]
    async with client(broker) as c:
        await c.subscribe(f"nextgpt/{bridge.node_id}/last_text", qos=1)
        await c.publish(ask["command_topic"], question.encode(), qos=1)
        async with asyncio.timeout(30):
            answer = await anext(aiter(c.messages))
    assert expected.startswith("I can") and answer.payload.decode() == expected[:255]


@pytest.mark.asyncio
async def test_media_another_front_end_made_shows_on_its_image_topic(serve, broker):
    bridge = await serve(client_id="shows", discovery=True)
    image = ImageData(np.full((8, 8, 3), 90, np.uint8))
    await bridge.show_media("wyoming", MediaOutput("turn", "image", image))
    async with asyncio.timeout(10):  # the image, then the config naming its entity (published in that order)
        while not (png := await _retained(broker, "nextgpt/wyoming/image")):
            pass
        while "nextgpt/wyoming/image" not in (config := (await _retained(broker, f"homeassistant/device/"
                                                                                  f"{bridge.node_id}/config")).decode()):
            pass
    assert read_image(png).pixels.shape == (8, 8, 3)
    images = [c["image_topic"] for c in json.loads(config)["cmps"].values() if c["p"] == "image"]
    assert images == ["nextgpt/wyoming/image"]


@pytest.mark.asyncio
async def test_two_serve_processes_split_one_fleet_with_no_duplicates(mosquitto: Broker, tiny_saved_profile: Path):
    root = Path(__file__).resolve().parents[2]
    processes = [subprocess.Popen(
        [sys.executable, "main.py", "-v", "serve", "--broker", f"127.0.0.1:{mosquitto.port}", "--profile",
         str(tiny_saved_profile), "--share-group", "fleet", "--client-id", f"serve-{name}"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) for name in ("a", "b")]
    try:
        async with client(mosquitto.port, v5=False) as device:
            await device.subscribe("nextgpt/status", qos=1)
            await device.subscribe("nextgpt/+/reply", qos=1)
            online = 0
            async with asyncio.timeout(120):  # both processes load their models, then say online
                async for message in device.messages:
                    if str(message.topic) == "nextgpt/status" and message.payload == b"online":
                        online += 1
                        if online == 2:
                            break
            # no wait: each process says online only once the broker acknowledged its shared subscriptions
            for n in range(12):
                body = json.dumps({"id": f"f{n}", "text": "hello", "want": ["text"]}).encode()
                await device.publish(f"nextgpt/sensor{n}/request", body, qos=1)
            replies = [json.loads(m.payload) for m in await replies_until_end(device, count=12, timeout=90)]
    finally:
        logs = []
        for process in processes:
            process.terminate()
            logs.append(process.communicate(timeout=30)[0].decode(errors="replace"))
    assert sorted(r["id"] for r in replies if r["type"] == "done") == sorted(f"f{n}" for n in range(12))
    served = [log.count("→ turn") for log in logs]
    assert sum(served) == 12 and all(count > 0 for count in served), served  # split, none answered twice


@pytest.mark.asyncio
async def test_a_killed_serve_process_leaves_offline_by_its_last_will(mosquitto: Broker, tiny_saved_profile: Path):
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "main.py", "serve", "--broker", f"127.0.0.1:{mosquitto.port}",
                                "--profile", str(tiny_saved_profile), "--client-id", "serve-will"],
                               cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with client(mosquitto.port, v5=False) as watcher:
            await watcher.subscribe("nextgpt/status", qos=1)
            statuses = []
            async with asyncio.timeout(120):
                async for message in watcher.messages:
                    statuses.append(message.payload)
                    if statuses[-1] == b"online":
                        process.kill()  # no clean disconnect: only the will can say offline
                    elif statuses[-1] == b"offline" and b"online" in statuses:
                        break
    finally:
        process.kill()
        process.wait()
    assert statuses[-1] == b"offline"
    assert await _retained(mosquitto.port, "nextgpt/status") == b"offline"
