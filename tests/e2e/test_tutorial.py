"""The flow of the tutorial minibroker grew from, against minibroker instead of mosquitto.

A subscriber subscribes to the living-room temperature from its on_connect callback; a second
client publishes the reading 22; the subscriber receives it.
"""

import pytest

TOPIC = "Ergeschoss/Wohnzimmer/Temp"


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_tutorial_subscriber_receives_published_temperature(mqtt_client, qos):
    """The tutorial's subscriber (subscribing in on_connect) receives b'22' on
    Ergeschoss/Wohnzimmer/Temp from the tutorial's publisher, at QoS 0, 1 and 2; the delivery
    QoS is the publish QoS, since the subscription asks for the same [MQTT-3.8.4-6]."""

    def on_connect(client, userdata, flags, rc):
        client.subscribe(TOPIC, qos)

    subscriber = mqtt_client("tutorial-sub", on_connect=on_connect)
    subscriber.connect()
    subscriber.wait_subscribed()

    publisher = mqtt_client("tutorial-pub")
    publisher.connect()
    publisher.publish(topic=TOPIC, payload=22, qos=qos)

    messages = subscriber.wait_messages(1)
    assert [(m.topic, m.payload, m.qos) for m in messages] == [(TOPIC, b"22", qos)]
    assert not messages[0].retain, "a live delivery carries RETAIN 0 [MQTT-3.3.1-9]"
