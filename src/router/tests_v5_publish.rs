//! Router scenario tests of MQTT 5 messages: properties across versions, topic aliases both
//! ways, message expiry, and the limits a client sets on what it receives.

use std::time::Duration;

use super::LinkLoss;
use super::tests::{Harness, publish};
use super::tests_v5::{connect_v5, disconnect_reason, publish_with, v5};
use crate::config::Config;
use crate::protocol::{Packet, Properties, PropertyValues, PubResponse, QoS, ReasonCode};

#[test]
fn properties_reach_v5_subscribers_in_order_and_v3_subscribers_get_the_plain_message() {
    let mut h = Harness::new(Config::default());
    let new = v5(&mut h, "new");
    let old = h.connect("old");
    h.subscribe(new, "t", QoS::AtMostOnce);
    h.subscribe(old, "t", QoS::AtMostOnce);
    let p = v5(&mut h, "p");
    let properties: Properties = PropertyValues {
        content_type: Some("text/plain".into()),
        payload_format_indicator: Some(1),
        response_topic: Some("reply/here".into()),
        correlation_data: Some(vec![1, 2, 3]),
        user_properties: vec![("z".into(), "1".into()), ("a".into(), "2".into())],
        ..PropertyValues::default()
    }
    .into();
    h.send(
        p,
        &publish_with("t", QoS::AtMostOnce, None, properties.clone()),
    );
    let got = h.publishes(new);
    assert_eq!(
        got[0].properties, properties,
        "[MQTT-3.3.2-17] [MQTT-3.3.2-18]"
    );
    let got = h.publishes(old);
    assert_eq!(&*got[0].payload, b"payload");
    // A v3 publisher's message reaches a v5 subscriber with no properties.
    let p3 = h.connect("p3");
    h.send(p3, &publish("t", b"v3", QoS::AtLeastOnce, Some(1), false));
    let got = h.publishes(new);
    assert_eq!(&*got[0].payload, b"v3");
    assert!(got[0].properties.is_empty());
}

#[test]
fn inbound_topic_aliases_are_resolved_and_bad_ones_close_with_0x94() {
    let mut h = Harness::new(Config::default());
    let s = h.connect("s");
    h.subscribe(s, "long/topic/name", QoS::AtMostOnce);
    let p = v5(&mut h, "p");
    let alias = |n| {
        PropertyValues {
            topic_alias: Some(n),
            ..PropertyValues::default()
        }
        .into()
    };
    h.send(
        p,
        &publish_with("long/topic/name", QoS::AtMostOnce, None, alias(3)),
    );
    h.send(p, &publish_with("", QoS::AtMostOnce, None, alias(3)));
    let got = h.publishes(s);
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|publish| &*publish.topic == "long/topic/name")
    );
    h.send(p, &publish_with("x", QoS::AtMostOnce, None, alias(11)));
    assert_eq!(
        disconnect_reason(&h.read(p)),
        Some(ReasonCode::TOPIC_ALIAS_INVALID)
    );
    assert!(h.router.wants_close(p));
    let q = v5(&mut h, "q");
    h.send(q, &publish_with("", QoS::AtMostOnce, None, alias(4)));
    assert_eq!(
        disconnect_reason(&h.read(q)),
        Some(ReasonCode::PROTOCOL_ERROR)
    );
}

#[test]
fn outbound_topic_aliases_replace_repeated_topics() {
    let mut h = Harness::new(Config::default());
    let properties: Properties = PropertyValues {
        topic_alias_maximum: Some(1),
        ..PropertyValues::default()
    }
    .into();
    let (s, _) = h.connect_with(connect_v5("s", true, properties));
    h.subscribe(s, "#", QoS::AtMostOnce);
    let p = h.connect("p");
    for topic in ["a/b", "a/b", "c/d"] {
        h.send(p, &publish(topic, b"x", QoS::AtMostOnce, None, false));
    }
    let got = h.publishes(s);
    assert_eq!(
        (&*got[0].topic, got[0].properties.topic_alias),
        ("a/b", Some(1))
    );
    assert_eq!(
        (&*got[1].topic, got[1].properties.topic_alias),
        ("", Some(1))
    );
    // The one alias is taken: further topics go out in full.
    assert_eq!(
        (&*got[2].topic, got[2].properties.topic_alias),
        ("c/d", None)
    );
}

#[test]
fn expired_messages_are_not_delivered_and_the_remaining_interval_is_sent() {
    let mut h = Harness::new(Config::default());
    let properties: Properties = PropertyValues {
        session_expiry_interval: Some(3600),
        ..PropertyValues::default()
    }
    .into();
    let (s, _) = h.connect_with(connect_v5("s", false, properties.clone()));
    h.subscribe(s, "t", QoS::AtLeastOnce);
    h.router.close_link(s, LinkLoss::PeerClosed, h.now);
    let p = v5(&mut h, "p");
    let expiry = |seconds| {
        PropertyValues {
            message_expiry_interval: Some(seconds),
            ..PropertyValues::default()
        }
        .into()
    };
    h.send(p, &publish_with("t", QoS::AtLeastOnce, Some(1), expiry(10)));
    h.send(
        p,
        &publish_with("t", QoS::AtLeastOnce, Some(2), expiry(100)),
    );
    h.now += Duration::from_secs(40);
    let (s, present) = h.connect_with(connect_v5("s", false, properties));
    assert!(present);
    let got = h.publishes(s);
    assert_eq!(
        got.len(),
        1,
        "[MQTT-3.3.2-5] the expired message is dropped"
    );
    assert_eq!(
        got[0].properties.message_expiry_interval,
        Some(60),
        "[MQTT-3.3.2-6]"
    );
}

#[test]
fn client_receive_maximum_limits_messages_in_flight() {
    let mut h = Harness::new(Config::default());
    let properties: Properties = PropertyValues {
        receive_maximum: Some(1),
        ..PropertyValues::default()
    }
    .into();
    let (s, _) = h.connect_with(connect_v5("s", true, properties));
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect("p");
    for i in 1..=3 {
        h.send(p, &publish("t", b"x", QoS::AtLeastOnce, Some(i), false));
    }
    let got = h.publishes(s);
    assert_eq!(got.len(), 1, "[MQTT-3.3.4-9]");
    h.send(
        s,
        &Packet::PubAck(PubResponse::new(got[0].packet_id.unwrap())),
    );
    assert_eq!(h.publishes(s).len(), 1);
}

#[test]
fn deliveries_larger_than_the_client_accepts_are_dropped() {
    let mut h = Harness::new(Config::default());
    let properties: Properties = PropertyValues {
        maximum_packet_size: Some(64),
        ..PropertyValues::default()
    }
    .into();
    let (s, _) = h.connect_with(connect_v5("s", true, properties));
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect("p");
    h.send(
        p,
        &publish("t", &[0; 100], QoS::AtLeastOnce, Some(1), false),
    );
    h.send(p, &publish("t", b"small", QoS::AtLeastOnce, Some(2), false));
    let got = h.publishes(s);
    assert_eq!(got.len(), 1, "[MQTT-3.1.2-24]");
    assert_eq!(&*got[0].payload, b"small");
}

#[test]
fn inbound_qos2_beyond_the_receive_maximum_closes_with_0x93() {
    let config = Config {
        max_inflight_messages: 2,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let p = v5(&mut h, "p");
    for i in 1..=3 {
        h.send(p, &publish("t", b"x", QoS::ExactlyOnce, Some(i), false));
    }
    let packets = h.read(p);
    assert_eq!(
        disconnect_reason(&packets),
        Some(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED)
    );
}
