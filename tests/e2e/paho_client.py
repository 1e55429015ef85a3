"""A paho-mqtt client for the tests that runs on paho-mqtt 1.6.1 and 2.x alike.

paho 2.x takes a callback API version as the first argument of `mqtt.Client` and passes reason
codes as objects; paho 1.6.1 has neither. `TestClient` hides the difference, records what the
broker sends (CONNACK, SUBACK, PUBLISH, acknowledgements, the loss of the connection), and
waits for it with a bounded timeout: every wait either sees what it expects or fails the test.
"""

import logging
import threading
from typing import Callable, NamedTuple, Optional

import paho.mqtt
import paho.mqtt.client as mqtt

PAHO_2 = hasattr(mqtt, "CallbackAPIVersion")
PAHO_VERSION = paho.mqtt.__version__

MQTTv31 = mqtt.MQTTv31
MQTTv311 = mqtt.MQTTv311
MQTTv5 = mqtt.MQTTv5

#: Seconds any single wait may take before the test fails.
TIMEOUT = 10.0


class Message(NamedTuple):
    """A PUBLISH as the subscriber saw it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class _QuietAfterDisconnect(logging.Filter):
    """paho 2.x, told not to reconnect, logs an error when its network thread ends after a
    DISCONNECT; that is the expected end of every client here, not a failure."""

    def filter(self, record):
        return not record.getMessage().startswith("Client is not connected")


_QUIET_AFTER_DISCONNECT = _QuietAfterDisconnect()


def _code(value) -> int:
    """paho 2.x reports reason codes as `ReasonCode` objects, paho 1.6 as plain ints."""
    return int(getattr(value, "value", value))


def _session_present(flags) -> bool:
    """paho 2.x passes `ConnectFlags`, paho 1.6 a dict."""
    if isinstance(flags, dict):
        return bool(flags.get("session present", 0))
    return bool(flags.session_present)


class TestClient:
    """One MQTT connection driven by paho's background network thread."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str = "",
        clean_session: bool = True,
        protocol: int = MQTTv311,
        on_connect: Optional[Callable] = None,
        transport: str = "tcp",
    ):
        self.host = host
        self.port = port
        self.client_id = client_id
        self.protocol = protocol
        kwargs = dict(
            client_id=client_id,
            clean_session=clean_session,
            protocol=protocol,
            reconnect_on_failure=False,
            transport=transport,
        )
        if protocol == MQTTv5:
            # MQTT 5 has clean start (an argument of connect) instead of clean session.
            del kwargs["clean_session"]
        if PAHO_2:
            self.paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        else:
            self.paho = mqtt.Client(**kwargs)
        logger = logging.getLogger(f"paho.{client_id or 'anonymous'}")
        logger.addFilter(_QUIET_AFTER_DISCONNECT)
        self.paho.enable_logger(logger)
        self._user_on_connect = on_connect
        self._cond = threading.Condition()
        self._loop_running = False
        self.connacks: list = []  # (return code, session present), one per CONNACK
        self.subacks: dict = {}  # packet id -> granted QoS list
        self.acked: set = set()  # packet ids of our PUBLISHes that completed
        self.messages: list = []  # Message, in arrival order
        self.properties: list = []  # the MQTT 5 properties of each message (None for 3.x)
        self.connection_lost = False

        self.paho.on_connect = self._on_connect
        self.paho.on_subscribe = self._on_subscribe
        self.paho.on_publish = self._on_publish
        self.paho.on_message = self._on_message
        self.paho.on_disconnect = self._on_disconnect

    # --- paho callbacks (network thread) ---------------------------------------------------

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        with self._cond:
            self.connacks.append((_code(rc), _session_present(flags)))
            self._cond.notify_all()
        if self._user_on_connect is not None:
            self._user_on_connect(client, userdata, flags, _code(rc))

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        with self._cond:
            self.subacks[mid] = [_code(g) for g in granted]
            self._cond.notify_all()

    def _on_publish(self, client, userdata, mid, *reason_and_properties):
        with self._cond:
            self.acked.add(mid)
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg):
        message = Message(msg.topic, bytes(msg.payload), int(msg.qos), bool(msg.retain))
        with self._cond:
            self.messages.append(message)
            self.properties.append(getattr(msg, "properties", None))
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, *flags_rc_properties):
        with self._cond:
            self.connection_lost = True
            self._cond.notify_all()

    # --- waiting ----------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = TIMEOUT):
        """Waits until `predicate()` holds; fails the test after `timeout` seconds or as soon
        as the connection is lost while waiting for something else."""
        with self._cond:
            done = self._cond.wait_for(
                lambda: predicate() or self.connection_lost, timeout=timeout
            )
            if predicate():
                return
            reason = "the connection was lost" if done else f"{timeout:g} s passed"
            raise AssertionError(f"{self.client_id or 'client'}: {reason} waiting for {what}")

    # --- actions ----------------------------------------------------------------------------

    def will_set(self, topic: str, payload, qos: int = 0, retain: bool = False,
                 properties=None):
        self.paho.will_set(topic, payload, qos=qos, retain=retain, properties=properties)

    def connect(self, keepalive: int = 60, timeout: float = TIMEOUT, clean_start=True,
                properties=None) -> bool:
        """Connects, starts the network thread and waits for CONNACK; returns session present.
        `clean_start` and `properties` apply to MQTT 5 only."""
        if self.protocol == MQTTv5:
            self.paho.connect(self.host, self.port, keepalive=keepalive,
                              clean_start=clean_start, properties=properties)
        else:
            self.paho.connect(self.host, self.port, keepalive=keepalive)
        self.paho.loop_start()
        self._loop_running = True
        self.wait_for(lambda: self.connacks, "CONNACK", timeout)
        rc, session_present = self.connacks[-1]
        assert rc == 0, f"CONNACK return code {rc}"
        return session_present

    def subscribe(self, topic: str, qos: int = 0, timeout: float = TIMEOUT) -> int:
        """Subscribes and waits for SUBACK; returns the granted QoS."""
        result, mid = self.paho.subscribe(topic, qos)
        assert result == 0, f"subscribe({topic!r}) failed locally: {result}"
        self.wait_for(lambda: mid in self.subacks, f"SUBACK for {topic!r}", timeout)
        granted = self.subacks[mid]
        assert granted != [0x80], f"subscription to {topic!r} refused (0x80)"
        return granted[0]

    def wait_subscribed(self, count: int = 1, timeout: float = TIMEOUT):
        """Waits for `count` SUBACKs, for subscriptions made from a callback."""
        self.wait_for(lambda: len(self.subacks) >= count, f"{count} SUBACK(s)", timeout)

    def publish(self, topic: str, payload=None, qos: int = 0, retain: bool = False,
                timeout: float = TIMEOUT, properties=None):
        """Publishes and waits until paho reports it done: written for QoS 0, PUBACK for
        QoS 1, PUBCOMP for QoS 2."""
        info = self.publish_nowait(topic, payload, qos, retain, properties)
        self.wait_for(lambda: info.mid in self.acked, f"completion of PUBLISH to {topic!r}",
                      timeout)

    def publish_nowait(self, topic: str, payload=None, qos: int = 0, retain: bool = False,
                       properties=None):
        info = self.paho.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        assert info.rc == 0, f"publish to {topic!r} failed locally: {info.rc}"
        return info

    def wait_acked(self, count: int, timeout: float = TIMEOUT):
        """Waits until `count` of our PUBLISHes have completed."""
        self.wait_for(lambda: len(self.acked) >= count,
                      f"{count} completed PUBLISHes", timeout)

    def wait_messages(self, count: int = 1, timeout: float = TIMEOUT) -> list:
        """Waits until `count` messages have arrived and returns all that did."""
        self.wait_for(lambda: len(self.messages) >= count, f"{count} message(s)", timeout)
        with self._cond:
            return list(self.messages)

    def wait_message_on(self, topic: str, payload: Optional[bytes] = None,
                        timeout: float = TIMEOUT) -> Message:
        """Waits for a message on `topic` (with `payload`, if given) and returns the first."""

        def match(m: Message) -> bool:
            return m.topic == topic and (payload is None or m.payload == payload)

        self.wait_for(lambda: any(match(m) for m in self.messages),
                      f"a message on {topic!r}" + (f" with {payload!r}" if payload else ""),
                      timeout)
        with self._cond:
            return next(m for m in self.messages if match(m))

    def received(self) -> list:
        with self._cond:
            return list(self.messages)

    def wait_message_with_properties(self, topic: str, payload: Optional[bytes] = None,
                                     timeout: float = TIMEOUT):
        """Like `wait_message_on`, but returns (message, its MQTT 5 properties)."""
        found = self.wait_message_on(topic, payload, timeout)
        with self._cond:
            return found, self.properties[self.messages.index(found)]

    def disconnect(self, timeout: float = TIMEOUT):
        """Sends DISCONNECT and waits until paho has closed the connection."""
        self.paho.disconnect()
        with self._cond:
            self._cond.wait_for(lambda: self.connection_lost, timeout=timeout)
            assert self.connection_lost, f"{timeout:g} s passed waiting for the disconnect"
        self._stop_loop()

    def drop(self):
        """Closes the TCP connection without sending DISCONNECT, as a crashed client would."""
        self._stop_loop()  # stop the network thread first, so nothing reconnects or writes
        sock = self.paho.socket()
        assert sock is not None, "the client is not connected"
        sock.close()
        with self._cond:
            self.connection_lost = True

    def close(self):
        """Best-effort cleanup for fixtures: disconnect if still connected, stop the thread."""
        try:
            if self._loop_running and not self.connection_lost:
                self.disconnect(timeout=2.0)
        finally:
            self._stop_loop()

    def _stop_loop(self):
        if self._loop_running:
            self._loop_running = False
            self.paho.loop_stop()
