"""Issue 6 figures on loopback with the tiny profile and a real mosquitto: bridge overhead (reply time
minus engine time), malformed-payload rejection rate, 50 devices x 10 requests, and accepted requests
lost across a broker restart. Writes bench/results/mqtt_bridge.json.
Run: `.venv/bin/python -m bench.mqtt_bridge`."""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from assistant.engine import Engine, EngineConfig
from assistant.mqtt import BridgeConfig, MqttBridge
from assistant.mqtt.bridge import no_delay
from bench.result_file import write_result
from models import AnyToAnyModel
from tests.assistant.mqtt_broker import Broker


def device(port: int, v5: bool = False, name: str | None = None, persistent: bool = False) -> aiomqtt.Client:
    identifier = name or f"bench-{uuid.uuid4().hex[:8]}"
    if persistent:  # an MQTT 5 session the broker keeps while the device is away
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        return aiomqtt.Client("127.0.0.1", port, identifier=identifier, protocol=aiomqtt.ProtocolVersion.V5,
                              clean_start=False, properties=properties)
    return aiomqtt.Client("127.0.0.1", port, identifier=identifier,
                          protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311)


async def overhead(port: int, requests: int = 100) -> dict[str, float]:
    """Per request: publish -> `done` at the device, less the engine's own submit -> done time."""
    extra = []
    async with device(port, v5=True) as c:
        no_delay(c)
        topic = f"bench/{uuid.uuid4().hex[:8]}"
        await c.subscribe(topic, qos=1)
        for n in range(requests):
            properties = Properties(PacketTypes.PUBLISH)
            properties.ResponseTopic = topic
            properties.CorrelationData = str(n).encode()
            sent = time.perf_counter()
            await c.publish("nextgpt/lamp/request", json.dumps({"text": "hi", "want": ["text"]}).encode(), qos=1,
                            properties=properties)
            async for message in c.messages:
                reply = json.loads(message.payload)
                if reply["type"] == "done":
                    total = (time.perf_counter() - sent) * 1000
                    extra.append(total - reply["timings_ms"]["engine_total_ms"])
                    break
    ordered = sorted(extra)
    return {"overhead_ms_p50": statistics.median(ordered), "overhead_ms_p99": ordered[int(len(ordered) * 0.99) - 1],
            "overhead_requests": requests}


async def malformed_rate(port: int, count: int = 5000) -> dict[str, float]:
    async with device(port) as c:
        no_delay(c)
        await c.subscribe("nextgpt/fuzz/reply", qos=1)
        started = time.perf_counter()
        for n in range(count):
            await c.publish("nextgpt/fuzz/request", b"{not json " + str(n).encode(), qos=0)
        errors = 0
        async with asyncio.timeout(120):
            async for message in c.messages:
                errors += json.loads(message.payload)["type"] == "error"
                if errors == count:
                    break
        seconds = time.perf_counter() - started
    return {"malformed_per_s": count / seconds, "malformed_sent": count, "malformed_errors": errors}


async def fleet(port: int, devices: int = 50, each: int = 10) -> dict[str, float]:
    async with device(port) as c:
        await c.subscribe("nextgpt/+/reply", qos=1)
        started = time.perf_counter()
        for d in range(devices):
            for n in range(each):
                body = {"id": f"d{d}-{n}", "text": "hello", "want": ["text"]}
                await c.publish(f"nextgpt/sensor{d}/request", json.dumps(body).encode(), qos=1)
        done: set[str] = set()
        async with asyncio.timeout(600):
            async for message in c.messages:
                reply = json.loads(message.payload)
                if reply["type"] in ("done", "error"):
                    done.add(reply["id"])
                    if len(done) == devices * each:
                        break
        seconds = time.perf_counter() - started
    return {"fleet_requests": devices * each, "fleet_answered": len(done), "fleet_lost": devices * each - len(done),
            "fleet_seconds": seconds}


async def restart(broker: Broker, requests: int = 20) -> dict[str, float]:
    """Requests in flight when the broker dies: every accepted one must still be answered."""
    accepted: set[str] = set()
    done: set[str] = set()
    seen: list[tuple[str, str]] = []

    def note(message: aiomqtt.Message) -> None:
        reply = json.loads(message.payload)
        seen.append((reply["id"], reply["type"] if reply["type"] != "error" else f"error:{reply['code']}"))
        (accepted if reply["type"] == "accepted" else done if reply["type"] == "done" else set()).add(reply["id"])

    async def read(c: aiomqtt.Client) -> None:
        async for message in c.messages:
            note(message)

    try:
        async with device(broker.port, name="bench-restart", persistent=True) as c:
            await c.subscribe("nextgpt/door/reply", qos=1)
            for n in range(requests):
                body = {"id": f"r{n}", "text": "hello", "want": ["text", "image"]}
                await c.publish("nextgpt/door/request", json.dumps(body).encode(), qos=1)
            reading = asyncio.create_task(read(c))  # like a real device: reads until the broker goes
            while len(accepted) < requests // 2:
                await asyncio.sleep(0.01)
            broker.stop()  # a graceful restart: the persistent broker keeps both sessions and their queues
            await asyncio.gather(reading, return_exceptions=True)
    except aiomqtt.MqttError:
        pass  # leaving a session whose broker is gone
    broker.start()
    async with device(broker.port, name="bench-restart", persistent=True) as c:
        await c.subscribe("nextgpt/door/reply", qos=1)
        try:
            async with asyncio.timeout(120):
                async for message in c.messages:
                    note(message)
                    if accepted and accepted <= done:
                        break
        except TimeoutError:
            pass
    lost = accepted - done
    return {"restart_accepted": len(accepted), "restart_answered": len(accepted & done),
            "restart_lost": len(lost), "restart_lost_replies": [s for s in seen if s[0] in lost]}


async def main_async() -> dict[str, object]:
    model = AnyToAnyModel.from_profile("tiny")
    model.load_all()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp), persistent=True)
        broker.start()
        try:
            async with Engine(model, EngineConfig(max_queued=1024)) as engine:
                bridge = MqttBridge(engine, model, BridgeConfig(port=broker.port, rate_per_minute=1_000_000,
                                                                client_id="bench-bridge"))
                stop = asyncio.Event()
                serving = asyncio.create_task(bridge.run(stop))
                await asyncio.wait_for(bridge.connected.wait(), 10)
                result: dict[str, object] = {"benchmark": "mqtt_bridge", "profile": "tiny"}
                result.update(await overhead(broker.port))
                result.update(await malformed_rate(broker.port))
                result.update(await fleet(broker.port))
                result.update(await restart(broker))
                stop.set()
                await serving
        finally:
            broker.kill()
    result["goals"] = {"overhead_ms_p50": 5, "overhead_ms_p99": 20, "malformed_per_s": 2000, "fleet_lost": 0,
                       "restart_lost": 0}
    return result


def main() -> None:
    result = asyncio.run(main_async())
    write_result("mqtt_bridge", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
