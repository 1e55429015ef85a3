"""The broker as a process: what it logs, and that it accepts connections on the address it
names."""

import re
import socket


def test_logs_the_address_it_listens_on(broker):
    """With `-b 127.0.0.1 -p 0` the broker logs `listening on 127.0.0.1:PORT` with the
    ephemeral port it was given, and accepts TCP connections there."""
    assert any(f"listening on 127.0.0.1:{broker.port}" in line for line in broker.lines)
    with socket.create_connection((broker.host, broker.port), timeout=5):
        pass


def test_debug_log_names_connecting_client(broker, mqtt_client):
    """With `-v` the broker logs each accepted connection with its client id, as mosquitto
    does, so a gateway's log shows which device came and went."""
    client_id = "e2e-log-probe-7f3a"
    client = mqtt_client(client_id)
    client.connect()
    broker.wait_for_log(re.escape(client_id), timeout=5)
