"""minibroker driven by mosquitto_pub and mosquitto_sub speaking MQTT 5 (`-V mqttv5`):
properties set with `-D` and printed with `-F` format specifiers, message expiry for a
persistent session, subscription identifiers, and MQTT 3.1.1 clients alongside.

Readiness of a mosquitto_sub is found by probing, as in test_mosquitto_clients.py.
"""

import subprocess
import time

from test_mosquitto_clients import TIMEOUT, Sub, address, pub, pytestmark, subs  # noqa: F401

V5 = ("-V", "mqttv5")
#: Every per-message field mosquitto_sub can print for MQTT 5 (see `man mosquitto_sub`):
#: user properties, content type, payload format, response topic, correlation data, message
#: expiry, subscription identifier, then the payload.
ALL_FIELDS = "%P|%C|%F|%R|%D|%E|%S|%p"


def test_mosquitto_v5_publish_properties_reach_mosquitto_sub(broker, subs):
    """User properties (in order, repeated keys kept) [MQTT-3.3.2-17] [MQTT-3.3.2-18], content
    type [MQTT-3.3.2-20], payload format indicator [MQTT-3.3.2-4], response topic
    [MQTT-3.3.2-15] and correlation data [MQTT-3.3.2-16] set by mosquitto_pub reach
    mosquitto_sub unaltered, with the subscription identifier of its subscription
    [MQTT-3.3.4-3]."""
    sub = subs(broker, *V5, "-t", "v5/m/props", "-q", "1", "-C", "1", "-W", "10",
               "-D", "subscribe", "subscription-identifier", "7", "-F", ALL_FIELDS)
    line = sub.probe(broker, "v5/m/props", *V5, "-q", "1", "-m", "hi",
                     "-D", "publish", "user-property", "k", "v",
                     "-D", "publish", "user-property", "a", "b",
                     "-D", "publish", "user-property", "k", "w",
                     "-D", "publish", "content-type", "text/plain",
                     "-D", "publish", "payload-format-indicator", "1",
                     "-D", "publish", "response-topic", "v5/m/reply",
                     "-D", "publish", "correlation-data", "req-1")
    fields = line.split("|")
    assert fields[:5] == ["k:v a:b k:w", "text/plain", "1", "v5/m/reply", "req-1"], line
    assert fields[6:] == ["7", "hi"], line
    status, stderr = sub.finish()
    assert status == 0, stderr


def test_mosquitto_v5_message_expiry_for_a_persistent_session(broker, subs):
    """A persistent mosquitto_sub session (`-c -x 300`) that is offline gets, on its return,
    the message that has not expired, with a lower remaining interval [MQTT-3.3.2-6], and not
    the one whose 1 s expiry passed [MQTT-3.3.2-5]."""
    session = ("-c", "-i", "v5-persistent", "-x", "300", "-q", "1", "-t", "v5/m/exp")
    first = subs(broker, *V5, *session, "-E")  # exits once subscribed
    status, stderr = first.finish()
    assert status == 0, stderr

    pub(broker, "v5/m/exp", *V5, "-q", "1", "-m", "short",
        "-D", "publish", "message-expiry-interval", "1")
    pub(broker, "v5/m/exp", *V5, "-q", "1", "-m", "long",
        "-D", "publish", "message-expiry-interval", "60")
    time.sleep(2.5)

    back = subs(broker, *V5, *session, "-C", "1", "-W", "10", "-F", "%E %p")
    remaining, payload = back.next_line().split(" ")
    assert payload == "long"
    assert 1 <= int(remaining) < 60
    status, stderr = back.finish()
    assert status == 0, stderr


def test_mosquitto_v5_and_v311_clients_exchange_messages(broker, subs):
    """mosquitto_sub with MQTT 5 receives a 3.1.1 mosquitto_pub message, without properties;
    mosquitto_sub with 3.1.1 receives an MQTT 5 message published with properties, as a
    plain message."""
    new = subs(broker, *V5, "-t", "v5/m/mixed/from-old", "-C", "1", "-W", "10",
               "-F", "%P|%C|%t|%p")
    assert new.probe(broker, "v5/m/mixed/from-old", "-V", "mqttv311", "-m", "old") == (
        "||v5/m/mixed/from-old|old")
    old = subs(broker, "-V", "mqttv311", "-t", "v5/m/mixed/from-new", "-C", "1", "-W", "10",
               "-F", "%q|%t|%p")
    line = old.probe(broker, "v5/m/mixed/from-new", *V5, "-q", "1", "-m", "new",
                     "-D", "publish", "user-property", "k", "v",
                     "-D", "publish", "content-type", "text/plain")
    assert line == "0|v5/m/mixed/from-new|new"
    for sub in (new, old):
        status, stderr = sub.finish()
        assert status == 0, stderr


def test_mosquitto_v5_session_expiry_zero_keeps_nothing(broker):
    """mosquitto_sub with MQTT 5 and `-x 0` (clean start 0, session expiry 0): the session
    ends with the connection (§3.1.2.11.2), so a message published afterwards is not waiting
    when it comes back; `-W` ends it after 2 s with nothing printed."""
    session = ("-c", "-i", "v5-brief", "-x", "0", "-q", "1", "-t", "v5/m/brief")
    done = subprocess.run(["mosquitto_sub", *address(broker), *V5, *session, "-E"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    pub(broker, "v5/m/brief", *V5, "-q", "1", "-m", "lost")
    again = subprocess.run(["mosquitto_sub", *address(broker), *V5, *session, "-W", "2"],
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert again.stdout == ""
