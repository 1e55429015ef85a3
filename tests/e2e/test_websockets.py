"""MQTT over WebSockets with paho-mqtt (transport="websockets", 1.6 and 2.x): a broker with a
plain MQTT listener and a `protocol websockets` one from a mosquitto.conf, messages crossing
between them both ways, with MQTT 3.1.1 and 5."""

import re

import pytest

from conftest import _run_broker
from paho_client import MQTTv5, MQTTv311, TestClient
from test_config_file import free_port


@pytest.fixture
def ws_broker(request, tmp_path):
    ws_port = free_port()
    conf = tmp_path / "minibroker.conf"
    conf.write_text(
        f"listener {free_port()} 127.0.0.1\n"
        "allow_anonymous true\n"
        f"listener {ws_port} 127.0.0.1\n"
        "protocol websockets\n"
        "user root\n"
    )
    for b in _run_broker(request, ["-c", str(conf), "-v"]):
        b.wait_for_log(rf"listening on 127\.0\.0\.1:{ws_port} \(WebSockets\)")
        b.ws_port = ws_port
        yield b


@pytest.mark.parametrize("protocol", [MQTTv311, MQTTv5], ids=["v311", "v5"])
def test_paho_over_websockets_and_tcp_reach_each_other(ws_broker, protocol):
    ws_sub = TestClient(ws_broker.host, ws_broker.ws_port, "ws-sub", protocol=protocol,
                        transport="websockets")
    tcp_sub = TestClient(ws_broker.host, ws_broker.port, "tcp-sub", protocol=protocol)
    ws_pub = TestClient(ws_broker.host, ws_broker.ws_port, "ws-pub", protocol=protocol,
                        transport="websockets")
    tcp_pub = TestClient(ws_broker.host, ws_broker.port, "tcp-pub", protocol=protocol)
    clients = [ws_sub, tcp_sub, ws_pub, tcp_pub]
    try:
        for c in clients:
            c.connect()
        ws_sub.subscribe("to/ws", qos=1)
        tcp_sub.subscribe("to/tcp", qos=1)
        big = bytes(i % 251 for i in range(200_000))
        tcp_pub.publish("to/ws", b"from tcp", qos=1)
        tcp_pub.publish("to/ws", big, qos=1)
        ws_pub.publish("to/tcp", b"from ws", qos=1)
        ws_pub.publish("to/tcp", big, qos=0)
        assert ws_sub.wait_message_on("to/ws").payload == b"from tcp"
        assert tcp_sub.wait_message_on("to/tcp").payload == b"from ws"
        # Frames of 200 kB each way: many socket writes and reads per message.
        assert any(m.payload == big for m in ws_sub.wait_messages(2))
        assert any(m.payload == big for m in tcp_sub.wait_messages(2))
    finally:
        for c in clients:
            c.close()
    ws_broker.wait_for_log(r"WebSocket connection from 127\.0\.0\.1:\d+ upgraded \(subprotocol mqtt\)")
    ws_broker.wait_for_log(r"New client connected from 127\.0\.0\.1:\d+ as ws-sub")
