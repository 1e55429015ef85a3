//! Router scenario tests of `memory_limit`, with a fake clock: what is counted, the episode's
//! backpressure on publishers, and what is given up at the limit, in order.

use std::time::Duration;

use super::LinkId;
use super::memory::{MemoryCounters, PATIENCE, Pressure};
use super::tests::{Harness, connect_packet, publish};
use crate::config::Config;
use crate::protocol::{
    ConnectReturnCode, Packet, ProtocolVersion, QoS, ReasonCode, decode_packet, encode,
};

const KIB: usize = 1024;

fn config(limit: usize) -> Config {
    Config {
        memory_limit: limit,
        max_queued_messages: 100_000,
        max_queued_bytes: 0,
        queue_qos0_offline: true,
        ..Config::default()
    }
}

/// An offline persistent session subscribed to `topic` at `qos`: everything published there
/// waits in its queue.
fn offline_subscriber(h: &mut Harness, id: &str, topic: &str, qos: QoS) {
    let (link, _) = h.connect_with(connect_packet(id, false));
    h.subscribe(link, topic, qos);
    h.router
        .close_link(link, super::LinkLoss::PeerClosed, h.now);
}

fn v5_client(h: &mut Harness, id: &str) -> LinkId {
    let connect = crate::protocol::Connect {
        protocol: ProtocolVersion::V5,
        ..connect_packet(id, true)
    };
    h.connect_with(connect).0
}

/// Publishes `count` messages of `size` bytes on `topic` from `link`, one packet at a time.
fn flood(h: &mut Harness, link: LinkId, topic: &str, qos: QoS, count: u16, size: usize) {
    let payload = vec![b'x'; size];
    for i in 1..=count {
        let id = (qos != QoS::AtMostOnce).then_some(i);
        h.send(link, &publish(topic, &payload, qos, id, false));
    }
}

/// Everything `count` publishes would be as one read, handed to the router at once: how many
/// bytes it took.
fn flood_in_one_read(h: &mut Harness, link: LinkId, count: usize, size: usize) -> (usize, usize) {
    let payload = vec![b'x'; size];
    let mut bytes = Vec::new();
    for _ in 0..count {
        let packet = publish("t", &payload, QoS::AtMostOnce, None, false);
        encode(&packet, ProtocolVersion::V3_1_1, &mut bytes);
    }
    (h.router.receive(link, &bytes, h.now), bytes.len())
}

fn assess(h: &mut Harness) {
    h.router.set_io_memory(0, h.now);
}

#[test]
fn a_message_queued_for_many_sessions_is_counted_once() {
    let mut h = Harness::new(config(64 * 1024 * KIB));
    offline_subscriber(&mut h, "a", "t", QoS::AtLeastOnce);
    let publisher = h.connect("p");
    let before = h.router.memory_used();
    flood(&mut h, publisher, "t", QoS::AtLeastOnce, 1, 10 * KIB);
    let one_queue = h.router.memory_used() - before;
    assert!(one_queue > 10 * KIB, "{one_queue}");

    let mut h = Harness::new(config(64 * 1024 * KIB));
    for id in ["a", "b", "c", "d"] {
        offline_subscriber(&mut h, id, "t", QoS::AtLeastOnce);
    }
    let publisher = h.connect("p");
    let before = h.router.memory_used();
    flood(&mut h, publisher, "t", QoS::AtLeastOnce, 1, 10 * KIB);
    let four_queues = h.router.memory_used() - before;
    assert!(
        four_queues < one_queue + 4 * KIB,
        "{four_queues} vs {one_queue}"
    );
}

#[test]
fn memory_counted_is_given_back_when_the_session_ends() {
    let mut h = Harness::new(config(64 * 1024 * KIB));
    let idle = h.router.memory_used();
    offline_subscriber(&mut h, "a", "t", QoS::AtLeastOnce);
    let publisher = h.connect("p");
    flood(&mut h, publisher, "t", QoS::AtLeastOnce, 50, KIB);
    assert!(h.router.memory_used() > idle + 50 * KIB);
    // Coming back with a clean session ends the old one and its queue.
    let fresh = h.connect("a");
    h.read(fresh);
    let link_and_session = h.router.memory_used() - idle;
    assert!(link_and_session < 8 * KIB, "{link_and_session}");
}

/// A reload that sets a budget where there was none counts what is held already, retained
/// and queued, each message once, as it would have been counted had the budget been there.
#[test]
fn a_budget_set_by_a_reload_counts_the_messages_held_already() {
    let fill = |h: &mut Harness| {
        for id in ["a", "b"] {
            offline_subscriber(h, id, "t", QoS::AtLeastOnce);
        }
        let publisher = h.connect("p");
        flood(h, publisher, "t", QoS::AtLeastOnce, 40, KIB);
        h.send(
            publisher,
            &publish("r", &[b'x'; 4 * KIB], QoS::AtMostOnce, None, true),
        );
        h.read(publisher);
    };
    let mut budgeted = Harness::new(config(64 * 1024 * KIB));
    fill(&mut budgeted);
    let mut reloaded = Harness::new(config(0));
    fill(&mut reloaded);
    let uncounted = reloaded.router.memory_used();
    reloaded.router.reconfigure(&config(64 * 1024 * KIB));
    let counted = reloaded.router.memory_used();
    assert!(counted > uncounted + 44 * KIB, "{uncounted} then {counted}");
    assert_eq!(counted, budgeted.router.memory_used());
    reloaded.router.check_invariants().unwrap();
    // Given back as the messages go: the sessions end and the retained message is cleared.
    let idle = Harness::new(config(64 * 1024 * KIB)).router.memory_used();
    for id in ["a", "b"] {
        let fresh = reloaded.connect(id);
        reloaded.read(fresh);
    }
    let publisher = reloaded.connect("p");
    reloaded.send(publisher, &publish("r", b"", QoS::AtMostOnce, None, true));
    let left = reloaded.router.memory_used() - idle;
    assert!(left < 16 * KIB, "{left}");
}

#[test]
fn an_episode_pauses_publishers_and_not_subscribers() {
    let mut h = Harness::new(config(200 * KIB));
    offline_subscriber(&mut h, "slow", "t", QoS::AtLeastOnce);
    let reader = h.connect("reader");
    h.subscribe(reader, "other", QoS::AtMostOnce);
    let publisher = h.connect("p");
    assert!(h.router.may_read(publisher));
    // Well past 80% of the budget in one read: the router stops taking the read's packets
    // once the budget says publishers wait.
    let (taken, offered) = flood_in_one_read(&mut h, publisher, 400, KIB);
    assert!(taken < offered, "all {offered} bytes taken");
    assert_eq!(h.router.memory_pressure(), Pressure::Backpressure);
    assert!(!h.router.may_read(publisher));
    assert!(h.router.may_read(reader), "a subscriber is still read");
}

#[test]
fn paused_publishers_are_read_again_when_memory_falls() {
    let mut h = Harness::new(config(200 * KIB));
    let slow = h.connect("slow");
    h.subscribe(slow, "t", QoS::AtMostOnce);
    let publisher = h.connect("p");
    // The subscriber's output fills, then its queue, until the episode starts.
    let (taken, offered) = flood_in_one_read(&mut h, publisher, 400, KIB);
    assert!(taken < offered);
    assert!(!h.router.may_read(publisher));
    // The subscriber reads everything: memory falls below 70% and the episode ends.
    while !h.publishes(slow).is_empty() {}
    assess(&mut h);
    assert_eq!(h.router.memory_pressure(), Pressure::Normal);
    let mut resumed = Vec::new();
    h.router.take_resumed(&mut resumed);
    assert_eq!(
        resumed.iter().map(|r| r.link).collect::<Vec<_>>(),
        [publisher]
    );
    assert!(h.router.may_read(publisher));
    let counters = h.router.memory_counters();
    assert_eq!(counters.episodes, 1);
    assert_eq!(counters.dropped, 0, "waiting dropped nothing");
}

#[test]
fn publishers_are_read_again_when_pausing_does_not_help_in_time() {
    let mut h = Harness::new(config(200 * KIB));
    offline_subscriber(&mut h, "slow", "t", QoS::AtLeastOnce);
    let publisher = h.connect("p");
    flood_in_one_read(&mut h, publisher, 400, KIB);
    assert!(!h.router.may_read(publisher));
    assert_eq!(h.router.tick(h.now), Some(h.now + PATIENCE), "a wake-up");
    h.now += PATIENCE;
    assess(&mut h);
    let mut resumed = Vec::new();
    h.router.take_resumed(&mut resumed);
    assert_eq!(resumed.len(), 1);
    assert!(h.router.may_read(publisher));
    assert_eq!(h.router.memory_pressure(), Pressure::Backpressure);
}

/// A broker at its limit: an offline session holds about 180 KiB of QoS 1 messages, and the
/// limit is lowered to what is in use (as a reload can), since what the broker takes itself
/// stops short of the limit.
/// Returns the 3.1.1 publisher and an MQTT 5 client connected before.
fn at_the_limit() -> (Harness, LinkId, LinkId) {
    let mut h = Harness::new(config(1024 * KIB));
    offline_subscriber(&mut h, "slow", "t", QoS::AtLeastOnce);
    let publisher = h.connect("p");
    let v5 = v5_client(&mut h, "v5");
    flood(&mut h, publisher, "t", QoS::AtLeastOnce, 180, KIB);
    h.read(publisher);
    let used = h.router.memory_used();
    h.router.reconfigure(&config(used));
    h.now += PATIENCE;
    assess(&mut h);
    assert_eq!(h.router.memory_pressure(), Pressure::Full);
    (h, publisher, v5)
}

#[test]
fn at_the_limit_an_mqtt5_qos1_publish_gets_puback_0x97() {
    let (mut h, _, v5) = at_the_limit();
    h.send(v5, &publish("t", b"x", QoS::AtLeastOnce, Some(7), false));
    h.send(v5, &publish("t", b"x", QoS::ExactlyOnce, Some(8), false));
    let packets = h.read(v5);
    assert!(
        matches!(&packets[..], [Packet::PubAck(a), Packet::PubRec(r)]
            if a.reason == ReasonCode::QUOTA_EXCEEDED && r.reason == ReasonCode::QUOTA_EXCEEDED),
        "{packets:?}"
    );
    assert_eq!(h.router.memory_counters().refused_publishes, 2);
    assert!(!h.router.wants_close(v5));
}

#[test]
fn at_the_limit_a_3_1_1_qos1_publish_closes_without_puback() {
    // [MQTT-3.3.5-2] no positive acknowledgement for what is not taken: the connection closes.
    let (mut h, publisher, _) = at_the_limit();
    h.send(
        publisher,
        &publish("t", b"x", QoS::AtLeastOnce, Some(500), false),
    );
    assert!(h.router.wants_close(publisher));
    assert!(h.read(publisher).is_empty(), "no PUBACK");
}

#[test]
fn at_the_limit_new_connections_are_refused_but_a_session_can_come_back() {
    let (mut h, _, _) = at_the_limit();
    let link = h.open();
    h.send(
        link,
        &Packet::Connect(Box::new(connect_packet("new", true))),
    );
    let packets = h.read(link);
    assert!(
        matches!(&packets[..], [Packet::ConnAck(ack)]
            if ack.return_code == ConnectReturnCode::ServerUnavailable),
        "{packets:?}"
    );
    let v5 = h.open();
    let connect = crate::protocol::Connect {
        protocol: ProtocolVersion::V5,
        ..connect_packet("new5", true)
    };
    h.send(v5, &Packet::Connect(Box::new(connect)));
    let packets = h.read(v5);
    assert!(
        matches!(&packets[..], [Packet::ConnAck(ack)] if ack.reason == ReasonCode::QUOTA_EXCEEDED),
        "{packets:?}"
    );
    assert_eq!(h.router.memory_counters().refused_connections, 2);
    // The slow session's own client is let in and takes its queue.
    let (slow, present) = h.connect_with(connect_packet("slow", false));
    assert!(present);
    assert!(!h.publishes(slow).is_empty());
}

#[test]
fn at_the_limit_the_fullest_queues_lose_their_qos0_messages_first() {
    let mut h = Harness::new(config(1024 * KIB));
    offline_subscriber(&mut h, "big", "#", QoS::AtMostOnce);
    offline_subscriber(&mut h, "small", "small", QoS::AtMostOnce);
    let publisher = h.connect("p");
    // `big` takes both topics.
    flood(&mut h, publisher, "small", QoS::AtMostOnce, 40, KIB);
    flood(&mut h, publisher, "big", QoS::AtMostOnce, 200, KIB);
    let used = h.router.memory_used();
    h.router.reconfigure(&config(used));
    let counters = h.router.memory_counters();
    assert!(counters.dropped >= 200, "{counters:?}");
    assert!(h.router.memory_used() < used * 9 / 10);
    // `small` kept what it had: only `big`'s queue was shed.
    let (small, present) = h.connect_with(connect_packet("small", false));
    assert!(present);
    let mut received = 0;
    loop {
        let batch = h.publishes(small).len();
        if batch == 0 {
            break;
        }
        received += batch;
    }
    assert_eq!(received, 40);
}

#[test]
fn at_the_limit_a_new_retained_message_is_not_stored() {
    let (mut h, _, v5) = at_the_limit();
    h.send(
        v5,
        &publish("r/new", &[1; 100], QoS::AtMostOnce, None, true),
    );
    assert_eq!(h.router.memory_counters().refused_publishes, 1);
    h.send(v5, &super::tests::subscribe(1, &[("r/#", QoS::AtMostOnce)]));
    let retained: Vec<_> = (h.read(v5).into_iter())
        .filter(|p| matches!(p, Packet::Publish(_)))
        .collect();
    assert!(retained.is_empty(), "{retained:?}");
}

#[test]
fn at_the_limit_a_retained_message_may_still_be_replaced_by_a_smaller_one() {
    let mut h = Harness::new(config(1024 * KIB));
    let client = h.connect("c");
    h.send(
        client,
        &publish("r", &[1; 200], QoS::AtMostOnce, None, true),
    );
    let used = h.router.memory_used();
    h.router.reconfigure(&config(used));
    h.send(
        client,
        &publish("r", &[2; 100], QoS::AtMostOnce, None, true),
    );
    h.send(
        client,
        &super::tests::subscribe(1, &[("r", QoS::AtMostOnce)]),
    );
    let payloads: Vec<_> = (h.publishes(client).into_iter())
        .map(|p| p.payload.to_vec())
        .collect();
    assert_eq!(payloads, [vec![2; 100]]);
    assert_eq!(h.router.memory_counters().refused_publishes, 0);
}

#[test]
fn under_pressure_a_client_that_does_not_read_is_paused_sooner() {
    let mut h = Harness::new(config(200 * KIB));
    let normal = h.router.read_pause_output();
    offline_subscriber(&mut h, "slow", "t", QoS::AtLeastOnce);
    let publisher = h.connect("p");
    flood_in_one_read(&mut h, publisher, 400, KIB);
    assert!(h.router.read_pause_output() < normal / 4);
}

#[test]
fn without_a_limit_nothing_is_paused_or_counted() {
    let mut h = Harness::new(config(0));
    offline_subscriber(&mut h, "slow", "t", QoS::AtLeastOnce);
    let publisher = h.connect("p");
    let (taken, offered) = flood_in_one_read(&mut h, publisher, 400, KIB);
    assert_eq!(taken, offered);
    h.now += Duration::from_secs(5);
    assess(&mut h);
    assert!(h.router.may_read(publisher));
    assert_eq!(h.router.memory_pressure(), Pressure::Normal);
    assert_eq!(h.router.memory_counters(), MemoryCounters::default());
}

#[test]
fn a_read_left_waiting_is_taken_once_publishers_are_read_again() {
    let mut h = Harness::new(config(200 * KIB));
    offline_subscriber(&mut h, "slow", "t", QoS::AtMostOnce);
    let publisher = h.connect("p");
    let payload = vec![b'x'; KIB];
    let mut bytes = Vec::new();
    for _ in 0..400 {
        let packet = publish("t", &payload, QoS::AtMostOnce, None, false);
        encode(&packet, ProtocolVersion::V3_1_1, &mut bytes);
    }
    let taken = h.router.receive(publisher, &bytes, h.now);
    // What is left over is whole packets, for the reactor to hand back later.
    let rest = &bytes[taken..];
    let (_, first) = decode_packet(rest, ProtocolVersion::V3_1_1, u32::MAX)
        .unwrap()
        .unwrap();
    assert!(first > KIB);
    h.now += PATIENCE;
    assess(&mut h);
    let more = h.router.receive(publisher, rest, h.now);
    assert!(more > 0);
}
