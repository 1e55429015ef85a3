//! Many retained messages and one wildcard subscriber, over real sockets: every retained
//! message reaches it, paced by the socket and the in-flight window, not cut off by the
//! per-client queue limit (`--max-queued`, 1000 by default).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Broker, Client, Publish};

const RETAINED: usize = 100_000;

/// Stores `RETAINED` retained messages on `r/<i>/x` at `qos`, a thousand PUBLISHes per write so
/// the publisher never has more than that many acknowledgements unread.
fn store_retained(broker: &Broker, qos: u8) {
    let mut publisher = Client::connect(broker.addr(), "backlog-pub");
    for batch in 0..RETAINED / 1000 {
        let mut bytes = Vec::new();
        for i in batch * 1000..(batch + 1) * 1000 {
            let pid = u16::try_from(i % 60_000 + 1).unwrap();
            let publish = Publish::new(&format!("r/{i}/x"), format!("v{i}").as_bytes());
            bytes.extend(publish.qos(qos, pid).retain().encode());
        }
        publisher.send(&bytes);
        if qos == 1 {
            for i in batch * 1000..(batch + 1) * 1000 {
                publisher.expect_puback(u16::try_from(i % 60_000 + 1).unwrap());
            }
        }
    }
    publisher.sync();
}

/// Receives publishes until every `r/<i>/x` has arrived once, acknowledging QoS 1 ones.
fn receive_all(sub: &mut Client) -> usize {
    let mut seen = HashSet::new();
    while seen.len() < RETAINED {
        let publish = sub.expect_publish_within(Duration::from_secs(30));
        sub.ack(&publish);
        // [MQTT-3.3.1-8] sent because of the subscription: RETAIN is set.
        assert!(publish.retain, "{publish:?}");
        let index: usize = publish.topic.split('/').nth(1).unwrap().parse().unwrap();
        assert_eq!(publish.payload, format!("v{index}").as_bytes());
        assert!(seen.insert(index), "{} sent twice", publish.topic);
    }
    seen.len()
}

/// [MQTT-3.3.1-6] Every retained message matching the new subscription is sent: all 100,000,
/// not the first thousand the queue limit would hold.
#[test]
fn every_retained_message_reaches_a_wildcard_subscriber_at_qos0() {
    let broker = Broker::start(&[]);
    store_retained(&broker, 0);
    let mut sub = Client::connect(broker.addr(), "backlog-sub0");
    assert_eq!(sub.subscribe(1, &[("r/+/x", 0)]), [0]);
    assert_eq!(receive_all(&mut sub), RETAINED);
    sub.expect_no_packet(Duration::from_millis(300));
}

/// At QoS 1 the in-flight window paces the backlog [MQTT-4.4.0-1]: each PUBACK lets the next
/// retained message out, and all 100,000 arrive, each once.
#[test]
fn every_retained_message_reaches_a_wildcard_subscriber_at_qos1() {
    let broker = Broker::start(&[]);
    store_retained(&broker, 1);
    let mut sub = Client::connect(broker.addr(), "backlog-sub1");
    assert_eq!(sub.subscribe(1, &[("r/+/x", 1)]), [1]);
    assert_eq!(receive_all(&mut sub), RETAINED);
    sub.expect_no_packet(Duration::from_millis(300));
}

/// While a subscriber drains a large backlog, live messages keep flowing to it and to others:
/// a live message on a topic the backlog has not reached yet arrives after that topic's
/// retained message (the older one first, as the publisher sent them).
#[test]
fn live_messages_during_a_backlog_keep_their_order_per_topic() {
    let broker = Broker::start(&[]);
    store_retained(&broker, 0);
    let mut sub = Client::connect(broker.addr(), "backlog-live");
    sub.send(&common::wire::subscribe(1, &[("r/+/x", 0)]));
    let mut live = Client::connect(broker.addr(), "backlog-live-pub");
    // Topics late in the store's order, published before the subscriber has read anything.
    let late = ["r/99999/x", "r/99998/x", "r/99997/x"];
    for topic in late {
        live.publish_complete(&Publish::new(topic, b"live"));
    }
    sub.expect_suback(1);
    let mut per_topic: Vec<Vec<(String, bool)>> = vec![Vec::new(); late.len()];
    for _ in 0..RETAINED + late.len() {
        let publish = sub.expect_publish_within(Duration::from_secs(30));
        if let Some(slot) = late.iter().position(|topic| *topic == publish.topic) {
            per_topic[slot].push((publish.payload_str(), publish.retain));
        }
    }
    for (topic, seen) in late.iter().zip(per_topic) {
        let index = topic.split('/').nth(1).unwrap();
        let stored = (format!("v{index}"), true);
        // The retained message first, then the live one [MQTT-3.3.1-9: forwarded without
        // RETAIN], each once.
        assert_eq!(seen, [stored, ("live".to_owned(), false)], "{topic}");
    }
    sub.expect_no_packet(Duration::from_millis(300));
}
