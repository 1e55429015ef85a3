"""A broker started from a mosquitto.conf (`minibroker -c FILE`), as a gateway runs it, driven
by paho-mqtt and by the mosquitto command-line clients."""

import shutil
import subprocess

import pytest

from conftest import _run_broker, free_port
from paho_client import TestClient

TOPIC = "Ergeschoss/Wohnzimmer/Temp"
TIMEOUT = 10.0


@pytest.fixture
def conf_broker(request, tmp_path):
    """A minibroker reading a mosquitto.conf with one loopback listener on a free port, its
    log on stderr and in a file."""
    conf = tmp_path / "minibroker.conf"
    conf.write_text(
        "# written by the test\n"
        f"listener {free_port()} 127.0.0.1\n"
        "allow_anonymous true\n"
        "log_dest stderr\n"
        f"log_dest file {tmp_path / 'broker.log'}\n"
        "max_queued_messages 100\n"
        # Started as root, the broker would run as mosquitto's default user otherwise.
        "user root\n"
    )
    yield from _run_broker(request, ["-c", str(conf), "-v"])


def test_paho_publishes_and_subscribes_through_a_configured_broker(conf_broker):
    subscriber = TestClient(conf_broker.host, conf_broker.port, client_id="conf-sub")
    publisher = TestClient(conf_broker.host, conf_broker.port, client_id="conf-pub")
    try:
        subscriber.connect()
        subscriber.subscribe("Ergeschoss/#", qos=1)
        publisher.connect()
        publisher.publish(TOPIC, b"21.5", qos=1)
        message = subscriber.wait_message_on(TOPIC)
        assert (message.payload, message.qos) == (b"21.5", 1)
    finally:
        subscriber.close()
        publisher.close()
    # mosquitto's connect line, which log watchers match on.
    conf_broker.wait_for_log(r"New client connected from 127\.0\.0\.1:\d+ as conf-sub \(p\d, c1, k60\)\.")


@pytest.mark.skipif(
    shutil.which("mosquitto_sub") is None or shutil.which("mosquitto_pub") is None,
    reason="mosquitto-clients is not installed (make test installs it)",
)
def test_mosquitto_clients_through_a_configured_broker(conf_broker):
    address = ["-h", conf_broker.host, "-p", str(conf_broker.port)]
    done = subprocess.run(
        ["mosquitto_pub", *address, "-t", TOPIC, "-m", "22.0", "-r", "-q", "1"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    # The retained message reaches a subscriber that comes later, so no race with its SUBSCRIBE.
    got = subprocess.run(
        ["mosquitto_sub", *address, "-t", TOPIC, "-C", "1", "-W", "10", "-v"],
        capture_output=True, text=True, timeout=TIMEOUT + 5,
    )
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == f"{TOPIC} 22.0"
