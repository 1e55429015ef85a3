//! Router scenario tests of QoS 1 and 2 delivery: the in-flight window, a full queue under
//! either policy, and the QoS 2 handshake in both directions.

use super::tests::{Harness, pid, publish};
use crate::config::{Config, QueueFullPolicy};
use crate::protocol::{Packet, PubResponse, QoS};

#[test]
fn inflight_window_holds_back_qos1_until_acknowledged() {
    let config = Config {
        max_inflight_messages: 2,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let s = h.connect("s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect("p");
    for i in 1..=5u16 {
        h.send(
            p,
            &publish("t", &[i as u8], QoS::AtLeastOnce, Some(i), false),
        );
    }
    let first = h.publishes(s);
    assert_eq!(first.len(), 2);
    h.send(
        s,
        &Packet::PubAck(PubResponse::new(first[0].packet_id.unwrap())),
    );
    let next = h.publishes(s);
    assert_eq!(next.len(), 1);
    assert_eq!(&*next[0].payload, &[3]);
}

#[test]
fn full_queue_drops_new_messages_and_keeps_the_broker_going() {
    let config = Config {
        max_inflight_messages: 1,
        max_queued_messages: 3,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let s = h.connect("s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect("p");
    for i in 1..=10u16 {
        h.send(
            p,
            &publish("t", &[i as u8], QoS::AtLeastOnce, Some(i), false),
        );
    }
    // One in flight, three queued, six dropped.
    let mut received = Vec::new();
    for _ in 0..10 {
        let got = h.publishes(s);
        for publish in &got {
            received.push(publish.payload[0]);
            h.send(
                s,
                &Packet::PubAck(PubResponse::new(publish.packet_id.unwrap())),
            );
        }
    }
    assert_eq!(received, vec![1, 2, 3, 4]);
}

#[test]
fn drop_oldest_policy_keeps_the_newest_messages() {
    let config = Config {
        max_inflight_messages: 1,
        max_queued_messages: 2,
        queue_full_policy: QueueFullPolicy::DropOldest,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let s = h.connect("s");
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect("p");
    for i in 1..=6u16 {
        h.send(
            p,
            &publish("t", &[i as u8], QoS::AtLeastOnce, Some(i), false),
        );
    }
    let mut received = Vec::new();
    for _ in 0..6 {
        for publish in h.publishes(s) {
            received.push(publish.payload[0]);
            h.send(
                s,
                &Packet::PubAck(PubResponse::new(publish.packet_id.unwrap())),
            );
        }
    }
    assert_eq!(received, vec![1, 5, 6]);
}

#[test]
fn qos2_resent_publish_before_pubrel_is_delivered_once() {
    let mut h = Harness::new(Config::default());
    let s = h.connect("s");
    h.subscribe(s, "t", QoS::ExactlyOnce);
    let p = h.connect("p");
    h.send(p, &publish("t", b"once", QoS::ExactlyOnce, Some(9), false));
    let mut again = publish("t", b"once", QoS::ExactlyOnce, Some(9), false);
    if let Packet::Publish(publish) = &mut again {
        publish.dup = true;
    }
    h.send(p, &again);
    let acks = h.read(p);
    assert_eq!(acks.len(), 2);
    assert!(
        acks.iter()
            .all(|packet| matches!(packet, Packet::PubRec(_)))
    );
    h.send(p, &Packet::PubRel(PubResponse::new(pid(9))));
    assert!(matches!(h.read(p).as_slice(), [Packet::PubComp(_)]));
    assert_eq!(h.publishes(s).len(), 1);
    // After PUBREL the id is free again: a new message with it is delivered.
    h.send(p, &publish("t", b"twice", QoS::ExactlyOnce, Some(9), false));
    assert_eq!(h.publishes(s).len(), 1);
}

#[test]
fn outbound_qos2_completes_with_pubrec_pubrel_pubcomp() {
    let config = Config {
        max_inflight_messages: 1,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let s = h.connect("s");
    h.subscribe(s, "t", QoS::ExactlyOnce);
    let p = h.connect("p");
    h.send(p, &publish("t", b"1", QoS::ExactlyOnce, Some(1), false));
    h.send(p, &publish("t", b"2", QoS::ExactlyOnce, Some(2), false));
    let got = h.publishes(s);
    assert_eq!(got.len(), 1);
    let id = got[0].packet_id.unwrap();
    h.send(s, &Packet::PubRec(PubResponse::new(id)));
    assert!(matches!(h.read(s).as_slice(), [Packet::PubRel(rel)] if rel.packet_id == id));
    h.send(s, &Packet::PubComp(PubResponse::new(id)));
    let next = h.publishes(s);
    assert_eq!(next.len(), 1);
    assert_eq!(&*next[0].payload, b"2");
}
