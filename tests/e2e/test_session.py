"""Persistent sessions (clean session 0), kept in the broker's memory, through paho-mqtt."""

TOPIC = "Ergeschoss/Flur/Tuer"
CLIENT_ID = "e2e-persistent"


def test_persistent_session_receives_message_published_while_offline(mqtt_client):
    """With clean session 0 the subscription outlives the connection; a QoS 1 message published
    while the client is away is stored [MQTT-3.1.2-5] and delivered when it reconnects, and the
    CONNACK then says session present [MQTT-3.2.2-2] (on the first connect it did not,
    [MQTT-3.2.2-3])."""
    first = mqtt_client(CLIENT_ID, clean_session=False)
    assert first.connect() is False, "no session was stored yet [MQTT-3.2.2-3]"
    first.subscribe(TOPIC, qos=1)
    first.disconnect()

    publisher = mqtt_client("session-pub")
    publisher.connect()
    publisher.publish(TOPIC, b"offen", qos=1)

    again = mqtt_client(CLIENT_ID, clean_session=False)
    assert again.connect() is True, "session present must be 1 [MQTT-3.2.2-2]"
    message = again.wait_message_on(TOPIC)  # no new SUBSCRIBE: the session kept it
    assert message == (TOPIC, b"offen", 1, False)


def test_clean_session_discards_stored_session(mqtt_client):
    """Connecting with clean session 1 discards the stored session [MQTT-3.1.2-6]: CONNACK has
    session present 0 [MQTT-3.2.2-1], and neither the old subscription nor the message queued
    for it survives."""
    first = mqtt_client(CLIENT_ID, clean_session=False)
    first.connect()
    first.subscribe(TOPIC, qos=1)
    first.disconnect()

    publisher = mqtt_client("session-pub")
    publisher.connect()
    publisher.publish(TOPIC, b"offen", qos=1)

    clean = mqtt_client(CLIENT_ID, clean_session=True)
    assert clean.connect() is False, "session present must be 0 [MQTT-3.2.2-1]"
    # A stored message would be sent right after CONNACK, ahead of this marker's round trip.
    clean.subscribe("e2e/marker", qos=1)
    publisher.publish("e2e/marker", b"m", qos=1)
    clean.wait_message_on("e2e/marker")
    # The old subscription is gone too: a new message on TOPIC does not arrive.
    publisher.publish(TOPIC, b"zu", qos=1)
    publisher.publish("e2e/marker", b"m2", qos=1)
    clean.wait_message_on("e2e/marker", b"m2")
    assert [m.topic for m in clean.received()] == ["e2e/marker", "e2e/marker"]
