"""Will messages, through paho-mqtt."""

import time

STATUS = "Ergeschoss/Wohnzimmer/Status"


def watch(mqtt_client, topic=STATUS):
    watcher = mqtt_client("will-watcher")
    watcher.connect()
    watcher.subscribe(topic, qos=1)
    return watcher


def test_will_published_when_connection_drops_without_disconnect(mqtt_client):
    """A client that set a will and then loses its TCP connection without sending DISCONNECT
    has its will published [MQTT-3.1.2-8], as a non-retained message since will retain is 0
    [MQTT-3.1.2-16]."""
    watcher = watch(mqtt_client)

    sensor = mqtt_client("will-sensor")
    sensor.will_set(STATUS, b"offline", qos=1)
    sensor.connect()
    sensor.drop()

    message = watcher.wait_message_on(STATUS)
    assert message == (STATUS, b"offline", 1, False)


def test_will_not_published_after_clean_disconnect(mqtt_client):
    """A will is discarded when the client sends DISCONNECT [MQTT-3.1.2-10], so a clean
    disconnect publishes nothing."""
    watcher = watch(mqtt_client)

    sensor = mqtt_client("will-sensor")
    sensor.will_set(STATUS, b"offline", qos=1)
    sensor.connect()
    sensor.disconnect()

    # A marker from another client, published after the disconnect completed, follows any will
    # on the watcher's connection; a short grace period covers a late-processed DISCONNECT.
    time.sleep(0.3)
    marker = mqtt_client("will-marker")
    marker.connect()
    marker.publish(STATUS, b"marker", qos=1)
    watcher.wait_message_on(STATUS, b"marker")
    time.sleep(0.3)
    assert [m.payload for m in watcher.received()] == [b"marker"]


def test_retained_will_reaches_later_subscriber(mqtt_client):
    """A will with will retain 1 is published as a retained message [MQTT-3.1.2-17]: a client
    subscribing after it was published receives it flagged retained [MQTT-3.3.1-8]."""
    watcher = watch(mqtt_client)

    sensor = mqtt_client("will-sensor")
    sensor.will_set(STATUS, b"offline", qos=1, retain=True)
    sensor.connect()
    sensor.drop()
    # Live delivery to an established subscription: RETAIN 0 [MQTT-3.3.1-9].
    assert watcher.wait_message_on(STATUS) == (STATUS, b"offline", 1, False)

    late = mqtt_client("will-late")
    late.connect()
    late.subscribe(STATUS, qos=1)
    assert late.wait_message_on(STATUS) == (STATUS, b"offline", 1, True)
