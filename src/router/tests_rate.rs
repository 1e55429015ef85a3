//! Router scenario tests of the publish rate limits, with a fake clock: a client over its rate
//! is held (its read is left waiting, it is not read) until its bucket refills, and nothing it
//! sent is lost.

use std::time::Duration;

use super::LinkId;
use super::rate::RateLimit;
use super::tests::{Harness, publish};
use crate::config::Config;
use crate::protocol::{ProtocolVersion, QoS, encode};

fn config(messages: Option<RateLimit>, bytes: Option<RateLimit>) -> Config {
    Config {
        publish_rate: messages,
        publish_byte_rate: bytes,
        ..Config::default()
    }
}

/// `count` QoS 0 publishes of `size` bytes, as one read.
fn read_of(count: usize, size: usize) -> Vec<u8> {
    let payload = vec![b'x'; size];
    let mut bytes = Vec::new();
    for _ in 0..count {
        let packet = publish("t", &payload, QoS::AtMostOnce, None, false);
        encode(&packet, ProtocolVersion::V3_1_1, &mut bytes);
    }
    bytes
}

fn resumed(h: &mut Harness) -> Vec<LinkId> {
    let mut out = Vec::new();
    h.router.take_resumed(&mut out);
    out.into_iter().map(|r| r.link).collect()
}

#[test]
fn a_client_over_its_message_rate_is_held_after_its_burst() {
    let mut h = Harness::new(config(RateLimit::new(10, Some(20)), None));
    let subscriber = h.connect("s");
    h.subscribe(subscriber, "t", QoS::AtMostOnce);
    let sensor = h.connect("sensor");
    let bytes = read_of(30, 10);
    let one = bytes.len() / 30;
    // The burst, and the one that went over it, are taken; the rest waits.
    let taken = h.router.receive(sensor, &bytes, h.now);
    assert_eq!(taken, 21 * one);
    assert!(!h.router.may_read(sensor));
    assert_eq!(h.router.stats().clients_slowed, 1);
    // A tenth of a second later its bucket is back at zero: it is read again.
    let due = h.router.tick(h.now).expect("a wake-up for the hold");
    assert_eq!(due, h.now + Duration::from_millis(100));
    h.now = due;
    h.router.tick(h.now);
    assert_eq!(resumed(&mut h), [sensor]);
    assert!(h.router.may_read(sensor));
    let more = h.router.receive(sensor, &bytes[taken..], h.now);
    assert_eq!(more, one, "one more, then held again");
    // Nothing was dropped on the way.
    assert_eq!(h.publishes(subscriber).len(), 22);
}

#[test]
fn a_client_over_its_byte_rate_is_held_for_as_long_as_its_excess_takes() {
    let mut h = Harness::new(config(None, RateLimit::new(1000, None)));
    let sensor = h.connect("sensor");
    let bytes = read_of(2, 3000);
    let taken = h.router.receive(sensor, &bytes, h.now);
    assert_eq!(taken, bytes.len() / 2);
    let due = h.router.tick(h.now).expect("a wake-up for the hold");
    assert_eq!(due, h.now + Duration::from_secs(2));
    h.now += Duration::from_secs(1);
    h.router.tick(h.now);
    assert!(resumed(&mut h).is_empty(), "still held");
    h.now += Duration::from_secs(1);
    h.router.tick(h.now);
    assert_eq!(resumed(&mut h), [sensor]);
}

#[test]
fn clients_within_their_rate_and_other_clients_are_not_held() {
    let mut h = Harness::new(config(RateLimit::new(10, None), None));
    let fast = h.connect("fast");
    let calm = h.connect("calm");
    h.router.receive(fast, &read_of(50, 1), h.now);
    assert!(!h.router.may_read(fast));
    // One a second is well within ten.
    for _ in 0..5 {
        let bytes = read_of(1, 1);
        assert_eq!(h.router.receive(calm, &bytes, h.now), bytes.len());
        assert!(h.router.may_read(calm));
        h.now += Duration::from_secs(1);
    }
}

#[test]
fn without_limits_nothing_is_held() {
    let mut h = Harness::new(config(None, None));
    let sensor = h.connect("sensor");
    let bytes = read_of(1000, 100);
    assert_eq!(h.router.receive(sensor, &bytes, h.now), bytes.len());
    assert!(h.router.may_read(sensor));
    assert_eq!(h.router.stats().clients_slowed, 0);
}

#[test]
fn a_reload_applies_new_limits_at_the_next_publish() {
    let mut h = Harness::new(config(RateLimit::new(1, None), None));
    let sensor = h.connect("sensor");
    let bytes = read_of(10, 1);
    let taken = h.router.receive(sensor, &bytes, h.now);
    assert!(taken < bytes.len());
    h.router.reconfigure(&config(None, None));
    h.now += Duration::from_secs(2);
    h.router.tick(h.now);
    assert_eq!(resumed(&mut h), [sensor]);
    let rest = &bytes[taken..];
    assert_eq!(h.router.receive(sensor, rest, h.now), rest.len());
}
