//! Router scenario tests for retained messages sent on SUBSCRIBE when there are many: every one
//! arrives, paced by the output and the in-flight window instead of limited by the queue, and a
//! live message never overtakes its topic's retained one.

use super::tests::{Harness, pid, publish, subscribe};
use crate::config::Config;
use crate::protocol::{Packet, PubResponse, Publish, QoS, Unsubscribe};

/// A small queue, so that a backlog bounded by it would visibly lose messages.
fn config() -> Config {
    Config {
        max_queued_messages: 100,
        max_inflight_messages: 20,
        ..Config::default()
    }
}

/// `count` retained messages on `r/00000/x`…, each with a 200-byte payload so that a few
/// thousand are more than the link's output takes at once.
fn store_retained(h: &mut Harness, count: usize, qos: QoS) {
    let p = h.connect("publisher");
    for i in 0..count {
        let topic = format!("r/{i:05}/x");
        let id = (qos != QoS::AtMostOnce).then_some(1);
        h.send(p, &publish(&topic, &[b'a'; 200], qos, id, true));
    }
}

/// Reads until the router has nothing more for `link`, acknowledging QoS 1 deliveries.
fn read_all(h: &mut Harness, link: super::LinkId) -> Vec<Publish> {
    let mut received = Vec::new();
    loop {
        let batch = h.publishes(link);
        if batch.is_empty() {
            return received;
        }
        for publish in &batch {
            if let Some(id) = publish.packet_id {
                h.send(link, &Packet::PubAck(PubResponse::new(id)));
            }
        }
        received.extend(batch);
        h.router.check_invariants().unwrap();
    }
}

/// The PUBLISH packets read together with a CONNACK or SUBACK.
fn unread_publishes(h: &mut Harness) -> Vec<Publish> {
    h.unread
        .drain(..)
        .filter_map(|(_, packet)| match packet {
            Packet::Publish(publish) => Some(publish),
            _ => None,
        })
        .collect()
}

#[test]
fn every_retained_message_reaches_a_wildcard_subscriber_at_qos0() {
    // [MQTT-3.3.1-6] all retained messages matching the filter are sent, not the first
    // `max_queued_messages` of them.
    let mut h = Harness::new(config());
    store_retained(&mut h, 5000, QoS::AtMostOnce);
    let s = h.connect("s");
    h.send(s, &subscribe(1, &[("r/+/x", QoS::AtMostOnce)]));
    let all = read_all(&mut h, s);
    assert_eq!(all.len(), 5000);
    // [MQTT-3.3.1-8] sent with RETAIN set.
    assert!(all.iter().all(|publish| publish.retain));
    let mut topics: Vec<&str> = all.iter().map(|publish| &*publish.topic).collect();
    topics.dedup();
    assert_eq!(topics.len(), 5000, "no topic twice");
}

#[test]
fn qos1_retained_backlog_is_paced_by_the_inflight_window() {
    let mut h = Harness::new(config());
    store_retained(&mut h, 3000, QoS::AtLeastOnce);
    let s = h.connect("s");
    h.send(s, &subscribe(1, &[("r/#", QoS::AtLeastOnce)]));
    let first = h.read(s);
    assert!(matches!(first.first(), Some(Packet::SubAck(_))));
    // [MQTT-3.3.4-9] no more unacknowledged QoS 1 deliveries than the window.
    let in_flight = first.len() - 1;
    assert_eq!(in_flight, 20);
    let mut count = in_flight;
    for packet in &first[1..] {
        if let Packet::Publish(publish) = packet {
            h.send(
                s,
                &Packet::PubAck(PubResponse::new(publish.packet_id.unwrap())),
            );
        }
    }
    count += read_all(&mut h, s).len();
    assert_eq!(count, 3000);
}

#[test]
fn a_live_message_does_not_overtake_its_topics_retained_message() {
    let mut h = Harness::new(config());
    store_retained(&mut h, 3000, QoS::AtMostOnce);
    let live = h.connect("live");
    let s = h.connect("s");
    // Subscribe without reading: the output fills and most of the backlog stays pending.
    h.send(s, &subscribe(1, &[("r/+/x", QoS::AtMostOnce)]));
    // A normal message on a late topic, and a retained update of another late topic.
    h.send(
        live,
        &publish("r/02990/x", b"live", QoS::AtMostOnce, None, false),
    );
    h.send(
        live,
        &publish("r/02991/x", b"new", QoS::AtMostOnce, None, true),
    );
    let all = h.all_publishes(s);
    let on = |topic: &str| -> Vec<(Vec<u8>, bool)> {
        all.iter()
            .filter(|publish| &*publish.topic == topic)
            .map(|publish| (publish.payload.to_vec(), publish.retain))
            .collect()
    };
    let old = vec![b'a'; 200];
    // The stored message first, then the live one, each once.
    assert_eq!(
        on("r/02990/x"),
        vec![(old.clone(), true), (b"live".to_vec(), false)]
    );
    // The retained message it replaced, then the update as forwarded [MQTT-3.3.1-9]; the
    // backlog does not send the new value a second time.
    assert_eq!(on("r/02991/x"), vec![(old, true), (b"new".to_vec(), false)]);
    assert_eq!(all.len(), 3000 + 2);
}

#[test]
fn unsubscribe_ends_the_retained_backlog() {
    let mut h = Harness::new(config());
    store_retained(&mut h, 3000, QoS::AtMostOnce);
    let s = h.connect("s");
    h.send(s, &subscribe(1, &[("r/+/x", QoS::AtMostOnce)]));
    let unsubscribe = Unsubscribe {
        packet_id: pid(2),
        filters: vec!["r/+/x".to_owned()],
        properties: Default::default(),
    };
    h.send(s, &Packet::Unsubscribe(unsubscribe));
    let first = h.publishes(s).len();
    assert!(
        first < 3000,
        "the first output fills before the backlog is done"
    );
    assert!(read_all(&mut h, s).is_empty());
}

#[test]
fn a_persistent_session_keeps_its_backlog_across_a_reconnect() {
    let mut h = Harness::new(config());
    store_retained(&mut h, 3000, QoS::AtLeastOnce);
    let (s, _) = h.connect_with(super::tests::connect_packet("s", false));
    h.send(s, &subscribe(1, &[("r/+/x", QoS::AtLeastOnce)]));
    let before = h.publishes(s);
    assert_eq!(before.len(), 20, "one window in flight");
    h.router.close_link(s, super::LinkLoss::PeerClosed, h.now);
    let (s, present) = h.connect_with(super::tests::connect_packet("s", false));
    assert!(present);
    // The 20 unacknowledged are re-sent with DUP [MQTT-4.4.0-1], then the rest follows.
    let mut all = unread_publishes(&mut h);
    for publish in &all {
        h.send(
            s,
            &Packet::PubAck(PubResponse::new(publish.packet_id.unwrap())),
        );
    }
    all.extend(read_all(&mut h, s));
    let mut topics: Vec<&str> = all.iter().map(|publish| &*publish.topic).collect();
    topics.sort_unstable();
    topics.dedup();
    assert_eq!(topics.len(), 3000);
}
