//! Router scenario tests for MQTT 5 and mixed-version traffic, with a fake clock.

use std::sync::Arc;
use std::time::Duration;

use super::LinkLoss;
use super::tests::{Harness, connect_packet, pid, publish, subscribe};
use crate::config::Config;
use crate::protocol::{
    Connect, Disconnect, Packet, Properties, ProtocolVersion, PubResponse, QoS, ReasonCode,
    RetainHandling, Subscribe, SubscriptionOptions, SubscriptionRequest, Will,
};

const V5: ProtocolVersion = ProtocolVersion::V5;

fn connect_v5(client_id: &str, clean: bool, properties: Properties) -> Connect {
    Connect {
        protocol: V5,
        properties,
        ..connect_packet(client_id, clean)
    }
}

fn v5(h: &mut Harness, client_id: &str) -> super::LinkId {
    h.connect_with(connect_v5(client_id, true, Properties::default()))
        .0
}

fn subscribe_with(
    id: u16,
    filter: &str,
    options: SubscriptionOptions,
    sub_id: Option<u32>,
) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: pid(id),
        filters: vec![SubscriptionRequest {
            filter: filter.to_owned(),
            options,
        }],
        properties: Properties {
            subscription_identifiers: sub_id.into_iter().collect(),
            ..Properties::default()
        },
    })
}

fn publish_with(topic: &str, qos: QoS, id: Option<u16>, properties: Properties) -> Packet {
    let mut packet = publish(topic, b"payload", qos, id, false);
    if let Packet::Publish(publish) = &mut packet {
        publish.properties = properties;
    }
    packet
}

fn disconnect_reason(packets: &[Packet]) -> Option<ReasonCode> {
    packets.iter().find_map(|packet| match packet {
        Packet::Disconnect(disconnect) => Some(disconnect.reason),
        _ => None,
    })
}

#[test]
fn connack_announces_limits_and_assigns_an_id() {
    let mut h = Harness::new(Config::default());
    let link = h.open();
    h.send(
        link,
        &Packet::Connect(Box::new(connect_v5("", false, Properties::default()))),
    );
    match h.read(link).as_slice() {
        [Packet::ConnAck(ack)] => {
            assert_eq!(ack.reason, ReasonCode::SUCCESS);
            let p = &ack.properties;
            assert!(
                p.assigned_client_identifier
                    .as_deref()
                    .is_some_and(|id| !id.is_empty())
            );
            assert_eq!(p.receive_maximum, Some(20));
            assert_eq!(p.topic_alias_maximum, Some(10));
            assert_eq!(p.shared_subscription_available, Some(1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsupported_authentication_method_is_refused_with_0x8c() {
    let mut h = Harness::new(Config::default());
    let link = h.open();
    let properties = Properties {
        authentication_method: Some("SCRAM-SHA-1".into()),
        ..Properties::default()
    };
    h.send(
        link,
        &Packet::Connect(Box::new(connect_v5("a", true, properties))),
    );
    match h.read(link).as_slice() {
        [Packet::ConnAck(ack)] => assert_eq!(ack.reason, ReasonCode::BAD_AUTHENTICATION_METHOD),
        other => panic!("{other:?}"),
    }
    assert!(h.router.wants_close(link));
}

#[test]
fn properties_reach_v5_subscribers_in_order_and_v3_subscribers_get_the_plain_message() {
    let mut h = Harness::new(Config::default());
    let new = v5(&mut h, "new");
    let old = h.connect("old");
    h.subscribe(new, "t", QoS::AtMostOnce);
    h.subscribe(old, "t", QoS::AtMostOnce);
    let p = v5(&mut h, "p");
    let properties = Properties {
        content_type: Some("text/plain".into()),
        payload_format_indicator: Some(1),
        response_topic: Some("reply/here".into()),
        correlation_data: Some(vec![1, 2, 3]),
        user_properties: vec![("z".into(), "1".into()), ("a".into(), "2".into())],
        ..Properties::default()
    };
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
    let alias = |n| Properties {
        topic_alias: Some(n),
        ..Properties::default()
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
    let properties = Properties {
        topic_alias_maximum: Some(1),
        ..Properties::default()
    };
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
    let properties = Properties {
        session_expiry_interval: Some(3600),
        ..Properties::default()
    };
    let (s, _) = h.connect_with(connect_v5("s", false, properties.clone()));
    h.subscribe(s, "t", QoS::AtLeastOnce);
    h.router.close_link(s, LinkLoss::PeerClosed, h.now);
    let p = v5(&mut h, "p");
    let expiry = |seconds| Properties {
        message_expiry_interval: Some(seconds),
        ..Properties::default()
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
    let properties = Properties {
        receive_maximum: Some(1),
        ..Properties::default()
    };
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
    let properties = Properties {
        maximum_packet_size: Some(64),
        ..Properties::default()
    };
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
fn subscription_options_no_local_retain_as_published_retain_handling_and_identifiers() {
    let mut h = Harness::new(Config::default());
    let s = v5(&mut h, "s");
    let options = SubscriptionOptions {
        qos: QoS::AtMostOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::SendAtSubscribe,
    };
    h.send(s, &subscribe_with(1, "t/#", options, Some(7)));
    h.read(s);
    // No Local: its own message does not come back [MQTT-3.8.3-3].
    h.send(s, &publish("t/own", b"x", QoS::AtMostOnce, None, false));
    assert!(h.publishes(s).is_empty());
    let p = h.connect("p");
    h.send(p, &publish("t/x", b"x", QoS::AtMostOnce, None, true));
    let got = h.publishes(s);
    assert!(got[0].retain, "retain as published [MQTT-3.3.1-12]");
    assert_eq!(
        got[0].properties.subscription_identifiers,
        vec![7],
        "[MQTT-3.3.4-3]"
    );
    // Retain handling 1 sends retained messages only for a new subscription; 2 never.
    let r = v5(&mut h, "r");
    let mut options = SubscriptionOptions {
        retain_handling: RetainHandling::SendIfNew,
        ..SubscriptionOptions::default()
    };
    h.send(r, &subscribe_with(1, "t/#", options, None));
    assert_eq!(h.read(r).len(), 2);
    h.send(r, &subscribe_with(2, "t/#", options, None));
    assert_eq!(h.read(r).len(), 1);
    options.retain_handling = RetainHandling::DoNotSend;
    h.send(r, &subscribe_with(3, "t/+", options, None));
    assert_eq!(h.read(r).len(), 1);
}

#[test]
fn shared_subscription_round_robin_without_retained_and_reassigned_on_leave() {
    let mut h = Harness::new(Config::default());
    let p = h.connect("p");
    h.send(
        p,
        &publish("jobs/1", b"retained", QoS::AtMostOnce, None, true),
    );
    let a = v5(&mut h, "a");
    let b = v5(&mut h, "b");
    for link in [a, b] {
        h.send(
            link,
            &subscribe(1, &[("$share/workers/jobs/#", QoS::AtLeastOnce)]),
        );
        let packets = h.read(link);
        assert_eq!(
            packets.len(),
            1,
            "no retained message on a shared subscription"
        );
    }
    for i in 1..=4 {
        h.send(
            p,
            &publish("jobs/x", &[i], QoS::AtLeastOnce, Some(u16::from(i)), false),
        );
    }
    let got_a = h.publishes(a);
    let got_b = h.publishes(b);
    assert_eq!((got_a.len(), got_b.len()), (2, 2));
    // a leaves without acknowledging: its two messages go to b.
    h.router.close_link(a, LinkLoss::PeerClosed, h.now);
    let moved = h.publishes(b);
    let mut payloads: Vec<u8> = moved.iter().map(|publish| publish.payload[0]).collect();
    payloads.sort_unstable();
    let mut expected: Vec<u8> = got_a.iter().map(|publish| publish.payload[0]).collect();
    expected.sort_unstable();
    assert_eq!(payloads, expected);
}

#[test]
fn session_expiry_ends_an_offline_session() {
    let mut h = Harness::new(Config::default());
    let properties = Properties {
        session_expiry_interval: Some(10),
        ..Properties::default()
    };
    let (s, _) = h.connect_with(connect_v5("s", false, properties.clone()));
    h.router.close_link(s, LinkLoss::PeerClosed, h.now);
    h.now += Duration::from_secs(5);
    h.router.tick(h.now);
    let (s, present) = h.connect_with(connect_v5("s", false, properties.clone()));
    assert!(present);
    h.router.close_link(s, LinkLoss::PeerClosed, h.now);
    h.now += Duration::from_secs(11);
    h.router.tick(h.now);
    assert_eq!(h.router.session_count(), 0);
    let (_, present) = h.connect_with(connect_v5("s", false, properties));
    assert!(!present);
    // Expiry 0 (the default) ends the session with the connection.
    let t = v5(&mut h, "t");
    h.router.close_link(t, LinkLoss::PeerClosed, h.now);
    assert_eq!(h.router.session_count(), 1);
}

fn connect_with_delayed_will(client_id: &str, delay: u32) -> Connect {
    let mut connect = connect_v5(
        client_id,
        false,
        Properties {
            session_expiry_interval: Some(100),
            ..Properties::default()
        },
    );
    connect.will = Some(Will {
        topic: format!("wills/{client_id}").into(),
        payload: Arc::from(&b"gone"[..]),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Properties {
            will_delay_interval: Some(delay),
            ..Properties::default()
        },
    });
    connect
}

#[test]
fn will_delay_publishes_late_and_a_resumed_session_cancels_it() {
    let mut h = Harness::new(Config::default());
    let s = h.connect("watcher");
    h.subscribe(s, "wills/#", QoS::AtMostOnce);
    let (late, _) = h.connect_with(connect_with_delayed_will("late", 5));
    let (back, _) = h.connect_with(connect_with_delayed_will("back", 5));
    h.router.close_link(late, LinkLoss::PeerClosed, h.now);
    h.router.close_link(back, LinkLoss::PeerClosed, h.now);
    h.now += Duration::from_secs(3);
    h.router.tick(h.now);
    assert!(h.publishes(s).is_empty());
    h.connect_with(connect_v5("back", false, Properties::default()));
    h.now += Duration::from_secs(3);
    h.router.tick(h.now);
    let got = h.publishes(s);
    assert_eq!(got.len(), 1, "[MQTT-3.1.3-9]");
    assert_eq!(&*got[0].topic, "wills/late");
}

#[test]
fn broker_sends_disconnect_reasons_before_closing() {
    let mut h = Harness::new(Config::default());
    // Takeover: 0x8E to the old connection.
    let old = v5(&mut h, "dup");
    v5(&mut h, "dup");
    assert_eq!(
        disconnect_reason(&h.read(old)),
        Some(ReasonCode::SESSION_TAKEN_OVER)
    );
    // Keepalive timeout: 0x8D.
    let mut connect = connect_v5("ka", true, Properties::default());
    connect.keep_alive = 1;
    let (ka, _) = h.connect_with(connect);
    h.now += Duration::from_secs(2);
    h.router.tick(h.now);
    assert_eq!(
        disconnect_reason(&h.read(ka)),
        Some(ReasonCode::KEEP_ALIVE_TIMEOUT)
    );
    // Protocol error: 0x82 with a reason string.
    let bad = v5(&mut h, "bad");
    h.send(bad, &Packet::PingResp);
    assert_eq!(
        disconnect_reason(&h.read(bad)),
        Some(ReasonCode::PROTOCOL_ERROR)
    );
    // Shutdown: 0x8B.
    let last = v5(&mut h, "last");
    h.router.shut_down(h.now);
    assert_eq!(
        disconnect_reason(&h.read(last)),
        Some(ReasonCode::SERVER_SHUTTING_DOWN)
    );
}

#[test]
fn disconnect_with_will_publishes_it_and_expiry_cannot_grow_from_zero() {
    let mut h = Harness::new(Config::default());
    let s = h.connect("watcher");
    h.subscribe(s, "wills/#", QoS::AtMostOnce);
    let (c, _) = h.connect_with(connect_with_delayed_will("c", 0));
    let disconnect = Disconnect {
        reason: ReasonCode::DISCONNECT_WITH_WILL,
        properties: Properties::default(),
    };
    h.send(c, &Packet::Disconnect(disconnect));
    assert_eq!(h.publishes(s).len(), 1);
    let z = v5(&mut h, "zero");
    let disconnect = Disconnect {
        reason: ReasonCode::NORMAL_DISCONNECTION,
        properties: Properties {
            session_expiry_interval: Some(60),
            ..Properties::default()
        },
    };
    h.send(z, &Packet::Disconnect(disconnect));
    assert_eq!(
        disconnect_reason(&h.read(z)),
        Some(ReasonCode::PROTOCOL_ERROR),
        "section 3.14.2.2.2"
    );
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

#[test]
fn max_keepalive_is_imposed_on_v5_and_refuses_longer_v3_keepalives() {
    let config = Config {
        max_keepalive: 30,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let mut connect = connect_v5("five", true, Properties::default());
    connect.keep_alive = 120;
    let link = h.open();
    h.send(link, &Packet::Connect(Box::new(connect)));
    match h.read(link).as_slice() {
        [Packet::ConnAck(ack)] => {
            assert_eq!(ack.reason, ReasonCode::SUCCESS);
            assert_eq!(
                ack.properties.server_keep_alive,
                Some(30),
                "[MQTT-3.2.2-21]"
            );
        }
        other => panic!("{other:?}"),
    }
    let mut connect = connect_packet("three", true);
    connect.keep_alive = 120;
    let link = h.open();
    h.send(link, &Packet::Connect(Box::new(connect)));
    match h.read(link).as_slice() {
        [Packet::ConnAck(ack)] => {
            assert_eq!(
                ack.return_code,
                crate::protocol::ConnectReturnCode::IdentifierRejected
            );
        }
        other => panic!("{other:?}"),
    }
    let mut connect = connect_packet("short", true);
    connect.keep_alive = 20;
    h.connect_with(connect);
}
