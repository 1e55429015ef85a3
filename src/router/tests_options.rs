//! Router scenario tests for the per-listener rules (mount point, maximum QoS, topic alias
//! maximum) and for `retain_available false`: links opened on a listener of the
//! configuration, a fake clock.

use std::net::SocketAddr;

use super::tests::{Harness, connect_packet, publish, subscribe};
use super::tests_v5::publish_with;
use super::{LinkId, LinkLoss, ListenerId};
use crate::config::{Config, ListenerConfig, ListenerOptions};
use crate::protocol::{
    ConnAck, Connect, Packet, Properties, PropertyValues, ProtocolVersion, QoS, ReasonCode, SubAck,
    Will,
};

const V5: ProtocolVersion = ProtocolVersion::V5;

/// Listener 0 has `first`, listener 1 the defaults.
fn config_with(first: ListenerOptions) -> Config {
    let addr: SocketAddr = "127.0.0.1:1883".parse().unwrap();
    Config {
        listeners: vec![
            ListenerConfig {
                options: first,
                ..ListenerConfig::plain(addr)
            },
            ListenerConfig::plain(addr),
        ],
        ..Config::default()
    }
}

fn mounted(prefix: &str) -> Config {
    config_with(ListenerOptions {
        mount_point: Some(prefix.to_owned()),
        ..ListenerOptions::default()
    })
}

fn max_qos_1() -> Config {
    config_with(ListenerOptions {
        max_qos: 1,
        ..ListenerOptions::default()
    })
}

/// Opens a link on `listener` and sends `connect`; returns the link and what came back.
fn connect_on(h: &mut Harness, listener: usize, connect: Connect) -> (LinkId, Vec<Packet>) {
    let token = 1000 + h.router.link_count();
    let peer: SocketAddr = "127.0.0.1:40001".parse().unwrap();
    let link = h
        .router
        .open_link_on(token, ListenerId::new(listener), peer, h.now);
    h.send(link, &Packet::Connect(Box::new(connect)));
    let packets = h.read(link);
    (link, packets)
}

fn connected_on(h: &mut Harness, listener: usize, connect: Connect) -> LinkId {
    let (link, packets) = connect_on(h, listener, connect);
    match packets.first() {
        Some(Packet::ConnAck(ack)) if ack.reason == ReasonCode::SUCCESS => link,
        other => panic!("expected a successful CONNACK, got {other:?}"),
    }
}

fn v5(client_id: &str) -> Connect {
    Connect {
        protocol: V5,
        ..connect_packet(client_id, true)
    }
}

fn with_will(mut connect: Connect, topic: &str, qos: QoS, retain: bool) -> Connect {
    connect.will = Some(Will {
        topic: topic.into(),
        payload: b"gone".as_slice().into(),
        qos,
        retain,
        properties: Properties::default(),
    });
    connect
}

fn topics(h: &mut Harness, link: LinkId) -> Vec<String> {
    h.publishes(link)
        .iter()
        .map(|p| p.topic.to_string())
        .collect()
}

fn connack(packets: &[Packet]) -> &ConnAck {
    match packets.first() {
        Some(Packet::ConnAck(ack)) => ack,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

fn disconnect_reason(packets: &[Packet]) -> Option<ReasonCode> {
    packets.iter().find_map(|packet| match packet {
        Packet::Disconnect(disconnect) => Some(disconnect.reason),
        _ => None,
    })
}

#[test]
fn a_mount_point_prefixes_what_its_clients_publish_and_strips_what_they_receive() {
    let mut h = Harness::new(mounted("site/"));
    let inside = connected_on(&mut h, 0, connect_packet("inside", true));
    let outside = connected_on(&mut h, 1, connect_packet("outside", true));
    h.subscribe(inside, "#", QoS::AtMostOnce);
    h.subscribe(outside, "#", QoS::AtMostOnce);
    h.send(inside, &publish("a/b", b"1", QoS::AtMostOnce, None, false));
    assert_eq!(topics(&mut h, outside), ["site/a/b"]);
    assert_eq!(topics(&mut h, inside), ["a/b"]);
    // A topic outside the mount point never reaches its clients, `$SYS` included.
    h.send(
        outside,
        &publish("other/x", b"2", QoS::AtMostOnce, None, false),
    );
    h.send(
        outside,
        &publish("$SYS/x", b"3", QoS::AtMostOnce, None, false),
    );
    assert!(topics(&mut h, inside).is_empty());
    h.subscribe(inside, "$SYS/#", QoS::AtMostOnce);
    h.send(
        outside,
        &publish("$SYS/y", b"4", QoS::AtMostOnce, None, false),
    );
    assert!(topics(&mut h, inside).is_empty());
    // What is published under the mount point from outside reaches them, stripped.
    h.send(
        outside,
        &publish("site/c", b"5", QoS::AtMostOnce, None, false),
    );
    assert_eq!(topics(&mut h, inside), ["c"]);
}

#[test]
fn retained_messages_wills_and_unsubscribe_go_under_the_mount_point() {
    let mut h = Harness::new(mounted("site/"));
    let outside = connected_on(&mut h, 1, connect_packet("outside", true));
    h.send(
        outside,
        &publish("site/r", b"kept", QoS::AtMostOnce, None, true),
    );
    h.subscribe(outside, "site/will", QoS::AtMostOnce);
    let connect = with_will(
        connect_packet("inside", true),
        "will",
        QoS::AtMostOnce,
        false,
    );
    let inside = connected_on(&mut h, 0, connect);
    h.send(inside, &subscribe(1, &[("r", QoS::AtMostOnce)]));
    match h.read(inside).as_slice() {
        [Packet::SubAck(_), Packet::Publish(retained)] => {
            assert_eq!((&*retained.topic, retained.retain), ("r", true));
        }
        other => panic!("expected SUBACK and the retained message, got {other:?}"),
    }
    h.send(
        inside,
        &Packet::Unsubscribe(crate::protocol::Unsubscribe {
            packet_id: super::tests::pid(2),
            filters: vec!["r".into()],
            properties: Properties::default(),
        }),
    );
    h.read(inside);
    h.send(
        outside,
        &publish("site/r", b"new", QoS::AtMostOnce, None, false),
    );
    assert!(
        h.publishes(inside).is_empty(),
        "unsubscribed under the mount point"
    );
    h.router.close_link(inside, LinkLoss::PeerClosed, h.now);
    assert_eq!(topics(&mut h, outside), ["site/will"]);
}

#[test]
fn a_shared_subscription_on_a_mount_point_shares_topics_under_it() {
    let mut h = Harness::new(mounted("site/"));
    let inside = connected_on(&mut h, 0, v5("inside"));
    h.subscribe(inside, "$share/g/t/+", QoS::AtMostOnce);
    let outside = connected_on(&mut h, 1, connect_packet("outside", true));
    h.send(
        outside,
        &publish("t/1", b"no", QoS::AtMostOnce, None, false),
    );
    h.send(
        outside,
        &publish("site/t/2", b"yes", QoS::AtMostOnce, None, false),
    );
    assert_eq!(topics(&mut h, inside), ["t/2"]);
}

#[test]
fn a_resumed_session_keeps_messages_outside_a_new_mount_point_to_itself() {
    let mut h = Harness::new(mounted("site/"));
    // Subscribed through the plain listener, then back through the mounted one.
    let first = connected_on(&mut h, 1, connect_packet("roamer", false));
    h.subscribe(first, "plain/#", QoS::AtMostOnce);
    h.router.close_link(first, LinkLoss::PeerClosed, h.now);
    let again = connected_on(&mut h, 0, connect_packet("roamer", false));
    let publisher = connected_on(&mut h, 1, connect_packet("p", true));
    h.send(
        publisher,
        &publish("plain/x", b"x", QoS::AtMostOnce, None, false),
    );
    assert!(h.publishes(again).is_empty());
    h.router.check_invariants().unwrap();
}

#[test]
fn max_qos_is_announced_to_mqtt_5_clients_and_caps_granted_qos() {
    let mut h = Harness::new(max_qos_1());
    let (link, packets) = connect_on(&mut h, 0, v5("v5"));
    assert_eq!(connack(&packets).properties.maximum_qos, Some(1));
    h.send(
        link,
        &subscribe(1, &[("a", QoS::ExactlyOnce), ("b", QoS::AtMostOnce)]),
    );
    match h.read(link).as_slice() {
        [Packet::SubAck(SubAck { reasons, .. })] => {
            assert_eq!(
                reasons,
                &[ReasonCode::GRANTED_QOS_1, ReasonCode::GRANTED_QOS_0]
            );
        }
        other => panic!("expected SUBACK, got {other:?}"),
    }
    // [MQTT-3.2.2-9] the property is absent on a listener with QoS 2; its absence means 2.
    let (_, packets) = connect_on(&mut h, 1, v5("other"));
    assert_eq!(connack(&packets).properties.maximum_qos, None);
}

#[test]
fn a_publish_above_max_qos_ends_the_connection() {
    let mut h = Harness::new(max_qos_1());
    let link = connected_on(&mut h, 0, v5("v5"));
    h.send(link, &publish("a", b"x", QoS::AtLeastOnce, Some(1), false));
    assert!(matches!(h.read(link).as_slice(), [Packet::PubAck(_)]));
    h.send(link, &publish("a", b"x", QoS::ExactlyOnce, Some(2), false));
    // [MQTT-3.2.2-11] the client must not exceed it; the server closes with 0x9B.
    let packets = h.read(link);
    assert_eq!(
        disconnect_reason(&packets),
        Some(ReasonCode::QOS_NOT_SUPPORTED)
    );
    assert!(h.router.wants_close(link));
    // A 3.x client cannot be told; mosquitto closes the connection likewise.
    let link = connected_on(&mut h, 0, connect_packet("v3", true));
    h.send(link, &publish("a", b"x", QoS::ExactlyOnce, Some(3), false));
    assert!(h.read(link).is_empty());
    assert!(h.router.wants_close(link));
}

#[test]
fn a_will_above_max_qos_refuses_the_connection() {
    let mut h = Harness::new(max_qos_1());
    // [MQTT-3.2.2-12] CONNACK 0x9B for MQTT 5.
    let connect = with_will(v5("v5"), "w", QoS::ExactlyOnce, false);
    let (link, packets) = connect_on(&mut h, 0, connect);
    assert_eq!(connack(&packets).reason, ReasonCode::QOS_NOT_SUPPORTED);
    assert!(h.router.wants_close(link));
    // 3.x has no code for it: closed without a CONNACK, as mosquitto does.
    let connect = with_will(connect_packet("v3", true), "w", QoS::ExactlyOnce, false);
    let (link, packets) = connect_on(&mut h, 0, connect);
    assert!(packets.is_empty(), "{packets:?}");
    assert!(h.router.wants_close(link));
    // The same will is fine on a listener with QoS 2.
    connected_on(&mut h, 1, with_will(v5("ok"), "w", QoS::ExactlyOnce, false));
}

#[test]
fn retain_available_false_is_announced_and_a_retained_publish_ends_the_connection() {
    let config = Config {
        retain_available: false,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let (link, packets) = connect_on(&mut h, 0, v5("v5"));
    assert_eq!(connack(&packets).properties.retain_available, Some(0));
    h.send(link, &publish("a", b"x", QoS::AtMostOnce, None, false));
    h.send(link, &publish("a", b"x", QoS::AtMostOnce, None, true));
    assert_eq!(
        disconnect_reason(&h.read(link)),
        Some(ReasonCode::RETAIN_NOT_SUPPORTED)
    );
    assert!(h.router.wants_close(link));
    let link = connected_on(&mut h, 0, connect_packet("v3", true));
    h.send(link, &publish("a", b"x", QoS::AtLeastOnce, Some(1), true));
    assert!(h.read(link).is_empty());
    assert!(h.router.wants_close(link));
}

#[test]
fn retain_available_false_refuses_a_retained_will() {
    let config = Config {
        retain_available: false,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    // [MQTT-3.2.2-13] CONNACK 0x9A for MQTT 5; 3.x closed without one.
    let (link, packets) = connect_on(&mut h, 0, with_will(v5("v5"), "w", QoS::AtMostOnce, true));
    assert_eq!(connack(&packets).reason, ReasonCode::RETAIN_NOT_SUPPORTED);
    assert!(h.router.wants_close(link));
    let connect = with_will(connect_packet("v3", true), "w", QoS::AtMostOnce, true);
    let (link, packets) = connect_on(&mut h, 0, connect);
    assert!(packets.is_empty());
    assert!(h.router.wants_close(link));
    connected_on(&mut h, 0, with_will(v5("ok"), "w", QoS::AtMostOnce, false));
}

#[test]
fn a_link_opened_without_a_listener_or_on_an_unknown_one_has_no_rules() {
    let mut h = Harness::new(max_qos_1());
    let link = h.connect("plain");
    h.send(link, &publish("a", b"x", QoS::ExactlyOnce, Some(1), false));
    assert!(matches!(h.read(link).as_slice(), [Packet::PubRec(_)]));
    let link = connected_on(&mut h, 7, connect_packet("unknown", true));
    h.send(link, &publish("a", b"x", QoS::ExactlyOnce, Some(1), false));
    assert!(matches!(h.read(link).as_slice(), [Packet::PubRec(_)]));
}

#[test]
fn each_listener_announces_and_enforces_its_own_topic_alias_maximum() {
    let config = config_with(ListenerOptions {
        max_topic_alias: Some(2),
        ..ListenerOptions::default()
    });
    let mut h = Harness::new(config);
    let alias = |n| PropertyValues {
        topic_alias: Some(n),
        ..PropertyValues::default()
    };
    // Listener 0 sets 2; listener 1 sets none and takes the configuration's 10.
    for (listener, announced) in [(0, 2), (1, 10)] {
        let (link, packets) = connect_on(&mut h, listener, v5(&format!("c{listener}")));
        let Some(Packet::ConnAck(ack)) = packets.first() else {
            panic!("no CONNACK: {packets:?}");
        };
        assert_eq!(ack.properties.topic_alias_maximum, Some(announced));
        h.send(
            link,
            &publish_with("a/b", QoS::AtMostOnce, None, alias(3).into()),
        );
        // [MQTT-3.3.2-9] an alias above the maximum the server announced is an error.
        let refused = disconnect_reason(&h.read(link)) == Some(ReasonCode::TOPIC_ALIAS_INVALID);
        assert_eq!(refused, announced < 3, "listener {listener}");
    }
}

#[test]
fn a_reload_sets_the_topic_alias_maximum_of_listeners_without_their_own() {
    let config = config_with(ListenerOptions {
        max_topic_alias: Some(2),
        ..ListenerOptions::default()
    });
    let mut h = Harness::new(config.clone());
    h.router.reconfigure(&Config {
        topic_alias_maximum: 5,
        ..config
    });
    for (listener, announced) in [(0, 2), (1, 5)] {
        let (_, packets) = connect_on(&mut h, listener, v5(&format!("r{listener}")));
        let Some(Packet::ConnAck(ack)) = packets.first() else {
            panic!("no CONNACK: {packets:?}");
        };
        assert_eq!(ack.properties.topic_alias_maximum, Some(announced));
    }
}
