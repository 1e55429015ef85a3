"""MQTT 5 through paho-mqtt (1.6.1 and 2.x both speak it): properties, request/response,
shared subscriptions, topic aliases, session expiry, will delay, and v3.1.1 clients alongside."""

import time

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from paho_client import MQTTv5, MQTTv311

TIMEOUT = 10.0


def props(packet_type, **values):
    """A paho Properties object for `packet_type` with the given properties set."""
    result = Properties(packet_type)
    for name, value in values.items():
        setattr(result, name, value)
    return result


def v5(mqtt_client, client_id, **connect_args):
    client = mqtt_client(client_id, protocol=MQTTv5)
    client.connect(**connect_args)
    return client


def test_properties_reach_the_subscriber_unaltered(mqtt_client):
    """Payload Format Indicator, Content Type and User Properties are forwarded unaltered
    [MQTT-3.3.2-4] [MQTT-3.3.2-20] [MQTT-3.3.2-17], user properties in order, repeated keys
    kept [MQTT-3.3.2-18]."""
    subscriber = v5(mqtt_client, "props-sub")
    subscriber.subscribe("v5/props", qos=1)
    publisher = v5(mqtt_client, "props-pub")
    user = [("room", "Wohnzimmer"), ("unit", "°C"), ("room", "Küche")]
    publisher.publish("v5/props", b"21.5", qos=1, properties=props(
        PacketTypes.PUBLISH, PayloadFormatIndicator=1, ContentType="text/plain",
        UserProperty=user))

    message, received = subscriber.wait_message_with_properties("v5/props")
    assert message.payload == b"21.5"
    assert received.PayloadFormatIndicator == 1
    assert received.ContentType == "text/plain"
    assert [tuple(pair) for pair in received.UserProperty] == user


def test_request_response_round_trip(mqtt_client):
    """A requester sends Response Topic and Correlation Data; the responder gets both unaltered
    [MQTT-3.3.2-15] [MQTT-3.3.2-16] and answers on the response topic with the same
    correlation data, which the requester matches to its request (§4.10)."""
    responder = v5(mqtt_client, "responder")
    responder.subscribe("v5/service/time", qos=1)
    requester = v5(mqtt_client, "requester")
    requester.subscribe("v5/replies/requester", qos=1)

    requester.publish("v5/service/time", b"what time is it?", qos=1, properties=props(
        PacketTypes.PUBLISH, ResponseTopic="v5/replies/requester",
        CorrelationData=b"\x00req-42\xff"))
    _, request = responder.wait_message_with_properties("v5/service/time")
    assert request.ResponseTopic == "v5/replies/requester"
    assert request.CorrelationData == b"\x00req-42\xff"

    responder.publish(request.ResponseTopic, b"noon", qos=1, properties=props(
        PacketTypes.PUBLISH, CorrelationData=request.CorrelationData))
    reply, reply_props = requester.wait_message_with_properties("v5/replies/requester")
    assert reply.payload == b"noon"
    assert reply_props.CorrelationData == b"\x00req-42\xff"


def test_shared_subscription_between_two_paho_clients(mqtt_client):
    """A shared subscription (§4.8.2) gives each message to one member: both members get
    some, together all, none twice; a non-shared subscriber still gets every message."""
    workers = [v5(mqtt_client, f"worker-{n}") for n in (1, 2)]
    for worker in workers:
        worker.subscribe("$share/pool/v5/jobs/+", qos=1)
    observer = v5(mqtt_client, "observer")
    observer.subscribe("v5/jobs/+", qos=1)
    boss = v5(mqtt_client, "boss")
    count = 20
    for i in range(count):
        boss.publish(f"v5/jobs/{i % 3}", str(i).encode(), qos=1)

    observer.wait_messages(count)
    deadline = time.monotonic() + TIMEOUT
    while sum(len(w.received()) for w in workers) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # anything sent twice would have arrived by now
    got = [[m.payload for m in w.received()] for w in workers]
    assert all(got), f"a member got nothing: {got}"
    everything = got[0] + got[1]
    assert sorted(everything, key=int) == [str(i).encode() for i in range(count)]


def test_topic_alias_from_a_paho_publisher(mqtt_client):
    """paho sends a Topic Alias with the topic, then the alias with an empty topic name
    (§3.3.2.3.4); v5 and v3.1.1 subscribers receive both on the full topic."""
    topic = "v5/a/rather/long/topic/name/for/an/alias"
    new = v5(mqtt_client, "alias-sub-v5")
    new.subscribe(topic, qos=1)
    old = mqtt_client("alias-sub-v311", protocol=MQTTv311)
    old.connect()
    old.subscribe(topic, qos=1)
    publisher = v5(mqtt_client, "alias-pub")
    publisher.publish(topic, b"first", qos=1,
                      properties=props(PacketTypes.PUBLISH, TopicAlias=3))
    publisher.publish("", b"second", qos=1,
                      properties=props(PacketTypes.PUBLISH, TopicAlias=3))
    for subscriber in (new, old):
        subscriber.wait_messages(2)
        assert [(m.topic, m.payload) for m in subscriber.received()] == [
            (topic, b"first"), (topic, b"second")]


def test_session_expiry_keeps_queued_qos1_messages(mqtt_client):
    """With clean start 0 and a Session Expiry Interval the session outlives the connection
    [MQTT-3.1.2-23]: reconnecting resumes it (session present [MQTT-3.2.2-2]) and delivers the
    QoS 1 messages published meanwhile."""
    expiry = props(PacketTypes.CONNECT, SessionExpiryInterval=60)
    sleeper = mqtt_client("sleeper", protocol=MQTTv5)
    assert not sleeper.connect(clean_start=False, properties=expiry)
    sleeper.subscribe("v5/inbox", qos=1)
    sleeper.disconnect()

    sender = v5(mqtt_client, "sender")
    for i in range(3):
        sender.publish("v5/inbox", f"while away {i}".encode(), qos=1)

    back = mqtt_client("sleeper", protocol=MQTTv5)
    assert back.connect(clean_start=False, properties=expiry), "session present"
    back.wait_messages(3)
    assert [m.payload for m in back.received()] == [b"while away 0", b"while away 1",
                                                   b"while away 2"]


def test_will_delay_publishes_the_will_after_the_delay(mqtt_client):
    """A will with a Will Delay Interval of 2 s is published after the delay, not when the
    connection drops [MQTT-3.1.2-8]."""
    watcher = v5(mqtt_client, "will-watcher")
    watcher.subscribe("v5/status/#", qos=1)
    device = mqtt_client("device", protocol=MQTTv5)
    device.will_set("v5/status/device", b"offline", qos=1,
                    properties=props(PacketTypes.WILLMESSAGE, WillDelayInterval=2))
    device.connect(clean_start=False,
                   properties=props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    dropped = time.monotonic()
    device.drop()

    time.sleep(1.0)
    assert watcher.received() == [], "the will came before its delay"
    message = watcher.wait_message_on("v5/status/device", timeout=TIMEOUT)
    assert message.payload == b"offline"
    assert time.monotonic() - dropped >= 1.5


def test_v311_and_v5_paho_clients_share_a_topic(mqtt_client):
    """v3.1.1 and v5 paho clients subscribed to one topic receive each other's messages."""
    clients = {
        "old": mqtt_client("mixed-old", protocol=MQTTv311),
        "new": mqtt_client("mixed-new", protocol=MQTTv5),
    }
    for client in clients.values():
        client.connect()
        client.subscribe("v5/mixed", qos=1)
    clients["old"].publish("v5/mixed", b"from 3.1.1", qos=1)
    clients["new"].publish("v5/mixed", b"from 5", qos=1, properties=props(
        PacketTypes.PUBLISH, UserProperty=[("k", "v")]))
    for name, client in clients.items():
        client.wait_messages(2)
        payloads = sorted(m.payload for m in client.received())
        assert payloads == [b"from 3.1.1", b"from 5"], name
    _, received = clients["new"].wait_message_with_properties("v5/mixed", b"from 5")
    assert [tuple(pair) for pair in received.UserProperty] == [("k", "v")]
