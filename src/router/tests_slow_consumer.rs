//! Router scenario tests of `slow_consumer_timeout`, with a fake clock: a connected subscriber
//! whose queue keeps dropping messages for that long, taking none, is disconnected (MQTT 5:
//! DISCONNECT 0x97 Quota exceeded, the choice); one that takes a message in time is
//! kept, and the count starts again from its next drop.

use std::time::Duration;

use super::LinkId;
use super::tests::{Harness, connect_packet, publish};
use crate::config::Config;
use crate::protocol::{Connect, Packet, ProtocolVersion, PubResponse, QoS, ReasonCode};

fn config(timeout: Option<u64>) -> Config {
    Config {
        max_inflight_messages: 1,
        max_queued_messages: 2,
        slow_consumer_timeout: timeout.map(Duration::from_secs),
        ..Config::default()
    }
}

/// A subscriber to `t` at QoS 1 in MQTT 5, and a publisher that sends `count` messages to it.
fn flooded(h: &mut Harness, count: u16) -> LinkId {
    let connect = Connect {
        protocol: ProtocolVersion::V5,
        ..connect_packet("slow", true)
    };
    let (slow, _) = h.connect_with(connect);
    h.subscribe(slow, "t", QoS::AtLeastOnce);
    let publisher = h.connect("publisher");
    for i in 1..=count {
        h.send(
            publisher,
            &publish("t", b"x", QoS::AtLeastOnce, Some(i), false),
        );
    }
    slow
}

fn advance(h: &mut Harness, seconds: u64) {
    h.now += Duration::from_secs(seconds);
    h.router.tick(h.now);
}

#[test]
fn a_subscriber_whose_queue_stays_full_is_disconnected_with_0x97() {
    let mut h = Harness::new(config(Some(10)));
    // One in flight, two queued, two dropped.
    let slow = flooded(&mut h, 5);
    assert_eq!(h.publishes(slow).len(), 1);
    advance(&mut h, 9);
    assert!(!h.router.wants_close(slow), "closed before the timeout");
    advance(&mut h, 2);
    assert!(h.router.wants_close(slow));
    let packets = h.read(slow);
    assert!(
        matches!(packets.last(), Some(Packet::Disconnect(d)) if d.reason == ReasonCode::QUOTA_EXCEEDED),
        "{packets:?}"
    );
}

#[test]
fn a_subscriber_that_takes_a_message_in_time_is_kept() {
    let mut h = Harness::new(config(Some(10)));
    let slow = flooded(&mut h, 5);
    let first = h.publishes(slow);
    advance(&mut h, 5);
    // It acknowledges: the next queued message goes out, and the count stops.
    let id = first[0].packet_id.expect("QoS 1");
    h.send(slow, &Packet::PubAck(PubResponse::new(id)));
    assert_eq!(h.publishes(slow).len(), 1);
    advance(&mut h, 10);
    assert!(!h.router.wants_close(slow));
}

#[test]
fn without_the_option_a_full_queue_only_drops() {
    let mut h = Harness::new(config(None));
    let slow = flooded(&mut h, 5);
    advance(&mut h, 3600);
    assert!(!h.router.wants_close(slow));
}
