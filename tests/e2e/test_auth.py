"""Users and permissions end to end: a password file made by `minibroker passwd -b` or by
Debian's `mosquitto_passwd` (skipped when it is not installed), an ACL file, and paho-mqtt's
`username_pw_set` and mosquitto_pub/mosquitto_sub's `-u/-P` against them."""

import shutil
import subprocess

import pytest

from conftest import BROKER_BIN, _run_broker, free_port
from paho_client import TestClient

ACL = """user alice
topic readwrite home/#
topic deny home/secret
"""


def _make_passwords(tool, path):
    if tool == "minibroker":
        cmd = [str(BROKER_BIN), "passwd"]
    else:
        if shutil.which("mosquitto_passwd") is None:
            pytest.skip("mosquitto_passwd is not installed")
        cmd = ["mosquitto_passwd"]
    for i, (user, password) in enumerate([("alice", "s3cret"), ("bob", "hunter2")]):
        create = ["-c"] if i == 0 else []
        done = subprocess.run([*cmd, *create, "-b", str(path), user, password],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


@pytest.fixture(params=["minibroker", "mosquitto_passwd"])
def auth_broker(request, tmp_path):
    """A minibroker started with -c: a password file made by the tool of the parameter, the
    ACL above, anonymous clients refused."""
    passwords = tmp_path / "passwd"
    _make_passwords(request.param, passwords)
    (tmp_path / "acl").write_text(ACL)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {free_port()} 127.0.0.1\n"
        f"password_file {passwords}\nacl_file {tmp_path / 'acl'}\n"
    )
    yield from _run_broker(request, ["-c", str(conf), "-v"])


def _client(broker, client_id, user=None, password=None):
    client = TestClient(broker.host, broker.port, client_id=client_id)
    if user is not None:
        client.paho.username_pw_set(user, password)
    return client


def test_auth_paho_username_pw_set(auth_broker):
    sub = _client(auth_broker, "sub", "alice", "s3cret")
    pub = _client(auth_broker, "pub", "alice", "s3cret")
    try:
        sub.connect()
        sub.subscribe("home/#", qos=1)
        pub.connect()
        pub.publish("home/secret", b"no", qos=1)
        pub.publish("home/kitchen", b"21", qos=1)
        message = sub.wait_message_on("home/kitchen")
        assert message.payload == b"21"
        assert [m.topic for m in sub.received()] == ["home/kitchen"]
    finally:
        sub.close()
        pub.close()


@pytest.mark.parametrize("user,password", [("alice", "wrong"), (None, None), ("eve", "x")])
def test_auth_paho_refused(auth_broker, user, password):
    client = _client(auth_broker, "refused", user, password)
    try:
        client.paho.connect(client.host, client.port)
        client.paho.loop_start()
        client._loop_running = True
        client.wait_for(lambda: client.connacks, "CONNACK")
        # Return code 5, which paho 2 reports as the MQTT 5 equivalent 0x87 (Not authorized).
        assert client.connacks[0][0] in (5, 0x87)
    finally:
        client.close()
    assert auth_broker.wait_for_log("disconnected, not authorised")


def _mosquitto(broker, tool, *args, timeout=10):
    return subprocess.run(
        [tool, "-h", broker.host, "-p", str(broker.port), *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )


@pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto-clients missing")
def test_auth_mosquitto_clients_with_u_and_p(auth_broker):
    retained = _mosquitto(auth_broker, "mosquitto_pub", "-u", "alice", "-P", "s3cret",
                          "-t", "home/door", "-m", "open", "-r", "-q", "1")
    assert retained.returncode == 0, retained.stderr
    got = _mosquitto(auth_broker, "mosquitto_sub", "-u", "alice", "-P", "s3cret",
                     "-t", "home/#", "-C", "1", "-W", "5")
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "open"
    refused = _mosquitto(auth_broker, "mosquitto_pub", "-u", "alice", "-P", "nope",
                         "-t", "home/door", "-m", "x")
    assert refused.returncode != 0
    assert "not authori" in refused.stderr.lower()
