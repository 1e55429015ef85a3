//! PUBLISH delivery over real sockets: the QoS 0/1/2 flows in both directions, QoS downgrade,
//! overlapping subscriptions, ordering, the in-flight window and the per-client queue limits
//! (MQTT 3.1.1 §3.3, §4.3, §4.6).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Broker, Client, Connect, Packet, Publish, TIMEOUT, exchange_qos1, pid, wire};

/// A client subscribed to `filter` at `qos`.
fn subscriber(addr: SocketAddr, id: &str, filter: &str, qos: u8) -> Client {
    let mut client = Client::connect(addr, id);
    assert_eq!(client.subscribe(1, &[(filter, qos)]), [qos]);
    client
}

/// [MQTT-4.3.1-1] QoS 0 arrives at QoS 0, without packet identifier and with DUP 0
/// [MQTT-3.3.1-2].
#[test]
fn qos0_is_delivered_at_most_once_without_packet_id() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "q0-sub", "q0/t", 2);
    let mut publisher = Client::connect(broker.addr(), "q0-pub");
    publisher.publish_complete(&Publish::new("q0/t", b"zero"));
    let got = sub.expect_publish();
    assert_eq!(got, Publish::new("q0/t", b"zero"));
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-4.3.2-2] The broker answers a QoS 1 PUBLISH with a PUBACK carrying its packet id; the
/// subscriber gets it at QoS 1 with a non-zero id [MQTT-2.3.1-1] and DUP 0 [MQTT-4.3.2-1], and
/// once acknowledged it is not sent again.
#[test]
fn qos1_flow_in_both_directions() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "q1-sub", "q1/t", 1);
    let mut publisher = Client::connect(broker.addr(), "q1-pub");
    publisher.publish(&Publish::new("q1/t", b"one").qos(1, 0x0102));
    publisher.expect_puback(0x0102);
    let got = sub.expect_publish();
    assert_eq!((got.topic.as_str(), got.qos, got.dup), ("q1/t", 1, false));
    assert_eq!(got.payload, b"one");
    assert_ne!(got.pid, Some(0));
    sub.send(&wire::puback(got.pid.unwrap()));
    sub.expect_no_packet(Duration::from_secs(1));
    publisher.expect_no_packet(Duration::from_millis(100));
}

/// [MQTT-4.3.3-2] The broker answers a QoS 2 PUBLISH with PUBREC, and PUBREL with PUBCOMP;
/// towards the subscriber it sends PUBLISH, then PUBREL (flags 0b0010, [MQTT-3.6.1-1]) after the
/// subscriber's PUBREC [MQTT-4.3.3-1].
#[test]
fn qos2_flow_in_both_directions() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "q2-sub", "q2/t", 2);
    let mut publisher = Client::connect(broker.addr(), "q2-pub");
    publisher.publish(&Publish::new("q2/t", b"two").qos(2, 9));
    publisher.expect_pubrec(9);
    publisher.send(&wire::pubrel(9));
    publisher.expect_pubcomp(9);
    let got = sub.expect_publish();
    assert_eq!(
        (got.qos, got.dup, got.payload.as_slice()),
        (2, false, &b"two"[..])
    );
    let sub_pid = got.pid.expect("QoS 2 has a packet id");
    sub.send(&wire::pubrec(sub_pid));
    sub.expect_pubrel(sub_pid);
    sub.send(&wire::pubcomp(sub_pid));
    sub.expect_no_packet(Duration::from_secs(1));
}

/// [MQTT-4.3.3-2] Until PUBREL, a re-sent PUBLISH with the same packet id (DUP 1) is answered
/// with PUBREC again and must not cause a second delivery; after PUBCOMP the id is free again
/// and a new PUBLISH with it is a new message.
#[test]
fn qos2_duplicate_before_pubrel_is_delivered_once() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "once-sub", "once/t", 2);
    let mut publisher = Client::connect(broker.addr(), "once-pub");
    let first = Publish::new("once/t", b"exactly once").qos(2, 7);
    publisher.publish(&first);
    publisher.expect_pubrec(7);
    publisher.publish(&first.clone().dup());
    publisher.expect_pubrec(7);
    publisher.send(&wire::pubrel(7));
    publisher.expect_pubcomp(7);
    assert_eq!(sub.receive().payload, b"exactly once");
    sub.expect_no_packet(Duration::from_secs(1));

    publisher.publish_complete(&Publish::new("once/t", b"second message").qos(2, 7));
    assert_eq!(sub.receive().payload, b"second message");
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.8.4-6] A message goes out at the minimum of its published QoS and the QoS granted
/// to the subscription: all nine combinations.
#[test]
fn delivered_qos_is_minimum_of_published_and_granted() {
    let broker = Broker::start(&[]);
    let mut subs: Vec<Client> = (0..3)
        .map(|q| subscriber(broker.addr(), &format!("min-sub-{q}"), "min/t", q))
        .collect();
    let mut publisher = Client::connect(broker.addr(), "min-pub");
    for published in 0..3u8 {
        let payload = format!("published at {published}");
        publisher.publish_complete(&Publish::new("min/t", payload.as_bytes()).qos(published, 40));
        for (granted, sub) in subs.iter_mut().enumerate() {
            let got = sub.receive();
            assert_eq!(got.payload_str(), payload);
            assert_eq!(
                got.qos,
                published.min(granted as u8),
                "published {published}, granted {granted}"
            );
        }
    }
    for sub in &mut subs {
        sub.expect_no_packet(Duration::from_millis(300));
    }
}

/// [MQTT-3.3.5-1] With overlapping subscriptions the message respects the highest QoS of the
/// matching subscriptions. The specification also allows one copy per subscription; this broker
/// delivers a single copy (as mosquitto does for 3.1.1), which is what is checked.
#[test]
fn overlapping_subscriptions_deliver_once_at_highest_qos() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect(broker.addr(), "overlap-sub");
    let filters = [("ov/#", 0), ("ov/+", 2), ("ov/a", 1)];
    assert_eq!(sub.subscribe(1, &filters), [0, 2, 1]);
    let mut publisher = Client::connect(broker.addr(), "overlap-pub");
    publisher.publish_complete(&Publish::new("ov/a", b"overlap").qos(2, 3));
    let got = sub.receive();
    assert_eq!((got.qos, got.payload.as_slice()), (2, &b"overlap"[..]));
    sub.expect_no_packet(Duration::from_secs(1));
}

/// Publishes `count` QoS 1 messages "m0", "m1", ... and waits for every PUBACK.
fn publish_numbered(publisher: &mut Client, topic: &str, count: usize) {
    for i in 0..count {
        publisher.publish(&Publish::new(topic, format!("m{i}").as_bytes()).qos(1, pid(i)));
        publisher.expect_puback(pid(i));
    }
}

/// §4.3.2 flow control (`--max-inflight 2`, the broker's in-flight window): a subscriber that
/// does not acknowledge gets only two QoS 1 messages; each PUBACK releases the next one.
#[test]
fn inflight_window_holds_back_messages_until_acknowledged() {
    let broker = Broker::start(&["--max-inflight", "2"]);
    let mut sub = subscriber(broker.addr(), "window-sub", "win/t", 1);
    let mut publisher = Client::connect(broker.addr(), "window-pub");
    publish_numbered(&mut publisher, "win/t", 5);

    let mut unacked = vec![sub.expect_publish(), sub.expect_publish()];
    assert_eq!(unacked[0].payload_str(), "m0");
    assert_eq!(unacked[1].payload_str(), "m1");
    sub.expect_no_packet(Duration::from_secs(1));
    for next in 2..5 {
        let oldest = unacked.remove(0);
        sub.ack(&oldest);
        let got = sub.expect_publish();
        assert_eq!(got.payload_str(), format!("m{next}"));
        sub.expect_no_packet(Duration::from_millis(500));
        unacked.push(got);
    }
    for publish in &unacked {
        sub.ack(publish);
    }
    sub.expect_no_packet(Duration::from_millis(500));
}

/// Reads and acknowledges everything a stalled subscriber gets, a second at a time, until a
/// second passes with nothing new; returns the payloads in arrival order. At most `rounds`.
fn drain_slow_subscriber(sub: &mut Client, rounds: usize) -> Vec<String> {
    let mut received = Vec::new();
    for _ in 0..rounds {
        if let Some(packets) = sub.closed_within(Duration::from_secs(1)) {
            panic!("the stalled subscriber was disconnected; last packets: {packets:?}");
        }
        let round: Vec<Publish> = sub
            .take_pending()
            .into_iter()
            .map(|packet| match packet {
                Packet::Publish(publish) => publish,
                other => panic!("stalled subscriber got {other:?}"),
            })
            .collect();
        if round.is_empty() {
            return received;
        }
        for publish in round {
            sub.ack(&publish);
            received.push(publish.payload_str());
        }
    }
    panic!("still receiving after {rounds} rounds: {received:?}");
}

/// Publishes 50 QoS 1 messages while a fast subscriber keeps up and a slow one never reads;
/// the fast one and the publisher must see no loss at all.
fn flood_past_a_stalled_subscriber(addr: SocketAddr, topic: &str) {
    let mut fast = subscriber(addr, "fast-sub", topic, 1);
    let mut publisher = Client::connect(addr, "flood-pub");
    for i in 0..50 {
        publisher.publish(&Publish::new(topic, format!("m{i}").as_bytes()).qos(1, pid(i)));
        publisher.expect_puback(pid(i));
        assert_eq!(fast.receive().payload_str(), format!("m{i}"));
    }
    fast.expect_no_packet(Duration::from_millis(300));
}

/// `--max-queued 5` with the default `--queue-full drop-new`: a subscriber that does not
/// acknowledge keeps its in-flight window (2) and 5 queued messages, the newest are dropped; the
/// publisher, another subscriber and the broker are unaffected.
#[test]
fn queue_limit_drops_newest_for_stalled_subscriber() {
    let mut broker = Broker::start(&["--max-inflight", "2", "--max-queued", "5"]);
    let mut slow = subscriber(broker.addr(), "slow-sub", "flood/t", 1);
    flood_past_a_stalled_subscriber(broker.addr(), "flood/t");

    let received = drain_slow_subscriber(&mut slow, 60);
    assert!(
        (2..=7).contains(&received.len()),
        "expected 2 in flight + at most 5 queued, got {received:?}"
    );
    assert_eq!(received[..2], ["m0", "m1"]);
    assert!(!received.contains(&"m49".to_string()), "{received:?}");
    assert_in_order(&received);
    exchange_qos1(broker.addr(), "after-flood", 100);
    broker.assert_alive();
}

/// `--queue-full drop-oldest`: the stalled subscriber's queue keeps the freshest messages, so
/// the last one published is among those it finally receives.
#[test]
fn queue_limit_drop_oldest_keeps_freshest_messages() {
    let mut broker = Broker::start(&[
        "--max-inflight",
        "2",
        "--max-queued",
        "5",
        "--queue-full",
        "drop-oldest",
    ]);
    let mut slow = subscriber(broker.addr(), "slow-sub", "fresh/t", 1);
    flood_past_a_stalled_subscriber(broker.addr(), "fresh/t");

    let received = drain_slow_subscriber(&mut slow, 60);
    assert!(
        (2..=7).contains(&received.len()),
        "expected 2 in flight + at most 5 queued, got {received:?}"
    );
    assert_eq!(received[..2], ["m0", "m1"]);
    assert_eq!(received.last().map(String::as_str), Some("m49"));
    assert_in_order(&received);
    exchange_qos1(broker.addr(), "after-flood", 100);
    broker.assert_alive();
}

/// `--max-queued-bytes 1000`: behind an in-flight window of 1, at most 1000 payload bytes
/// (five 200-byte messages) wait for a stalled subscriber.
#[test]
fn queued_bytes_limit_drops_excess() {
    let mut broker = Broker::start(&["--max-inflight", "1", "--max-queued-bytes", "1000"]);
    let mut slow = subscriber(broker.addr(), "bytes-sub", "bytes/t", 1);
    let mut publisher = Client::connect(broker.addr(), "bytes-pub");
    for i in 0..20 {
        let mut payload = format!("m{i:02}").into_bytes();
        payload.resize(200, b'.');
        publisher.publish(&Publish::new("bytes/t", &payload).qos(1, pid(i)));
        publisher.expect_puback(pid(i));
    }
    let received = drain_slow_subscriber(&mut slow, 30);
    assert!(
        (1..=6).contains(&received.len()),
        "expected 1 in flight + at most 5 queued, got {} messages",
        received.len()
    );
    exchange_qos1(broker.addr(), "after-bytes", 100);
    broker.assert_alive();
}

fn assert_in_order(payloads: &[String]) {
    let numbers: Vec<usize> = payloads
        .iter()
        .map(|p| {
            p[1..]
                .trim_end_matches('.')
                .parse()
                .expect("numbered payload")
        })
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "out of order or duplicated: {payloads:?}"
    );
}

/// [MQTT-4.6.0-6] Messages of one topic and QoS reach a subscriber in the order they were
/// published, and the publisher's PUBACKs come in the order of its PUBLISHes [MQTT-4.6.0-2].
#[test]
fn qos1_order_is_preserved_per_topic() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "order-sub", "order/t", 1);
    let mut publisher = Client::connect(broker.addr(), "order-pub");
    for i in 0..200 {
        publisher.publish(&Publish::new("order/t", format!("m{i}").as_bytes()).qos(1, pid(i)));
    }
    for i in 0..200 {
        publisher.expect_puback(pid(i));
    }
    for i in 0..200 {
        assert_eq!(sub.receive().payload_str(), format!("m{i}"));
    }
    sub.expect_no_packet(Duration::from_millis(500));
}

/// §2.2.3 and §3.3.3: a 1 MiB payload (remaining length of 4 bytes) arrives byte for byte.
#[test]
fn one_megabyte_payload_is_delivered_intact() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "big-sub", "big/t", 1);
    let mut publisher = Client::connect(broker.addr(), "big-pub");
    let payload: Vec<u8> = (0..1_048_576u32).map(|i| (i * 31 % 251) as u8).collect();
    publisher.publish(&Publish::new("big/t", &payload).qos(1, 1));
    publisher.expect_puback(1);
    let got = sub.expect_publish_within(Duration::from_secs(20));
    sub.ack(&got);
    assert_eq!(got.payload.len(), payload.len());
    assert!(got.payload == payload, "payload corrupted");
}

/// §3.3.3: a zero-length payload is valid and delivered as such, at every QoS.
#[test]
fn zero_length_payload_is_delivered() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "empty-sub", "empty/t", 2);
    let mut publisher = Client::connect(broker.addr(), "empty-pub");
    for qos in 0..3 {
        publisher.publish_complete(&Publish::new("empty/t", b"").qos(qos, 5));
        let got = sub.receive();
        assert_eq!((got.qos, got.payload.len()), (qos, 0));
    }
}

/// [MQTT-3.3.1-4] A PUBLISH with both QoS bits set is malformed: the connection is closed and
/// nothing is delivered.
#[test]
fn publish_with_qos_3_closes_connection() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "qos3-sub", "qos3/t", 2);
    let mut publisher = Client::connect(broker.addr(), "qos3-pub");
    publisher.send_raw(&wire::encode_publish(
        b"qos3/t",
        b"x",
        3,
        false,
        false,
        Some(1),
    ));
    publisher.expect_closed(TIMEOUT);
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-2.3.1-1] A QoS 1 PUBLISH needs a non-zero packet identifier: id 0 closes the
/// connection.
#[test]
fn publish_with_packet_id_zero_closes_connection() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "pid0-sub", "pid0/t", 1);
    let mut publisher = Client::connect(broker.addr(), "pid0-pub");
    publisher.publish(&Publish::new("pid0/t", b"x").qos(1, 0));
    publisher.expect_closed(TIMEOUT);
    sub.expect_no_packet(Duration::from_millis(500));
}

/// §3.1.4 (a client may send packets right after CONNECT without waiting for CONNACK) and
/// §4.2 (a stream transport may split or merge packets): CONNECT, SUBSCRIBE and 50 PUBLISHes
/// in a single write are all processed, in order.
#[test]
fn packets_coalesced_in_one_write_are_all_processed() {
    let broker = Broker::start(&[]);
    let mut bytes = Connect::v311("pipelined").encode();
    bytes.extend(wire::subscribe(1, &[("pipe/t", 1)]));
    for i in 0..50 {
        bytes.extend(
            Publish::new("pipe/t", format!("m{i}").as_bytes())
                .qos(1, pid(100 + i))
                .encode(),
        );
    }
    let mut client = Client::open(broker.addr());
    client.send_raw(&bytes);
    assert_eq!(client.expect_connack(), (false, 0));
    assert_eq!(client.expect_suback(1), [1]);
    for i in 0..50 {
        client.expect_puback(pid(100 + i));
    }
    for i in 0..50 {
        assert_eq!(client.receive().payload_str(), format!("m{i}"));
    }
}

/// §4.2: a packet may arrive in any number of pieces; a CONNECT and a PUBLISH written one byte
/// at a time are reassembled and processed.
#[test]
fn packets_split_into_single_bytes_are_reassembled() {
    let broker = Broker::start(&[]);
    let mut sub = subscriber(broker.addr(), "split-sub", "split/t", 1);
    let mut publisher = Client::open(broker.addr());
    for byte in Connect::v311("split-pub").encode() {
        publisher.send_raw(&[byte]);
    }
    assert_eq!(publisher.expect_connack(), (false, 0));
    let mut payload = vec![b'p'; 300]; // remaining length takes two bytes
    payload[0] = b'<';
    for byte in Publish::new("split/t", &payload).qos(1, 77).encode() {
        publisher.send_raw(&[byte]);
    }
    publisher.expect_puback(77);
    assert_eq!(sub.receive().payload, payload);
}
