"""Topic filters with the single-level (+) and multi-level (#) wildcards, through paho-mqtt."""

PUBLISHED = [
    "Ergeschoss/Wohnzimmer/Temp",
    "Ergeschoss/Kueche/Temp",
    "Ergeschoss/Kueche/Feuchte",
    "Ergeschoss/Wohnzimmer/Fenster/Temp",
    "Ergeschoss",
    "Obergeschoss/Bad/Temp",
    "Ergeschoss/Ende/Temp",  # matches every filter below: the end-of-test marker
]


def received_after_marker(mqtt_client, topic_filter):
    subscriber = mqtt_client("wild-sub")
    subscriber.connect()
    subscriber.subscribe(topic_filter, qos=1)
    publisher = mqtt_client("wild-pub")
    publisher.connect()
    for topic in PUBLISHED:
        publisher.publish(topic, topic.encode(), qos=1)
    subscriber.wait_message_on(PUBLISHED[-1])
    return [m.topic for m in subscriber.received()]


def test_single_level_wildcard_matches_exactly_one_level(mqtt_client):
    """`Ergeschoss/+/Temp` matches one whole level in place of the `+` [MQTT-4.7.1-3], no
    more and no fewer; each delivered topic matches the filter [MQTT-3.3.2-3], in the order
    published [MQTT-4.6.0-6]."""
    assert received_after_marker(mqtt_client, "Ergeschoss/+/Temp") == [
        "Ergeschoss/Wohnzimmer/Temp",
        "Ergeschoss/Kueche/Temp",
        "Ergeschoss/Ende/Temp",
    ]


def test_multi_level_wildcard_matches_parent_and_all_children(mqtt_client):
    """`Ergeschoss/#` [MQTT-4.7.1-2] matches every topic below Ergeschoss and Ergeschoss itself,
    and nothing outside it [MQTT-3.3.2-3], in the order published [MQTT-4.6.0-6]."""
    assert received_after_marker(mqtt_client, "Ergeschoss/#") == PUBLISHED[:5] + [PUBLISHED[6]]


def test_lone_multi_level_wildcard_matches_everything(mqtt_client):
    """`#` alone matches every topic [MQTT-4.7.1-2] (none here starts with `$`)."""
    assert received_after_marker(mqtt_client, "#") == PUBLISHED


def test_overlapping_subscriptions_deliver_at_highest_qos(mqtt_client):
    """A message matching two subscriptions of one client is delivered respecting the highest
    QoS of them [MQTT-3.3.5-1] (further copies are allowed, each at its subscription's QoS).
    mosquitto 2.0.11 fails this one: it sends a single copy at QoS 0
    (eclipse-mosquitto/mosquitto#3319)."""
    subscriber = mqtt_client("wild-sub")
    subscriber.connect()
    subscriber.subscribe("Ergeschoss/+/Temp", qos=0)
    subscriber.subscribe("Ergeschoss/#", qos=1)
    publisher = mqtt_client("wild-pub")
    publisher.connect()
    publisher.publish("Ergeschoss/Wohnzimmer/Temp", b"22", qos=1)
    subscriber.wait_message_on("Ergeschoss/Wohnzimmer/Temp")
    subscriber.subscribe("e2e/done", qos=1)  # a round trip, so any second copy has arrived
    qos_levels = sorted(m.qos for m in subscriber.received())
    assert qos_levels[-1] == 1 and len(qos_levels) <= 2, qos_levels
