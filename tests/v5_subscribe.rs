//! MQTT 5 SUBSCRIBE and UNSUBSCRIBE over real sockets: subscription options, reason codes and
//! shared subscriptions (MQTT 5.0 §3.8 - §3.11, §4.8.2).

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Broker, Client, Filter, PublishV5, TIMEOUT};

/// [MQTT-3.8.3-3] With No Local, a client's own messages are not sent back to it; other
/// clients' messages, and its own on a subscription without No Local, still are.
#[test]
fn no_local_suppresses_only_the_clients_own_messages() {
    let broker = Broker::start(&[]);
    let mut me = Client::connect_v5(broker.addr(), "me");
    assert_eq!(
        me.subscribe_v5(1, &[Filter::new("nl/+", 1).no_local()], None),
        [1]
    );
    me.publish_v5_complete(&PublishV5::new("nl/mine", b"echo?").qos(1, 1));
    me.expect_no_packet(Duration::from_millis(500));
    let mut other = Client::connect_v5(broker.addr(), "other");
    other.publish_v5_complete(&PublishV5::new("nl/theirs", b"from other").qos(1, 1));
    assert_eq!(me.receive_v5().payload, b"from other");

    assert_eq!(me.subscribe_v5(2, &[Filter::new("nl/#", 1)], None), [1]);
    me.publish_v5_complete(&PublishV5::new("nl/mine", b"echo").qos(1, 2));
    assert_eq!(
        me.receive_v5().payload,
        b"echo",
        "through the filter without No Local"
    );
    me.expect_no_packet(Duration::from_millis(500));
}

/// Retain As Published: [MQTT-3.3.1-12] with 0 a retained message forwarded live has RETAIN 0;
/// [MQTT-3.3.1-13] with 1 it keeps RETAIN 1.
#[test]
fn retain_as_published_keeps_the_retain_flag_on_live_delivery() {
    let broker = Broker::start(&[]);
    let mut plain = Client::connect_v5(broker.addr(), "plain");
    plain.subscribe_v5(1, &[Filter::new("rap/t", 0)], None);
    let mut keeper = Client::connect_v5(broker.addr(), "keeper");
    keeper.subscribe_v5(1, &[Filter::new("rap/t", 0).retain_as_published()], None);
    let mut publisher = Client::connect_v5(broker.addr(), "rap-pub");
    publisher.publish_v5_complete(&PublishV5::new("rap/t", b"r").retain());
    publisher.publish_v5_complete(&PublishV5::new("rap/t", b"n"));
    let flags = |c: &mut Client| (c.receive_v5().retain, c.receive_v5().retain);
    assert_eq!(flags(&mut plain), (false, false));
    assert_eq!(flags(&mut keeper), (true, false));
}

/// Retain Handling: [MQTT-3.3.1-9] 0 sends retained messages at every subscribe;
/// [MQTT-3.3.1-10] 1 only when the subscription is new; [MQTT-3.3.1-11] 2 never. A retained
/// message sent because of a subscribe has RETAIN 1 [MQTT-3.3.1-8].
#[test]
fn retain_handling_0_1_2() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect_v5(broker.addr(), "rh-pub");
    publisher.publish_v5_complete(&PublishV5::new("rh/t", b"stored").qos(1, 1).retain());
    let mut c = Client::connect_v5(broker.addr(), "rh");
    let mut subscribe_and_count = |pid: u16, filter: Filter| {
        assert_eq!(c.subscribe_v5(pid, &[filter], None), [1]);
        let mut n = 0;
        while let Some(p) = try_publish(&mut c) {
            assert!(p.retain && p.payload == b"stored", "{p:?}");
            c.ack_v5(&p);
            n += 1;
        }
        n
    };
    assert_eq!(subscribe_and_count(1, Filter::new("rh/t", 1)), 1, "0, new");
    assert_eq!(
        subscribe_and_count(2, Filter::new("rh/t", 1)),
        1,
        "0, existing"
    );
    let if_new = |f: &str| Filter::new(f, 1).retain_handling(1);
    assert_eq!(subscribe_and_count(3, if_new("rh/t")), 0, "1, existing");
    assert_eq!(subscribe_and_count(4, if_new("rh/+")), 1, "1, new");
    let never = |f: &str| Filter::new(f, 1).retain_handling(2);
    assert_eq!(subscribe_and_count(5, never("rh/#")), 0, "2, new");
    assert_eq!(subscribe_and_count(6, never("rh/#")), 0, "2, existing");
}

/// The next PUBLISH if one arrives within 700 ms.
fn try_publish(client: &mut Client) -> Option<PublishV5> {
    client
        .try_next(Duration::from_millis(700))
        .map(|p| match p {
            common::Packet::V5(common::PacketV5::Publish(publish)) => publish,
            other => panic!("expected PUBLISH, got {other:?}"),
        })
}

/// [MQTT-3.9.3-1] [MQTT-3.9.3-2] SUBACK has one reason code per filter, in order: the granted
/// QoS, or 0x8F (Topic Filter invalid) for a filter that is not valid (§4.7.1), without
/// affecting the valid ones in the same SUBSCRIBE.
#[test]
fn suback_reason_codes_per_filter() {
    let broker = Broker::start(&[]);
    let mut c = Client::connect_v5(broker.addr(), "codes");
    let filters = [
        Filter::new("ok/0", 0),
        Filter::new("bad/#/middle", 1),
        Filter::new("ok/2", 2),
        Filter::new("bad+plus", 1),
        Filter::new("$share/g", 1),
    ];
    let codes = c.subscribe_v5(7, &filters, None);
    assert_eq!(codes, [0x00, 0x8F, 0x02, 0x8F, 0x8F]);
    let mut publisher = Client::connect_v5(broker.addr(), "codes-pub");
    publisher.publish_v5_complete(&PublishV5::new("ok/2", b"granted").qos(2, 1));
    assert_eq!(c.receive_v5().qos, 2);
}

/// [MQTT-3.11.3-1] [MQTT-3.11.3-2] UNSUBACK has one reason code per filter: 0x00 (Success)
/// for a subscription that existed, 0x11 (No subscription existed) otherwise.
#[test]
fn unsuback_reason_codes_per_filter() {
    let broker = Broker::start(&[]);
    let mut c = Client::connect_v5(broker.addr(), "unsub");
    c.subscribe_v5(1, &[Filter::new("u/a", 1), Filter::new("u/+", 1)], None);
    let codes = c.unsubscribe_v5(2, &["u/a", "u/never", "u/+", "u/a"]);
    assert_eq!(codes, [0x00, 0x11, 0x00, 0x11]);
    let mut publisher = Client::connect_v5(broker.addr(), "unsub-pub");
    publisher.publish_v5_complete(&PublishV5::new("u/a", b"x").qos(1, 1));
    c.expect_no_packet(Duration::from_millis(500));
}

/// §4.8.2: messages on a shared subscription go to one member each: two members both get
/// some, together all, none twice.
#[test]
fn shared_subscription_spreads_messages_over_its_members() {
    let broker = Broker::start(&[]);
    let mut a = Client::connect_v5(broker.addr(), "worker-a");
    let mut b = Client::connect_v5(broker.addr(), "worker-b");
    a.sub_v5("$share/g/jobs/+", 1);
    b.sub_v5("$share/g/jobs/+", 1);
    let mut publisher = Client::connect_v5(broker.addr(), "boss");
    let count = 20u16;
    for i in 1..=count {
        publisher
            .publish_v5_complete(&PublishV5::new("jobs/x", format!("{i}").as_bytes()).qos(1, i));
    }
    let mut got_a = BTreeSet::new();
    let mut got_b = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got_a.len() + got_b.len() < usize::from(count) {
        assert!(
            Instant::now() < deadline,
            "lost messages: a {got_a:?}, b {got_b:?}"
        );
        for (client, got) in [(&mut a, &mut got_a), (&mut b, &mut got_b)] {
            if let Some(p) = try_publish(client) {
                client.ack_v5(&p);
                assert!(got.insert(p.payload_str()), "{} twice", p.payload_str());
            }
        }
    }
    assert!(
        !got_a.is_empty() && !got_b.is_empty(),
        "a: {got_a:?}, b: {got_b:?}"
    );
    assert!(got_a.is_disjoint(&got_b), "a: {got_a:?}, b: {got_b:?}");
    a.expect_no_packet(Duration::from_millis(300));
    b.expect_no_packet(Duration::from_millis(300));
}

/// §3.3.1.3 / §4.8.2: retained messages are not sent when a shared subscription is made;
/// the same member's ordinary subscription still gets them.
#[test]
fn shared_subscription_gets_no_retained_message() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect_v5(broker.addr(), "ret-pub");
    publisher.publish_v5_complete(&PublishV5::new("sr/t", b"old").qos(1, 1).retain());
    let mut member = Client::connect_v5(broker.addr(), "member");
    member.sub_v5("$share/g/sr/t", 1);
    member.expect_no_packet(Duration::from_millis(700));
    member.sub_v5("sr/t", 1);
    let got = member.receive_v5();
    assert!(got.retain && got.payload == b"old");
}

/// §4.8.2: QoS 1 messages sent to a member that disconnects without acknowledging them are
/// sent to another member of the group (the broker may do so as soon as the connection is
/// lost), and none is lost.
#[test]
fn unacknowledged_shared_messages_go_to_another_member() {
    let broker = Broker::start(&[]);
    let mut a = Client::connect_v5(broker.addr(), "quitter");
    let mut b = Client::connect_v5(broker.addr(), "stayer");
    a.sub_v5("$share/g/work", 1);
    b.sub_v5("$share/g/work", 1);
    let mut publisher = Client::connect_v5(broker.addr(), "work-pub");
    for i in 1..=6u16 {
        publisher.publish_v5_complete(&PublishV5::new("work", format!("{i}").as_bytes()).qos(1, i));
    }
    let mut unacked = BTreeSet::new();
    while let Some(p) = try_publish(&mut a) {
        unacked.insert(p.payload_str());
    }
    assert!(!unacked.is_empty(), "round robin gave the quitter nothing");
    let mut done = BTreeSet::new();
    while let Some(p) = try_publish(&mut b) {
        b.ack_v5(&p);
        done.insert(p.payload_str());
    }
    a.drop_connection();
    let mut moved = BTreeSet::new();
    while moved.len() < unacked.len() {
        let p = b.expect_publish_v5();
        b.ack_v5(&p);
        moved.insert(p.payload_str());
    }
    assert_eq!(moved, unacked);
    let all: BTreeSet<String> = done.union(&moved).cloned().collect();
    assert_eq!(all.len(), 6, "every message delivered once: {all:?}");
    b.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error: DISCONNECT 0x82.
#[test]
fn no_local_on_a_shared_subscription_gets_disconnect_0x82() {
    let mut broker = Broker::start(&[]);
    let mut c = Client::connect_v5(broker.addr(), "odd");
    c.send(&common::wire_v5::subscribe(
        1,
        &[Filter::new("$share/g/t", 1).no_local()],
        None,
    ));
    assert_eq!(c.expect_disconnect_v5(TIMEOUT).0, 0x82);
    common::assert_broker_healthy(&mut broker, "after-shared-no-local");
}
