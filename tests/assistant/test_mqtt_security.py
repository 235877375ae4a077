"""The bridge behind a mosquitto that wants a password, and one that speaks only TLS (with and without client
certificates): it connects and answers with the right credentials, keeps retrying without them, and never
logs the password."""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from assistant.mqtt import BridgeConfig, MqttBridge

from .mqtt_broker import ask, bridges, client, running_broker

USER = "kitchen-hub"
PASSWORD = "s3cret-Pa55-7f3a9c"
LOGGERS = ("assistant", "aiomqtt", "mqtt")
NOT_CONNECTED_WAIT_S = 2.5  # the bridge retries after 1 s, then 2 s: at least two failed tries


def _config(port: int, **options: object) -> BridgeConfig:
    return BridgeConfig(host="127.0.0.1", port=port, **options)  # type: ignore[arg-type]


async def _stays_unconnected(bridge: MqttBridge, task: asyncio.Task[None]) -> None:
    """The bridge does not connect within the bounded wait, and is still running (retrying)."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(bridge.connected.wait(), NOT_CONNECTED_WAIT_S)
    assert not task.done()


# passwords --------------------------------------------------------------------------------------------------


@pytest.fixture
def password_broker(tmp_path: Path):
    """A broker that refuses anonymous clients; USER/PASSWORD may connect."""
    password_file = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(password_file), USER, PASSWORD], check=True)
    with running_broker(tmp_path, options=f"allow_anonymous false\npassword_file {password_file}") as broker:
        yield broker


@pytest.mark.asyncio
async def test_the_right_password_connects_and_answers(password_broker, tiny_model):
    async with bridges(tiny_model) as running:
        await running.start(_config(password_broker.port, username=USER, password=PASSWORD))
        replies = await ask(password_broker.port, "hall", {"id": "p1", "text": "hi"}, username=USER,
                            password=PASSWORD)
    assert [r["type"] for r in replies] == ["accepted", "text", "done"]


@pytest.mark.asyncio
async def test_a_wrong_password_never_connects_and_retries_until_stopped(password_broker, tiny_model, caplog):
    caplog.set_level(logging.WARNING, "assistant")
    async with bridges(tiny_model) as running:
        bridge = await running.start(_config(password_broker.port, username=USER, password="wrong"),
                                     wait_connected=False)
        await _stays_unconnected(bridge, running.task_of(bridge))
        retries = [r for r in caplog.records if "retrying" in r.getMessage()]
        assert len(retries) >= 2
        async with asyncio.timeout(5):
            await running.stop_all()  # returns promptly from its backoff wait
    with pytest.raises(aiomqtt.MqttError):  # nor does an anonymous client get in
        async with client(password_broker.port):
            pass


@pytest.mark.asyncio
async def test_the_password_is_never_logged(password_broker, tiny_model, caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, name)
    async with bridges(tiny_model) as running:
        failing = await running.start(_config(password_broker.port, username=USER, password=PASSWORD + "x"),
                                      wait_connected=False)
        good = await running.start(_config(password_broker.port, username=USER, password=PASSWORD))
        replies = await ask(password_broker.port, "hall", {"text": "hi"}, username=USER, password=PASSWORD)
        assert replies[-1]["type"] == "done"
        async with asyncio.timeout(10):  # the failing one retries at least once more
            while caplog.text.count("retrying") < 2:
                await asyncio.sleep(0.05)
        assert good.connected.is_set() and not failing.connected.is_set()
    assert "retrying" in caplog.text and "connected to MQTT broker" in caplog.text  # the logs were captured
    assert PASSWORD not in caplog.text


def test_the_config_repr_has_no_credentials():
    config = BridgeConfig(username=USER, password=PASSWORD, tls_key="/secret/client.key")
    assert PASSWORD not in repr(config) and PASSWORD not in str(config) and "client.key" not in repr(config)


# TLS --------------------------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _signed(folder: Path, name: str, subject: str, extensions: str) -> None:
    """`name`.key and `name`.crt signed by the CA in `folder`."""
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=folder)
    (folder / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext", cwd=folder)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate, signed by it."""
    folder = tmp_path_factory.mktemp("certs")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=nextgpt test CA", cwd=folder)
    common = "basicConstraints=CA:FALSE\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    _signed(folder, "server", "/CN=127.0.0.1",
            common + "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _signed(folder, "client", "/CN=nextgpt-bridge", common + "extendedKeyUsage=clientAuth\n")
    return folder


@pytest.fixture
def tls_broker(tmp_path: Path, certs: Path):
    """Two TLS-only listeners: ports[0] with server auth only, ports[1] also requiring a client certificate."""
    server = f"cafile {certs / 'ca.crt'}\ncertfile {certs / 'server.crt'}\nkeyfile {certs / 'server.key'}\n"
    with running_broker(tmp_path, [server, server + "require_certificate true\n"]) as broker:
        yield broker


def _tls(certs: Path, with_client_cert: bool = False) -> aiomqtt.TLSParameters:
    if with_client_cert:
        return aiomqtt.TLSParameters(ca_certs=str(certs / "ca.crt"), certfile=str(certs / "client.crt"),
                                     keyfile=str(certs / "client.key"), cert_reqs=ssl.CERT_REQUIRED)
    return aiomqtt.TLSParameters(ca_certs=str(certs / "ca.crt"), cert_reqs=ssl.CERT_REQUIRED)


@pytest.mark.asyncio
async def test_tls_with_the_ca_connects_and_answers(tls_broker, certs, tiny_model):
    async with bridges(tiny_model) as running:
        await running.start(_config(tls_broker.ports[0], tls_ca=str(certs / "ca.crt")))
        replies = await ask(tls_broker.ports[0], "hall", {"text": "hi"}, tls_params=_tls(certs))
    assert [r["type"] for r in replies] == ["accepted", "text", "done"]


@pytest.mark.asyncio
async def test_without_tls_the_bridge_cannot_connect(tls_broker, tiny_model):
    async with bridges(tiny_model) as running:
        bridge = await running.start(_config(tls_broker.ports[0]), wait_connected=False)
        await _stays_unconnected(bridge, running.task_of(bridge))


@pytest.mark.asyncio
async def test_a_required_client_certificate(tls_broker, certs, tiny_model):
    port = tls_broker.ports[1]
    async with bridges(tiny_model) as running:
        without = await running.start(_config(port, tls_ca=str(certs / "ca.crt")), wait_connected=False)
        await _stays_unconnected(without, running.task_of(without))
        await running.start(_config(port, tls_ca=str(certs / "ca.crt"), tls_cert=str(certs / "client.crt"),
                                    tls_key=str(certs / "client.key")))
        replies = await ask(port, "hall", {"text": "hi"}, tls_params=_tls(certs, with_client_cert=True))
    assert [r["type"] for r in replies] == ["accepted", "text", "done"]


def test_the_password_file_is_read_one_way_everywhere(tmp_path: Path):
    from assistant.mqtt import read_password_file
    from models import InputError

    kept = tmp_path / "password"
    kept.write_text(" s3cret with spaces \r\n")
    assert read_password_file(kept) == " s3cret with spaces "  # the line ending goes, spaces stay
    with pytest.raises(InputError, match="cannot read the MQTT password file"):
        read_password_file(tmp_path / "missing")
