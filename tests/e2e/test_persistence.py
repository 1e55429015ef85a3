"""Persistence as a paho-mqtt user sees it: retained messages and a persistent session with its
queued QoS 1 messages survive a restart of the broker, a clean one and a `kill -9`."""

import signal
import socket

import pytest

from conftest import Broker
from paho_client import TestClient

TIMEOUT = 10.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stored_conf(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    store.chmod(0o777)
    conf = tmp_path / "minibroker.conf"
    conf.write_text(
        f"listener {free_port()} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {store}\n"
        "user root\n"
    )
    return conf


def start(conf):
    broker = Broker(["-c", str(conf), "-v"])
    broker.wait_listening()
    return broker


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_retained_and_queued_messages_survive_a_restart(stored_conf, how):
    broker = start(stored_conf)
    try:
        dashboard = TestClient(broker.host, broker.port, client_id="dashboard",
                               clean_session=False)
        dashboard.connect()
        dashboard.subscribe("cmd/#", qos=1)
        dashboard.disconnect()
        sensor = TestClient(broker.host, broker.port, client_id="sensor")
        sensor.connect()
        sensor.publish("Ergeschoss/Wohnzimmer/Temp", b"21.5", qos=1, retain=True)
        for i in range(5):
            sensor.publish("cmd/light", f"{i}".encode(), qos=1)
        sensor.disconnect()
    finally:
        if how == "sigkill":
            broker.proc.send_signal(signal.SIGKILL)
            broker.proc.wait(timeout=TIMEOUT)
        else:
            broker.stop()
    broker = start(stored_conf)
    try:
        broker.wait_for_log(r"Restored from .*1 retained messages, 1 sessions holding 5 messages")
        dashboard = TestClient(broker.host, broker.port, client_id="dashboard",
                               clean_session=False)
        assert dashboard.connect(), "session present after the restart"
        for i in range(5):
            assert dashboard.wait_message_on("cmd/light", f"{i}".encode()).qos == 1
        reader = TestClient(broker.host, broker.port, client_id="reader")
        reader.connect()
        reader.subscribe("Ergeschoss/#")
        message = reader.wait_message_on("Ergeschoss/Wohnzimmer/Temp")
        assert message.payload == b"21.5" and message.retain
        reader.disconnect()
        dashboard.disconnect()
    finally:
        broker.stop()
    assert not broker.panics()
