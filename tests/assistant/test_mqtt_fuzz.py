"""A hypothesis fuzz of the running bridge over a real mosquitto: 1,000+ payloads (arbitrary bytes, arbitrary
JSON, and almost-valid requests), after which the bridge must still be connected, every reply must be JSON of
a known type, and a good request must still be answered."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from assistant.mqtt import BridgeConfig, RequestError, parse_request
from models import WANTABLE

from .mqtt_broker import bridges, client, running_broker

log = logging.getLogger(__name__)
PAYLOADS = 1100  # hypothesis may skip a few duplicates; at least 1,000 are sent
REPLY_TYPES = {"accepted", "text", "media", "error", "interrupted", "done"}
ERROR_CODES = {"bad_request", "too_large", "unauthorized", "rate_limited", "busy", "timeout", "internal"}
MODALITIES = ["image", "audio", "video", "speech", "text", "smell", "", "IMAGE"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
small_binary = st.binary(max_size=1200)  # base64 under 2 KB
media_data = st.one_of(
    small_binary.map(lambda b: base64.b64encode(b).decode()),  # valid base64, (almost surely) not a medium
    st.text(max_size=200),  # mostly not base64
    json_values,
)
medium = st.fixed_dictionaries(
    {},
    optional={"modality": st.sampled_from(MODALITIES) | st.text(max_size=10) | json_values,
              "mime": st.sampled_from(["image/png", "audio/wav", ""]) | json_values,
              "data": media_data,
              "extra": json_values},
)
want = st.lists(st.sampled_from([*WANTABLE, "smell", ""]) | st.text(max_size=8), max_size=4) | json_values
almost_valid = st.fixed_dictionaries(
    {"media": st.lists(medium | json_values, min_size=1, max_size=5)},  # media always there: few model runs
    optional={"id": st.text(max_size=80) | json_values, "text": st.text(max_size=100) | json_values,
              "want": want, "session": st.text(max_size=150) | json_values, "surprise": json_values},
)


def _nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value] if depth % 2 else {"text": value}
    return value


request_bodies = st.one_of(
    almost_valid.map(lambda d: json.dumps(d).encode()),
    st.tuples(almost_valid, st.integers(1, 12)).map(lambda t: json.dumps(_nested(*t)).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=600),
)
raw_media = st.tuples(st.sampled_from(MODALITIES[:3]) | st.text("abc/+#", min_size=1, max_size=5),
                      st.binary(max_size=1000))
messages = st.one_of(
    request_bodies.map(lambda body: ("", body)),
    raw_media.filter(lambda t: "/" not in t[0] and "+" not in t[0] and "#" not in t[0])
    .map(lambda t: (f"/{t[0]}", t[1])),
)


def generate(count: int) -> list[tuple[str, bytes]]:
    """`count` (or a few fewer, duplicates skipped) fuzz messages: (topic suffix, payload), from hypothesis."""
    drawn: list[tuple[str, bytes]] = []

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(message=messages)
    def collect(message: tuple[str, bytes]) -> None:
        drawn.append(message)

    collect()
    return drawn


async def _good_request_answered(port: int, attempts: int = 20) -> list[dict[str, Any]]:
    """A good request's replies, asked again while the engine is still `busy` with fuzz turns."""
    async with client(port, v5=False) as c:
        await c.subscribe("nextgpt/checker/reply", qos=1)
        for attempt in range(attempts):
            request_id = f"after-fuzz-{attempt}"
            await c.publish("nextgpt/checker/request", json.dumps({"id": request_id, "text": "hi"}).encode(),
                            qos=1)
            replies: list[dict[str, Any]] = []
            async with asyncio.timeout(60):
                async for message in c.messages:
                    reply = json.loads(message.payload)
                    if reply["id"] != request_id:
                        continue
                    replies.append(reply)
                    if reply["type"] == "done" or reply["type"] == "error":
                        break
            if replies[-1].get("code") != "busy":
                return replies
            await asyncio.sleep(1)
    raise AssertionError("the engine stayed busy")


def test_a_non_string_modality_is_a_bad_request():  # the fuzz found it: a TypeError, and no reply at all
    with pytest.raises(RequestError):
        parse_request(json.dumps({"media": [{"modality": {"a": 1}, "data": ""}]}).encode())


@pytest.mark.asyncio
async def test_a_thousand_fuzzed_payloads_leave_the_bridge_serving(tmp_path: Path, tiny_model):
    fuzz = generate(PAYLOADS)
    assert len(fuzz) >= 1000
    received: list[bytes] = []
    with running_broker(tmp_path) as broker:
        async with bridges(tiny_model) as running:
            bridge = await running.start(BridgeConfig(host="127.0.0.1", port=broker.port, rate_per_minute=100_000))
            async with client(broker.port, v5=False) as listener:
                await listener.subscribe("nextgpt/fuzz/reply", qos=1)

                async def listen() -> None:
                    async for message in listener.messages:
                        received.append(message.payload)

                listening = asyncio.create_task(listen())
                async with client(broker.port, v5=False) as sender:
                    for suffix, payload in fuzz:
                        await sender.publish(f"nextgpt/fuzz/request{suffix}", payload, qos=1)
                replies = await _good_request_answered(broker.port)
                count = -1
                while count != len(received):  # until a second without fuzz replies
                    count = len(received)
                    await asyncio.sleep(1)
                listening.cancel()
            assert bridge.connected.is_set() and not running.task_of(bridge).done()
    assert [r["type"] for r in replies] == ["accepted", "text", "done"]
    decoded = [json.loads(payload) for payload in received]
    assert all(isinstance(r, dict) and r.get("type") in REPLY_TYPES for r in decoded)
    assert all(r["code"] in ERROR_CODES for r in decoded if r["type"] == "error")
    assert all(isinstance(r.get("id"), str) and r["id"] for r in decoded)
    ended = [r for r in decoded if r["type"] in ("done", "error")]
    assert len(ended) >= len(fuzz)  # every fuzz request got an answer: refused, or a turn that ended
    kinds: dict[str, int] = {}
    for reply in decoded:
        key = reply["type"] if reply["type"] != "error" else f"error:{reply['code']}"
        kinds[key] = kinds.get(key, 0) + 1
    log.info("%d fuzz payloads, replies by kind: %s", len(fuzz), kinds)
