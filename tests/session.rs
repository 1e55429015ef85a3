//! Sessions over real sockets: clean session 0 keeps subscriptions and messages across
//! connections, clean session 1 discards them (MQTT 3.1.1 §3.1.2.4, §3.2.2.2, §4.4).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Broker, Client, Connect, Packet, Publish, TIMEOUT, wire};

/// Connects `id` with the given clean session flag; returns the client and session present.
fn connect(addr: SocketAddr, id: &str, clean: bool) -> (Client, bool) {
    let (client, (session_present, code)) =
        Client::connect_with(addr, &Connect::v311(id).clean_session(clean));
    assert_eq!(code, 0, "CONNACK return code for {id:?}");
    (client, session_present)
}

/// [MQTT-3.2.2-3] A first clean session 0 connection has no stored session: session present 0.
/// [MQTT-3.1.2-4] [MQTT-3.2.2-2] Reconnecting resumes it: session present 1 and the
/// subscription still delivers without a new SUBSCRIBE.
#[test]
fn persistent_session_keeps_subscriptions() {
    let broker = Broker::start(&[]);
    let (mut sub, present) = connect(broker.addr(), "keeper", false);
    assert!(!present, "no session existed yet");
    assert_eq!(sub.subscribe(1, &[("keep/t", 1)]), [1]);
    sub.disconnect();

    let (mut sub, present) = connect(broker.addr(), "keeper", false);
    assert!(present, "the session must be resumed");
    let mut publisher = Client::connect(broker.addr(), "keeper-pub");
    publisher.publish_complete(&Publish::new("keep/t", b"still subscribed").qos(1, 1));
    assert_eq!(sub.receive().payload, b"still subscribed");
}

/// [MQTT-3.1.2-5] QoS 1 and QoS 2 messages published while a persistent session is offline are
/// stored and delivered when it reconnects, each exactly at its QoS.
#[test]
fn messages_published_while_offline_are_delivered_on_reconnect() {
    let broker = Broker::start(&[]);
    let (mut sub, _) = connect(broker.addr(), "offline", false);
    sub.subscribe(1, &[("off/t", 2)]);
    sub.disconnect();

    let mut publisher = Client::connect(broker.addr(), "offline-pub");
    publisher.publish_complete(&Publish::new("off/t", b"q1 a").qos(1, 1));
    publisher.publish_complete(&Publish::new("off/t", b"q2 b").qos(2, 2));
    publisher.publish_complete(&Publish::new("off/t", b"q1 c").qos(1, 3));

    let (mut sub, present) = connect(broker.addr(), "offline", false);
    assert!(present);
    let mut got: Vec<(String, u8)> = (0..3)
        .map(|_| {
            let publish = sub.receive();
            (publish.payload_str(), publish.qos)
        })
        .collect();
    // Order is only promised per topic *and QoS* [MQTT-4.6.0-6]; the QoS 1 pair keeps its order.
    let q1: Vec<&String> = got
        .iter()
        .filter(|(_, q)| *q == 1)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(q1, ["q1 a", "q1 c"]);
    got.sort();
    assert_eq!(
        got,
        [("q1 a".into(), 1), ("q1 c".into(), 1), ("q2 b".into(), 2)]
    );
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-4.4.0-1] On reconnect the broker re-sends an unacknowledged QoS 1 PUBLISH with DUP 1
/// [MQTT-3.3.1-1] and the same packet id [MQTT-2.3.1-4]; once acknowledged it stops.
#[test]
fn unacknowledged_publish_is_resent_with_dup_on_reconnect() {
    let broker = Broker::start(&[]);
    let (mut sub, _) = connect(broker.addr(), "forgetful", false);
    sub.subscribe(1, &[("dup/t", 1)]);
    let mut publisher = Client::connect(broker.addr(), "forgetful-pub");
    publisher.publish_complete(&Publish::new("dup/t", b"ack me").qos(1, 1));
    let first = sub.expect_publish();
    assert!(!first.dup);
    sub.drop_connection();

    let (mut sub, present) = connect(broker.addr(), "forgetful", false);
    assert!(present);
    let again = sub.expect_publish();
    assert_eq!(again.payload, b"ack me");
    assert!(again.dup, "a re-sent PUBLISH has DUP 1: {again:?}");
    assert_eq!(again.pid, first.pid);
    sub.ack(&again);
    sub.expect_no_packet(Duration::from_secs(1));
}

/// [MQTT-4.4.0-1] A QoS 2 delivery interrupted after PUBREC resumes with PUBREL, not with the
/// PUBLISH again (that would be a second delivery).
#[test]
fn unacknowledged_pubrel_is_resent_on_reconnect() {
    let broker = Broker::start(&[]);
    let (mut sub, _) = connect(broker.addr(), "halfway", false);
    sub.subscribe(1, &[("rel/t", 2)]);
    let mut publisher = Client::connect(broker.addr(), "halfway-pub");
    publisher.publish_complete(&Publish::new("rel/t", b"exactly once").qos(2, 1));
    let got = sub.expect_publish();
    let pid = got.pid.expect("QoS 2");
    sub.send(&wire::pubrec(pid));
    sub.expect_pubrel(pid);
    sub.drop_connection();

    let (mut sub, present) = connect(broker.addr(), "halfway", false);
    assert!(present);
    let packet = sub.next_packet(TIMEOUT);
    assert_eq!(
        packet,
        Packet::PubRel(pid),
        "PUBREL re-sent, not the PUBLISH"
    );
    sub.send(&wire::pubcomp(pid));
    sub.expect_no_packet(Duration::from_secs(1));
}

/// [MQTT-3.1.2-6] [MQTT-3.2.2-1] Clean session 1 discards the stored session (session present 0,
/// the subscription is gone), and its own state is not kept after it ends either.
#[test]
fn clean_session_discards_the_session() {
    let broker = Broker::start(&[]);
    let (mut sub, _) = connect(broker.addr(), "cleaner", false);
    sub.subscribe(1, &[("clean/t", 1)]);
    sub.disconnect();

    let (mut sub, present) = connect(broker.addr(), "cleaner", true);
    assert!(!present, "clean session 1 must report session present 0");
    let mut publisher = Client::connect(broker.addr(), "cleaner-pub");
    publisher.publish_complete(&Publish::new("clean/t", b"nobody").qos(1, 1));
    sub.expect_no_packet(Duration::from_secs(1));
    sub.subscribe(2, &[("clean/t", 1)]);
    sub.disconnect();

    publisher.publish_complete(&Publish::new("clean/t", b"still nobody").qos(1, 2));
    let (mut sub, present) = connect(broker.addr(), "cleaner", false);
    assert!(!present, "nothing of the clean session may be kept");
    sub.expect_no_packet(Duration::from_secs(1));
}

/// [MQTT-3.1.2-4] A persistent session survives a takeover: the new connection gets session
/// present 1 and messages the old one had not acknowledged.
#[test]
fn persistent_session_survives_takeover() {
    let broker = Broker::start(&[]);
    let (mut old, _) = connect(broker.addr(), "moving", false);
    old.subscribe(1, &[("move/t", 1)]);
    let mut publisher = Client::connect(broker.addr(), "moving-pub");
    publisher.publish_complete(&Publish::new("move/t", b"unacked").qos(1, 1));
    old.expect_publish();

    let (mut new, present) = connect(broker.addr(), "moving", false);
    assert!(present);
    old.expect_closed(TIMEOUT);
    let again = new.receive();
    assert_eq!(
        (again.payload.as_slice(), again.dup),
        (&b"unacked"[..], true)
    );
}

/// [MQTT-4.4.0-1] [MQTT-4.3.3-2] The broker keeps an inbound QoS 2 exchange across a reconnect
/// of a persistent session: the publisher re-sends the PUBLISH with DUP (answered by PUBREC),
/// then PUBREL (answered by PUBCOMP), and the subscriber gets the message exactly once.
#[test]
fn inbound_qos2_survives_publisher_reconnect() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect(broker.addr(), "q2-watch");
    sub.subscribe(1, &[("in2/t", 2)]);
    let (mut publisher, _) = connect(broker.addr(), "q2-resumer", false);
    let publish = Publish::new("in2/t", b"only once").qos(2, 21);
    publisher.publish(&publish);
    publisher.expect_pubrec(21);
    publisher.drop_connection();

    let (mut publisher, present) = connect(broker.addr(), "q2-resumer", false);
    assert!(present);
    publisher.publish(&publish.clone().dup());
    publisher.expect_pubrec(21);
    publisher.send(&wire::pubrel(21));
    publisher.expect_pubcomp(21);
    assert_eq!(sub.receive().payload, b"only once");
    sub.expect_no_packet(Duration::from_secs(1));
}

/// MQTT 3.1 §3.2: the first byte of a 3.1 CONNACK is reserved and not used, so it is 0 even
/// when a persistent session is resumed (session present is a 3.1.1 addition, [MQTT-3.2.2-2]).
/// The session itself is still resumed: the message queued while offline arrives, and so
/// does the unacknowledged one, again with DUP [MQTT-4.4.0-1].
#[test]
fn mqtt_3_1_connack_byte_1_stays_0_when_the_session_resumes() {
    let broker = Broker::start(&[]);
    let persistent = Connect::v31("old-31").clean_session(false);
    let (mut sub, connack) = Client::connect_with(broker.addr(), &persistent);
    assert_eq!(connack, (false, 0));
    sub.subscribe(1, &[("v31/keep", 1)]);
    let mut publisher = Client::connect(broker.addr(), "old-31-pub");
    publisher.publish_complete(&Publish::new("v31/keep", b"unacked").qos(1, 1));
    sub.expect_publish();
    sub.drop_connection();
    publisher.publish_complete(&Publish::new("v31/keep", b"queued").qos(1, 2));

    let mut sub = Client::open(broker.addr());
    sub.send(&persistent.encode());
    // `Packet::ConnAck` decodes only a two-byte body after 0x20, so (false, 0) is exactly the
    // bytes 20 02 00 00.
    assert_eq!(sub.expect_connack(), (false, 0), "CONNACK 20 02 00 00");
    let again = sub.receive();
    assert_eq!(
        (again.payload.as_slice(), again.dup),
        (&b"unacked"[..], true)
    );
    assert_eq!(sub.receive().payload, b"queued");
}
