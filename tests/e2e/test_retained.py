"""Retained messages, through paho-mqtt."""

TOPIC = "Ergeschoss/Wohnzimmer/Temp"


def test_retained_message_reaches_late_subscriber_with_retain_flag(mqtt_client):
    """A retained PUBLISH is stored [MQTT-3.3.1-5] and sent to a subscriber that subscribes
    afterwards [MQTT-3.3.1-6], with RETAIN set because the subscription is new
    [MQTT-3.3.1-8] and at the QoS it was published with (the subscription allows it)."""
    publisher = mqtt_client("retain-pub")
    publisher.connect()
    publisher.publish(TOPIC, b"22", qos=1, retain=True)

    late = mqtt_client("retain-late")
    late.connect()
    late.subscribe(TOPIC, qos=1)
    message = late.wait_message_on(TOPIC)
    assert message == (TOPIC, b"22", 1, True)


def test_retained_message_to_established_subscription_has_retain_clear(mqtt_client):
    """A retained PUBLISH forwarded to a subscription that already existed carries RETAIN 0
    [MQTT-3.3.1-9]."""
    subscriber = mqtt_client("retain-live")
    subscriber.connect()
    subscriber.subscribe(TOPIC, qos=1)

    publisher = mqtt_client("retain-pub")
    publisher.connect()
    publisher.publish(TOPIC, b"22", qos=1, retain=True)

    message = subscriber.wait_message_on(TOPIC)
    assert message == (TOPIC, b"22", 1, False)


def test_newer_retained_message_replaces_older(mqtt_client):
    """Only the last retained message on a topic is kept and sent to a new subscriber
    [MQTT-3.3.1-6]."""
    publisher = mqtt_client("retain-pub")
    publisher.connect()
    publisher.publish(TOPIC, b"21", qos=1, retain=True)
    publisher.publish(TOPIC, b"22", qos=1, retain=True)

    late = mqtt_client("retain-late")
    late.connect()
    late.subscribe(TOPIC, qos=1)
    late.wait_message_on(TOPIC)
    # A marker published after the SUBACK arrives behind anything the subscription produced.
    publisher.publish(TOPIC, b"marker", qos=1)
    late.wait_message_on(TOPIC, b"marker")
    assert [m.payload for m in late.received()] == [b"22", b"marker"]


def test_empty_retained_publish_clears_retained_message(mqtt_client):
    """A retained PUBLISH with an empty payload removes the retained message, so a later
    subscriber gets none [MQTT-3.3.1-10], and is not itself stored [MQTT-3.3.1-11]."""
    publisher = mqtt_client("retain-pub")
    publisher.connect()
    publisher.publish(TOPIC, b"22", qos=1, retain=True)
    publisher.publish(TOPIC, b"", qos=1, retain=True)

    late = mqtt_client("retain-late")
    late.connect()
    late.subscribe(TOPIC, qos=1)
    # Anything the new subscription produced is queued before this marker, which is published
    # only after the SUBACK; so once the marker is here, a retained message would be too.
    publisher.publish(TOPIC, b"marker", qos=1)
    late.wait_message_on(TOPIC, b"marker")
    assert late.received() == [(TOPIC, b"marker", 1, False)]
