"""`python main.py wyoming` and `serve --wyoming` as the processes a user runs: they serve, announce
themselves over zeroconf, share one engine with the MQTT bridge, and stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from wyoming.asr import Transcript
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

from .mqtt_broker import Broker, ask, client, free_port
from .wyoming_client import read_until

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "main.py", "-v", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def stop(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    """SIGTERM, then its exit code and output."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output = process.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        output = process.communicate()[0]
    return process.returncode, output.decode(errors="replace")


async def until_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    """Waits until the process accepts connections on `port` (its models load first)."""
    async with asyncio.timeout(timeout):
        while True:
            assert process.poll() is None, stop(process)[1]
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            writer.close()
            return


async def _mdns_lookup(name: str) -> tuple[int, list[str]] | None:
    from zeroconf.asyncio import AsyncZeroconf

    zeroconf = AsyncZeroconf(interfaces=["127.0.0.1"])
    try:
        info = await zeroconf.async_get_service_info("_wyoming._tcp.local.", f"{name}._wyoming._tcp.local.",
                                                     timeout=3000)
        return (info.port, info.parsed_addresses()) if info else None
    finally:
        await zeroconf.async_close()


async def _mdns_works_here() -> bool:
    """Whether an mDNS record registered in this process can be looked up over loopback at all."""
    from assistant.wyoming.zeroconf_advert import ZeroconfAdvert

    advert = ZeroconfAdvert("nextgpt-selftest", 9, "127.0.0.1")
    try:
        await advert.register()
        return await _mdns_lookup("nextgpt-selftest") is not None
    except OSError:
        return False
    finally:
        await advert.close()


async def test_the_wyoming_command_serves_announces_itself_and_stops_on_sigterm(tiny_saved_profile: Path,
                                                                                tmp_path: Path):
    mdns = await _mdns_works_here()
    port = free_port()
    process = start("wyoming", "--uri", f"tcp://127.0.0.1:{port}", "--profile", str(tiny_saved_profile),
                    "--data", str(tmp_path / "history"), "--zeroconf", "nextgpt-under-test")
    try:
        await until_listening(port, process)
        async with AsyncTcpClient("127.0.0.1", port) as c:
            await c.write_event(Describe().event())
            info = Info.from_event((await read_until(c, ["info"]))[-1])
            await c.write_event(Transcript(text="What can you do?", context={"conversation_id": "x"}).event())
            handled = (await read_until(c, ["handled-stop", "not-handled"]))[-2]
        assert info.asr and info.tts and info.handle and handled.type == "handled"
        assert handled.data["text"].startswith("I can")
        if mdns:
            assert await _mdns_lookup("nextgpt-under-test") == (port, ["127.0.0.1"])
    finally:
        code, output = stop(process)
    assert code == 0 and "Traceback" not in output, output
    if not mdns:
        pytest.skip("mDNS does not carry over loopback here: the zeroconf announcement was not checked")


async def test_serve_runs_the_mqtt_bridge_and_the_wyoming_server_on_one_engine(tiny_saved_profile: Path,
                                                                              tmp_path: Path):
    broker = Broker(tmp_path)
    broker.start()
    port = free_port()
    process = start("serve", "--broker", f"127.0.0.1:{broker.port}", "--profile", str(tiny_saved_profile),
                    "--wyoming", f"tcp://127.0.0.1:{port}", "--data", str(tmp_path / "history"))
    try:
        await until_listening(port, process)
        async with client(broker.port, v5=False) as device:  # the bridge is online too
            await device.subscribe("nextgpt/status", qos=1)
            async with asyncio.timeout(60):
                async for message in device.messages:
                    if message.payload == b"online":
                        break
        replies = await ask(broker.port, "kitchen", {"id": "m1", "text": "What can you do?"})
        async with AsyncTcpClient("127.0.0.1", port) as c:
            await c.write_event(Transcript(text="What can you do?", context={"conversation_id": "y"}).event())
            handled = (await read_until(c, ["handled-stop", "not-handled"]))[-2]
        [mqtt_text] = [r["text"] for r in replies if r["type"] == "text"]
        assert handled.type == "handled" and handled.data["text"] == mqtt_text
    finally:
        code, output = stop(process)
        broker.kill()
    assert code == 0 and "Traceback" not in output, output
    # both front-ends answered from the one engine: its history kept the Wyoming turn
    history = subprocess.run([sys.executable, "-c", "import json, sys; from assistant.history import History; "
                              "h = History(sys.argv[1]); "
                              "print(json.dumps([t.user_text for c in h.conversations() for t in h.turns(c.id)]))",
                              str(tmp_path / "history")], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(history.stdout) == ["What can you do?"]
