"""Many messages through one subscription, through paho-mqtt."""

import pytest

TOPIC = "Ergeschoss/Wohnzimmer/Temp"
COUNT = 1000


@pytest.mark.parametrize("qos", [1, 2])
def test_many_messages_arrive_complete_and_in_order(mqtt_client, qos):
    """1,000 messages published back to back (paho keeps up to 20 in flight) all arrive, once
    each and in the order they were published [MQTT-4.6.0-6], at the QoS published."""
    subscriber = mqtt_client("many-sub")
    subscriber.connect()
    subscriber.subscribe(TOPIC, qos=qos)

    publisher = mqtt_client("many-pub")
    publisher.connect()
    for i in range(COUNT):
        publisher.publish_nowait(TOPIC, str(i), qos=qos)
    publisher.wait_acked(COUNT, timeout=60)

    messages = subscriber.wait_messages(COUNT, timeout=60)
    payloads = [int(m.payload) for m in messages]
    assert payloads == list(range(COUNT))
    assert {(m.topic, m.qos, m.retain) for m in messages} == {(TOPIC, qos, False)}
