//! SUBSCRIBE, UNSUBSCRIBE, PINGREQ and topic matching over real sockets (MQTT 3.1.1 §3.8 -
//! §3.12, §4.7).

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use common::{Broker, Client, Publish, TIMEOUT, wire};

/// The topic a matching test publishes last; every matching subscriber also subscribes to it, so
/// its arrival means everything published before it has been routed.
const END: &str = "zz/end";

/// Subscribes to `filters` (QoS 0), publishes one message to each of `topics` and then to
/// `END`; returns the set of topics the subscriber received.
fn topics_matched(addr: SocketAddr, filters: &[&str], topics: &[&str]) -> BTreeSet<String> {
    let mut sub = Client::connect(addr, "match-sub");
    let mut requested: Vec<(&str, u8)> = filters.iter().map(|f| (*f, 0)).collect();
    requested.push((END, 0));
    let codes = sub.subscribe(1, &requested);
    assert_eq!(codes, vec![0; requested.len()], "SUBACK for {filters:?}");
    let mut publisher = Client::connect(addr, "match-pub");
    for topic in topics {
        publisher.publish_complete(&Publish::new(topic, topic.as_bytes()).qos(1, 1));
    }
    publisher.publish_complete(&Publish::new(END, b"end").qos(1, 1));
    let mut matched = BTreeSet::new();
    loop {
        let got = sub.expect_publish();
        if got.topic == END {
            break;
        }
        assert!(
            matched.insert(got.topic.clone()),
            "delivered twice: {got:?}"
        );
    }
    sub.expect_no_packet(Duration::from_millis(300));
    sub.disconnect();
    publisher.disconnect();
    matched
}

fn set(topics: &[&str]) -> BTreeSet<String> {
    topics.iter().map(|t| t.to_string()).collect()
}

/// [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-4] [MQTT-3.8.4-5] One SUBACK with the same packet
/// id and one return code per filter, in order, each the granted QoS.
#[test]
fn suback_grants_qos_per_filter() {
    let broker = Broker::start(&[]);
    let mut client = Client::connect(broker.addr(), "granted");
    let codes = client.subscribe(0x4242, &[("g/0", 0), ("g/1", 1), ("g/2", 2), ("g/+/x", 1)]);
    assert_eq!(codes, [0, 1, 2, 1]);
}

/// [MQTT-4.7.1-2] '#' must be last and alone in its level; [MQTT-4.7.1-3] '+' must fill its
/// level. An invalid filter gets return code 0x80 [MQTT-3.9.3-2] while the valid filters of the
/// same SUBSCRIBE are granted and the connection stays usable.
#[test]
fn suback_0x80_for_invalid_filters() {
    let broker = Broker::start(&[]);
    let mut client = Client::connect(broker.addr(), "invalid-filters");
    let filters = [
        ("ok/+", 1),
        ("a/#/b", 1),
        ("sport+", 1),
        ("sport/ten#", 1),
        ("ok/#", 2),
    ];
    assert_eq!(client.subscribe(3, &filters), [1, 0x80, 0x80, 0x80, 2]);
    client.publish_complete(&Publish::new("ok/x", b"still works").qos(1, 4));
    assert_eq!(client.receive().payload, b"still works");
}

/// [MQTT-3.10.4-4] UNSUBACK carries the packet id of the UNSUBSCRIBE; [MQTT-3.10.4-5] it is
/// sent even when no subscription was deleted, once for a multi-filter UNSUBSCRIBE.
#[test]
fn unsuback_echoes_packet_id() {
    let broker = Broker::start(&[]);
    let mut client = Client::connect(broker.addr(), "unsub");
    client.subscribe(1, &[("u/a", 1), ("u/b", 1)]);
    client.unsubscribe(0xBEEF, &["u/a", "u/b", "never/subscribed"]);
    client.unsubscribe(2, &["never/subscribed"]);
    client.expect_no_packet(Duration::from_millis(300));
}

/// [MQTT-3.10.4-1] [MQTT-3.10.4-2] After UNSUBSCRIBE the filter is gone: nothing more is
/// delivered for it, while other subscriptions stay.
#[test]
fn nothing_delivered_after_unsubscribe() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect(broker.addr(), "unsub-sub");
    sub.subscribe(1, &[("gone/t", 1), ("kept/t", 1)]);
    sub.unsubscribe(2, &["gone/t"]);
    let mut publisher = Client::connect(broker.addr(), "unsub-pub");
    publisher.publish_complete(&Publish::new("gone/t", b"x").qos(1, 1));
    publisher.publish_complete(&Publish::new("kept/t", b"y").qos(1, 2));
    let got = sub.receive();
    assert_eq!(got.topic, "kept/t");
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.8.4-3] Subscribing again to the same filter replaces the subscription: the new QoS
/// applies and the message is delivered once.
#[test]
fn resubscribe_replaces_qos() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect(broker.addr(), "resub");
    assert_eq!(sub.subscribe(1, &[("re/t", 2)]), [2]);
    assert_eq!(sub.subscribe(2, &[("re/t", 0)]), [0]);
    let mut publisher = Client::connect(broker.addr(), "resub-pub");
    publisher.publish_complete(&Publish::new("re/t", b"x").qos(2, 1));
    let got = sub.receive();
    assert_eq!(got.qos, 0);
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.12.4-1] PINGREQ is answered with PINGRESP, repeatedly.
#[test]
fn pingreq_gets_pingresp() {
    let broker = Broker::start(&[]);
    let mut client = Client::connect(broker.addr(), "ping");
    for _ in 0..3 {
        client.send(&wire::pingreq());
        let packet = client.next_packet(TIMEOUT);
        assert_eq!(packet, common::Packet::PingResp);
    }
}

/// [MQTT-4.7.1-3] '+' matches exactly one level, including an empty one.
#[test]
fn single_level_wildcard_matches_one_level() {
    let broker = Broker::start(&[]);
    let matched = topics_matched(
        broker.addr(),
        &["sport/tennis/+", "+/finance"],
        &[
            "sport/tennis/player1",
            "sport/tennis/",
            "sport/tennis",
            "sport/tennis/player1/ranking",
            "/finance",
            "finance",
        ],
    );
    assert_eq!(
        matched,
        set(&["sport/tennis/player1", "sport/tennis/", "/finance"])
    );
}

/// [MQTT-4.7.1-2] 'sport/#' matches 'sport' itself and every level below it, but not
/// 'sports'; '#' alone matches every topic not starting with '$'.
#[test]
fn multi_level_wildcard_matches_parent_and_children() {
    let broker = Broker::start(&[]);
    let matched = topics_matched(
        broker.addr(),
        &["sport/#"],
        &[
            "sport",
            "sport/tennis",
            "sport/tennis/player1",
            "sports",
            "x/sport",
        ],
    );
    assert_eq!(
        matched,
        set(&["sport", "sport/tennis", "sport/tennis/player1"])
    );

    let matched = topics_matched(broker.addr(), &["#"], &["a", "a/b/c", "/", "x/sport"]);
    assert_eq!(matched, set(&["a", "a/b/c", "/", "x/sport"]));
}

/// [MQTT-4.7.3-4] Topic matching is exact and case sensitive; a trailing '/' makes a different
/// topic.
#[test]
fn exact_filters_are_case_sensitive() {
    let broker = Broker::start(&[]);
    let matched = topics_matched(
        broker.addr(),
        &["ACCOUNTS/x"],
        &["ACCOUNTS/x", "Accounts/x", "ACCOUNTS/x/"],
    );
    assert_eq!(matched, set(&["ACCOUNTS/x"]));
}

/// [MQTT-4.7.2-1] Filters starting with a wildcard do not match topics starting with '$':
/// '#' and '+/x' miss '$SYS/x' and '$test/x', while a filter naming '$test' matches.
#[test]
fn dollar_topics_not_matched_by_leading_wildcards() {
    let broker = Broker::start(&[]);
    let mut control = Client::connect(broker.addr(), "dollar-control");
    assert_eq!(control.subscribe(1, &[("$test/+", 0)]), [0]);
    let matched = topics_matched(
        broker.addr(),
        &["#", "+/x", "+/+"],
        &["$SYS/x", "$test/x", "plain/x"],
    );
    assert_eq!(matched, set(&["plain/x"]));
    let got = control.expect_publish();
    assert_eq!(got.topic, "$test/x", "the '$' message was published");
}

/// [MQTT-3.3.2-2] A wildcard in a PUBLISH topic name closes the connection, and nothing is
/// delivered.
#[test]
fn wildcard_in_publish_topic_closes_connection() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect(broker.addr(), "wild-sub");
    sub.subscribe(1, &[("#", 0)]);
    for topic in ["a/+/b", "a/#", "+", "#"] {
        let mut publisher = Client::connect(broker.addr(), "wild-pub");
        publisher.publish(&Publish::new(topic, b"x").qos(1, 1));
        let packets = publisher.expect_closed(TIMEOUT);
        assert!(
            !packets.contains(&common::Packet::PubAck(1)),
            "{topic:?} was acknowledged"
        );
    }
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.8.1-1] SUBSCRIBE with fixed header flags other than 0b0010 is malformed;
/// [MQTT-3.8.3-3] one without any filter is a protocol violation; [MQTT-3-8.3-4] requested QoS
/// 3 is malformed; [MQTT-3.10.1-1] the same flag rule for UNSUBSCRIBE; [MQTT-3.10.3-2] an
/// UNSUBSCRIBE needs at least one filter. Each closes the connection.
#[test]
fn malformed_subscribe_and_unsubscribe_close_connection() {
    let broker = Broker::start(&[]);
    let mut good_subscribe = wire::subscribe(1, &[("m/t", 1)]);
    good_subscribe[0] = 0x80;
    let mut good_unsubscribe = wire::unsubscribe(1, &["m/t"]);
    good_unsubscribe[0] = 0xA0;
    let cases = [
        ("SUBSCRIBE flags 0", good_subscribe),
        ("SUBSCRIBE without filters", wire::frame(0x82, &[0, 1])),
        ("SUBSCRIBE QoS 3", wire::subscribe(1, &[("m/t", 3)])),
        (
            "SUBSCRIBE reserved QoS bits",
            wire::subscribe(1, &[("m/t", 0x41)]),
        ),
        ("UNSUBSCRIBE flags 0", good_unsubscribe),
        ("UNSUBSCRIBE without filters", wire::frame(0xA2, &[0, 1])),
    ];
    for (what, bytes) in cases {
        let mut client = Client::connect(broker.addr(), "malformed-sub");
        client.send_raw(&bytes);
        let packets = client
            .closed_within(TIMEOUT)
            .unwrap_or_else(|| panic!("{what}: connection not closed"));
        assert!(
            packets.iter().all(|p| !matches!(
                p,
                common::Packet::SubAck { .. } | common::Packet::UnsubAck(_)
            )),
            "{what}: acknowledged: {packets:?}"
        );
    }
}

/// §3.10.4: UNSUBSCRIBE removes only the filter that matches it character for character; it
/// cannot punch a hole in a wildcard subscription [MQTT-3.10.4-1].
#[test]
fn unsubscribe_removes_only_the_exact_filter() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect(broker.addr(), "holes");
    sub.subscribe(1, &[("test/#", 1)]);
    sub.unsubscribe(2, &["test/one", "test/+"]);
    let mut publisher = Client::connect(broker.addr(), "holes-pub");
    publisher.publish_complete(&Publish::new("test/one", b"still").qos(1, 1));
    assert_eq!(sub.receive().payload, b"still");
}
