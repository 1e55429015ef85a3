"""MQTT over TLS with real clients: paho-mqtt with `tls_set(ca_certs=...)` and mosquitto_pub /
mosquitto_sub with `--cafile`, on a broker with a plain and a TLS listener side by side.

Messages cross between the listeners in both directions: a TLS client is an ordinary client to
everyone else. The certificates come from the `tls_certs` fixture (made with openssl per run).
"""

import shutil
import ssl
from types import SimpleNamespace

import pytest

from conftest import client_factory
from paho_client import TestClient
from test_mosquitto_clients import Sub, pub

TOPIC = "Ergeschoss/Wohnzimmer/Temp"

needs_mosquitto = pytest.mark.skipif(
    shutil.which("mosquitto_sub") is None or shutil.which("mosquitto_pub") is None,
    reason="mosquitto-clients is not installed (make test installs it)",
)


@pytest.fixture
def clients(tls_broker, tls_certs):
    """Makes paho clients on the plain (`tls=False`) or the TLS listener (`tls=True`, trusting
    the test CA); all are closed when the test ends."""

    def build(client_id, tls):
        port = tls_broker.tls_port if tls else tls_broker.port
        client = TestClient(tls_broker.host, port, client_id=client_id)
        if tls:
            client.paho.tls_set(ca_certs=str(tls_certs.ca))
        return client

    yield from client_factory(build)


@pytest.mark.parametrize("sub_tls,pub_tls", [(False, True), (True, False), (True, True)])
def test_paho_messages_cross_tls_and_plain(clients, sub_tls, pub_tls):
    """A QoS 1 reading reaches the subscriber whichever listener each side uses."""
    subscriber = clients("sub", tls=sub_tls)
    subscriber.connect()
    subscriber.subscribe(TOPIC, qos=1)
    publisher = clients("pub", tls=pub_tls)
    publisher.connect()
    publisher.publish(TOPIC, b"22", qos=1)
    message = subscriber.wait_message_on(TOPIC, b"22")
    assert message.qos == 1


def test_paho_refuses_a_broker_signed_by_another_ca(tls_broker, tmp_path):
    """A client that trusts a different CA fails the handshake instead of connecting."""
    other = tmp_path / "other-ca.crt"
    other.write_text(ssl.get_server_certificate((tls_broker.host, tls_broker.tls_port)))
    # The server certificate alone is not a CA: verification must fail.
    client = TestClient(tls_broker.host, tls_broker.tls_port, client_id="untrusting")
    client.paho.tls_set(ca_certs=str(other))
    with pytest.raises((ssl.SSLError, OSError)):
        client.paho.connect(tls_broker.host, tls_broker.tls_port)


@needs_mosquitto
@pytest.mark.parametrize("sub_tls,pub_tls", [(True, False), (False, True), (True, True)])
def test_mosquitto_clients_over_tls(tls_broker, tls_certs, sub_tls, pub_tls):
    """mosquitto_sub and mosquitto_pub with `--cafile` on the TLS port, the other side plain
    (or TLS too)."""
    cafile = ["--cafile", str(tls_certs.ca)]

    def side(tls):
        port = tls_broker.tls_port if tls else tls_broker.port
        return SimpleNamespace(host=tls_broker.host, port=port), (cafile if tls else [])

    sub_at, sub_args = side(sub_tls)
    pub_at, pub_args = side(pub_tls)
    sub = Sub(sub_at, *sub_args, "-t", TOPIC, "-C", "1", "-W", "10", "-v")
    try:
        first = sub.probe(pub_at, TOPIC, *pub_args, "-m", "22")
        assert first == f"{TOPIC} 22"
        status, stderr = sub.finish()
        assert status == 0, stderr
    finally:
        sub.kill()


@needs_mosquitto
def test_mosquitto_pub_without_the_ca_is_refused(tls_broker):
    """mosquitto_pub that does not trust the test CA cannot publish over TLS."""
    at = SimpleNamespace(host=tls_broker.host, port=tls_broker.tls_port)
    with pytest.raises(AssertionError, match="mosquitto_pub failed"):
        pub(at, TOPIC, "--capath", "/nonexistent", "-m", "22", timeout=10)
