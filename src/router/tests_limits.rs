//! Router scenario tests for the global delivery settings a mosquitto.conf gives:
//! message_size_limit, upgrade_outgoing_qos, allow_duplicate_messages, max_inflight_bytes and
//! persistent_client_expiration, with a fake clock.

use std::time::Duration;

use super::tests::{Harness, connect_packet, publish, subscribe};
use super::{LinkId, LinkLoss};
use crate::config::Config;
use crate::protocol::{
    Connect, Packet, Properties, PropertyValues, ProtocolVersion, PubResponse, QoS, ReasonCode,
    Will,
};

const V5: ProtocolVersion = ProtocolVersion::V5;

fn v5(client_id: &str, clean: bool, expiry: Option<u32>) -> Connect {
    Connect {
        protocol: V5,
        properties: PropertyValues {
            session_expiry_interval: expiry,
            ..PropertyValues::default()
        }
        .into(),
        ..connect_packet(client_id, clean)
    }
}

fn size_limited() -> Harness {
    Harness::new(Config {
        message_size_limit: 5,
        ..Config::default()
    })
}

fn pub_response(packets: &[Packet]) -> Option<(&'static str, ReasonCode)> {
    packets.iter().find_map(|packet| match packet {
        Packet::PubAck(r) => Some(("PUBACK", r.reason)),
        Packet::PubRec(r) => Some(("PUBREC", r.reason)),
        _ => None,
    })
}

#[test]
fn a_payload_above_message_size_limit_is_dropped_and_its_flow_completed() {
    let mut h = size_limited();
    let watcher = h.connect("watcher");
    h.subscribe(watcher, "#", QoS::ExactlyOnce);
    let link = h.connect_with(v5("v5", true, None)).0;
    h.send(link, &publish("a", b"12345", QoS::AtMostOnce, None, false));
    assert_eq!(h.publishes(watcher).len(), 1, "at the limit is accepted");
    h.send(link, &publish("a", b"123456", QoS::AtMostOnce, None, false));
    h.send(
        link,
        &publish("a", b"123456", QoS::AtLeastOnce, Some(1), false),
    );
    assert_eq!(
        pub_response(&h.read(link)),
        Some(("PUBACK", ReasonCode::PACKET_TOO_LARGE))
    );
    h.send(
        link,
        &publish("a", b"123456", QoS::ExactlyOnce, Some(2), true),
    );
    assert_eq!(
        pub_response(&h.read(link)),
        Some(("PUBREC", ReasonCode::PACKET_TOO_LARGE))
    );
    assert!(h.publishes(watcher).is_empty());
    assert!(!h.router.wants_close(link));
    // A 3.x QoS 2 flow completes with PUBREL and PUBCOMP.
    let v3 = h.connect("v3");
    h.send(
        v3,
        &publish("a", b"123456", QoS::ExactlyOnce, Some(3), false),
    );
    assert_eq!(
        pub_response(&h.read(v3)),
        Some(("PUBREC", ReasonCode::SUCCESS))
    );
    h.send(v3, &Packet::PubRel(PubResponse::new(super::tests::pid(3))));
    assert!(matches!(h.read(v3).as_slice(), [Packet::PubComp(_)]));
    assert!(h.publishes(watcher).is_empty());
    // Nothing was retained either.
    let late = h.connect("late");
    h.subscribe(late, "a", QoS::AtMostOnce);
    assert!(h.publishes(late).is_empty());
}

#[test]
fn a_will_above_message_size_limit_refuses_the_connection() {
    let mut h = size_limited();
    let will = Will {
        topic: "w".into(),
        payload: b"123456".as_slice().into(),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Properties::default(),
    };
    for (connect, v5_client) in [
        (v5("v5", true, None), true),
        (connect_packet("v3", true), false),
    ] {
        let link = h.open();
        let connect = Connect {
            will: Some(will.clone()),
            ..connect
        };
        h.send(link, &Packet::Connect(Box::new(connect)));
        match h.read(link).as_slice() {
            [Packet::ConnAck(ack)] if v5_client => {
                assert_eq!(ack.reason, ReasonCode::PACKET_TOO_LARGE);
            }
            [Packet::ConnAck(ack)] => {
                assert_eq!(
                    ack.return_code,
                    crate::protocol::ConnectReturnCode::NotAuthorized
                );
            }
            other => panic!("expected CONNACK, got {other:?}"),
        }
        assert!(h.router.wants_close(link));
    }
}

#[test]
fn upgrade_outgoing_qos_delivers_at_the_granted_qos() {
    let mut h = Harness::new(Config {
        upgrade_outgoing_qos: true,
        ..Config::default()
    });
    let p = h.connect("p");
    h.send(p, &publish("r", b"kept", QoS::AtMostOnce, None, true));
    let s = h.connect("s");
    h.send(
        s,
        &subscribe(1, &[("r", QoS::ExactlyOnce), ("live", QoS::AtLeastOnce)]),
    );
    let retained = h.publishes(s);
    assert_eq!(retained.len(), 1);
    assert_eq!(retained[0].qos, QoS::ExactlyOnce);
    assert!(retained[0].packet_id.is_some());
    h.send(p, &publish("live", b"x", QoS::AtMostOnce, None, false));
    let live = h.publishes(s);
    assert_eq!(live[0].qos, QoS::AtLeastOnce);
    // Without it, the lower of the two [MQTT-3.8.4-6].
    let mut h = Harness::new(Config::default());
    let p = h.connect("p");
    let s = h.connect("s");
    h.subscribe(s, "live", QoS::AtLeastOnce);
    h.send(p, &publish("live", b"x", QoS::AtMostOnce, None, false));
    assert_eq!(h.publishes(s)[0].qos, QoS::AtMostOnce);
}

fn overlapping(h: &mut Harness, subscriber: LinkId) -> usize {
    h.send(
        subscriber,
        &subscribe(1, &[("a/+", QoS::AtMostOnce), ("a/#", QoS::AtLeastOnce)]),
    );
    h.read(subscriber);
    let p = h.connect("p");
    h.send(p, &publish("a/b", b"x", QoS::AtLeastOnce, Some(1), false));
    h.publishes(subscriber).len()
}

#[test]
fn allow_duplicate_messages_sends_a_3x_client_one_copy_per_subscription() {
    let config = Config {
        allow_duplicate_messages: true,
        ..Config::default()
    };
    let mut h = Harness::new(config.clone());
    let s = h.connect("s");
    assert_eq!(overlapping(&mut h, s), 2);
    // MQTT 5 clients still get one copy with every subscription identifier.
    let mut h = Harness::new(config);
    let s = h.connect_with(v5("s", true, None)).0;
    assert_eq!(overlapping(&mut h, s), 1);
    // The default deduplicates.
    let mut h = Harness::new(Config::default());
    let s = h.connect("s");
    assert_eq!(overlapping(&mut h, s), 1);
    h.router.check_invariants().unwrap();
}

#[test]
fn max_inflight_bytes_holds_back_deliveries_until_bytes_are_acknowledged() {
    let mut h = Harness::new(Config {
        max_inflight_bytes: 10,
        ..Config::default()
    });
    let s = h.connect("s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect("p");
    for i in 0..3 {
        h.send(
            p,
            &publish("t", b"123456", QoS::AtLeastOnce, Some(i + 1), false),
        );
    }
    // 0 bytes in flight, then 6: both below 10, so two go; the third waits at 12.
    let first = h.publishes(s);
    assert_eq!(first.len(), 2);
    h.router.check_invariants().unwrap();
    let id = first[0].packet_id.unwrap();
    h.send(s, &Packet::PubAck(PubResponse::new(id)));
    assert_eq!(
        h.publishes(s).len(),
        1,
        "6 bytes in flight again: the third goes"
    );
    // A message larger than the limit still goes when nothing else is in flight.
    let mut h = Harness::new(Config {
        max_inflight_bytes: 4,
        ..Config::default()
    });
    let s = h.connect("s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect("p");
    h.send(
        p,
        &publish("t", b"123456789", QoS::AtLeastOnce, Some(1), false),
    );
    h.send(p, &publish("t", b"1", QoS::AtLeastOnce, Some(2), false));
    assert_eq!(h.publishes(s).len(), 1);
    h.router.check_invariants().unwrap();
}

fn expiring(cap_hours: u64) -> Harness {
    Harness::new(Config {
        persistent_client_expiration: Some(Duration::from_secs(cap_hours * 3600)),
        ..Config::default()
    })
}

fn advance(h: &mut Harness, seconds: u64) {
    h.now += Duration::from_secs(seconds);
    h.router.tick(h.now);
}

#[test]
fn persistent_client_expiration_ends_an_offline_3x_session() {
    let mut h = expiring(1);
    let (link, _) = h.connect_with(connect_packet("sleeper", false));
    h.subscribe(link, "t", QoS::AtLeastOnce);
    h.router.close_link(link, LinkLoss::PeerClosed, h.now);
    advance(&mut h, 3599);
    assert_eq!(h.router.session_count(), 1);
    // Resuming within the hour keeps it, and the hour starts again at the next loss.
    let (link, present) = h.connect_with(connect_packet("sleeper", false));
    assert!(present);
    h.router.close_link(link, LinkLoss::PeerClosed, h.now);
    advance(&mut h, 3599);
    assert_eq!(h.router.session_count(), 1);
    advance(&mut h, 1);
    assert_eq!(h.router.session_count(), 0);
    let (_, present) = h.connect_with(connect_packet("sleeper", false));
    assert!(!present);
}

#[test]
fn persistent_client_expiration_caps_a_longer_mqtt_5_expiry_only() {
    let mut h = expiring(1);
    let (long, _) = h.connect_with(v5("long", false, Some(86_400)));
    let (short, _) = h.connect_with(v5("short", false, Some(60)));
    h.router.close_link(long, LinkLoss::PeerClosed, h.now);
    h.router.close_link(short, LinkLoss::PeerClosed, h.now);
    advance(&mut h, 60);
    assert_eq!(
        h.router.session_count(),
        1,
        "its own 60 s are shorter than the cap"
    );
    advance(&mut h, 3540);
    assert_eq!(h.router.session_count(), 0, "the cap ends the day-long one");
    // Without the option, a 3.x persistent session stays.
    let mut h = Harness::new(Config::default());
    let (link, _) = h.connect_with(connect_packet("sleeper", false));
    h.router.close_link(link, LinkLoss::PeerClosed, h.now);
    advance(&mut h, 10 * 365 * 86_400);
    assert_eq!(h.router.session_count(), 1);
}
