//! Router scenario tests for MQTT 5 and mixed-version traffic, with a fake clock: CONNECT and
//! CONNACK, session expiry, delayed wills and DISCONNECT reasons, and the MQTT 5 helpers that
//! `tests_v5_publish.rs` and `tests_v5_subscribe.rs` share.

use std::sync::Arc;
use std::time::Duration;

use super::LinkLoss;
use super::tests::{Harness, connect_packet, pid, publish};
use crate::config::Config;
use crate::protocol::{
    Connect, Disconnect, Packet, Properties, PropertyValues, ProtocolVersion, QoS, ReasonCode,
    Subscribe, SubscriptionOptions, SubscriptionRequest, Will,
};

const V5: ProtocolVersion = ProtocolVersion::V5;

pub(super) fn connect_v5(client_id: &str, clean: bool, properties: Properties) -> Connect {
    Connect {
        protocol: V5,
        properties,
        ..connect_packet(client_id, clean)
    }
}

pub(super) fn v5(h: &mut Harness, client_id: &str) -> super::LinkId {
    h.connect_with(connect_v5(client_id, true, Properties::default()))
        .0
}

pub(super) fn subscribe_with(
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
        properties: PropertyValues {
            subscription_identifiers: sub_id.into_iter().collect(),
            ..PropertyValues::default()
        }
        .into(),
    })
}

pub(super) fn publish_with(
    topic: &str,
    qos: QoS,
    id: Option<u16>,
    properties: Properties,
) -> Packet {
    let mut packet = publish(topic, b"payload", qos, id, false);
    if let Packet::Publish(publish) = &mut packet {
        publish.properties = properties;
    }
    packet
}

pub(super) fn disconnect_reason(packets: &[Packet]) -> Option<ReasonCode> {
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
    let properties: Properties = PropertyValues {
        authentication_method: Some("SCRAM-SHA-1".into()),
        ..PropertyValues::default()
    }
    .into();
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
fn session_expiry_ends_an_offline_session() {
    let mut h = Harness::new(Config::default());
    let properties: Properties = PropertyValues {
        session_expiry_interval: Some(10),
        ..PropertyValues::default()
    }
    .into();
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
        PropertyValues {
            session_expiry_interval: Some(100),
            ..PropertyValues::default()
        }
        .into(),
    );
    connect.will = Some(Will {
        topic: format!("wills/{client_id}").into(),
        payload: Arc::from(&b"gone"[..]),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: PropertyValues {
            will_delay_interval: Some(delay),
            ..PropertyValues::default()
        }
        .into(),
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
        properties: PropertyValues {
            session_expiry_interval: Some(60),
            ..PropertyValues::default()
        }
        .into(),
    };
    h.send(z, &Packet::Disconnect(disconnect));
    assert_eq!(
        disconnect_reason(&h.read(z)),
        Some(ReasonCode::PROTOCOL_ERROR),
        "section 3.14.2.2.2"
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
