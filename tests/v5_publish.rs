//! MQTT 5 PUBLISH over real sockets: message expiry, topic aliases both ways, forwarded
//! properties, subscription identifiers, and inbound flow control (MQTT 5.0 §3.3, §4.9).

mod common;

use std::time::Duration;

use common::{Broker, Client, ConnectV5, Filter, Prop, Props, PublishV5, TIMEOUT, sleep};

/// A persistent v5 subscriber to `filter` (session expiry 300 s), disconnected again.
fn offline_subscriber(broker: &Broker, id: &str, filter: &str) -> ConnectV5 {
    let connect = ConnectV5::new(id).persistent(300);
    let (mut client, _) = Client::connect_v5_ok(broker.addr(), &connect);
    client.sub_v5(filter, 1);
    client.disconnect();
    connect
}

/// [MQTT-3.3.2-5] A message whose Message Expiry Interval passes while a persistent subscriber
/// is offline is not delivered when it reconnects; one still valid is.
#[test]
fn expired_messages_are_not_delivered_to_a_returning_subscriber() {
    let broker = Broker::start(&[]);
    let connect = offline_subscriber(&broker, "away", "exp/t");
    let mut publisher = Client::connect_v5(broker.addr(), "exp-pub");
    let short = PublishV5::new("exp/t", b"short").qos(1, 1);
    publisher.publish_v5_complete(&short.prop(Prop::MessageExpiry(1)));
    let long = PublishV5::new("exp/t", b"long").qos(1, 2);
    publisher.publish_v5_complete(&long.prop(Prop::MessageExpiry(600)));
    publisher.publish_v5_complete(&PublishV5::new("exp/t", b"forever").qos(1, 3));
    sleep(Duration::from_secs(3));
    let (mut sub, connack) = Client::connect_v5_ok(broker.addr(), &connect);
    assert!(connack.session_present);
    let first = sub.receive_v5();
    let second = sub.receive_v5();
    assert_eq!(
        (first.payload_str(), second.payload_str()),
        ("long".into(), "forever".into())
    );
    assert_eq!(second.props.message_expiry(), None, "no expiry was set");
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.3.2-6] A message delivered after waiting in the broker carries the Message Expiry
/// Interval it was sent with minus the time it waited: lower than sent, still positive.
#[test]
fn delivered_message_carries_the_remaining_expiry_interval() {
    let broker = Broker::start(&[]);
    let connect = offline_subscriber(&broker, "later", "rest/t");
    let mut publisher = Client::connect_v5(broker.addr(), "rest-pub");
    let publish = PublishV5::new("rest/t", b"ticking").qos(1, 1);
    publisher.publish_v5_complete(&publish.prop(Prop::MessageExpiry(60)));
    sleep(Duration::from_millis(2200));
    let (mut sub, _) = Client::connect_v5_ok(broker.addr(), &connect);
    let got = sub.receive_v5();
    let left = got.props.message_expiry().expect("Message Expiry Interval");
    assert!(
        (1..60).contains(&left),
        "remaining interval {left}, sent 60 and waited 2 s"
    );
    assert!(
        left >= 50,
        "remaining interval {left}: far more than the 2 s waited was taken off"
    );
}

/// §3.3.2.3.4: a Topic Alias set with a topic can then be used with an empty topic name; the
/// subscriber gets the full topic each time, and the alias can be remapped [MQTT-3.3.2-10]
/// (the client side of [MQTT-3.3.2-12]).
#[test]
fn inbound_topic_alias_is_resolved() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect_v5(broker.addr(), "alias-sub");
    sub.sub_v5("alias/#", 0);
    let mut publisher = Client::connect_v5(broker.addr(), "alias-pub");
    let send = |publisher: &mut Client, topic: &str, payload: &[u8], alias: u16| {
        let publish = PublishV5::new(topic, payload).prop(Prop::TopicAlias(alias));
        publisher.publish_v5_complete(&publish);
    };
    send(&mut publisher, "alias/one/long/name", b"1", 10);
    send(&mut publisher, "", b"2", 10);
    send(&mut publisher, "alias/two", b"3", 10);
    send(&mut publisher, "", b"4", 10);
    let got: Vec<(String, String)> = (0..4)
        .map(|_| {
            let p = sub.receive_v5();
            (p.topic.clone(), p.payload_str())
        })
        .collect();
    let expected = [
        ("alias/one/long/name", "1"),
        ("alias/one/long/name", "2"),
        ("alias/two", "3"),
        ("alias/two", "4"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(t, p)| (t.to_string(), p.to_string()))
        .collect();
    assert_eq!(got, expected);
}

/// [MQTT-3.3.2-9] (§3.3.2.3.4) A Topic Alias above the Topic Alias Maximum the broker
/// announced (10) is a Protocol Error answered with DISCONNECT 0x94 (Topic Alias invalid).
#[test]
fn topic_alias_above_the_maximum_gets_disconnect_0x94() {
    let mut broker = Broker::start(&[]);
    for alias in [11u16, 65_535] {
        let mut client = Client::connect_v5(broker.addr(), "bad-alias");
        let publish = PublishV5::new("alias/t", b"x").prop(Prop::TopicAlias(alias));
        client.publish_v5(&publish);
        let (reason, _) = client.expect_disconnect_v5(TIMEOUT);
        assert_eq!(reason, 0x94, "alias {alias}");
    }
    common::assert_broker_healthy(&mut broker, "after-0x94");
}

/// [MQTT-3.3.2-8] A sender must not use Topic Alias 0; §3.3.2.3.4 (and §3.3.4): "A Topic Alias
/// value of 0 or greater than the Maximum Topic Alias is a Protocol Error, the receiver uses
/// DISCONNECT with Reason Code of 0x94 (Topic Alias invalid)".
#[test]
fn topic_alias_0_gets_disconnect_0x94() {
    let broker = Broker::start(&[]);
    let mut client = Client::connect_v5(broker.addr(), "alias-zero");
    client.publish_v5(&PublishV5::new("alias/t", b"x").prop(Prop::TopicAlias(0)));
    let (reason, _) = client.expect_disconnect_v5(TIMEOUT);
    assert_eq!(reason, 0x94);
}

/// §3.3.2.3.4: an empty topic name with an alias that has no mapping is a Protocol Error
/// (0x82); so is an empty topic name without any alias; and [MQTT-3.3.2-7] aliases do not
/// carry over from one connection to the next.
#[test]
fn unknown_topic_alias_gets_disconnect_0x82() {
    let broker = Broker::start(&[]);
    let mut client = Client::connect_v5(broker.addr(), "unmapped");
    client.publish_v5(&PublishV5::new("", b"x").prop(Prop::TopicAlias(4)));
    assert_eq!(client.expect_disconnect_v5(TIMEOUT).0, 0x82);

    let mut client = Client::connect_v5(broker.addr(), "no-topic");
    client.publish_v5(&PublishV5::new("", b"x"));
    assert_eq!(client.expect_disconnect_v5(TIMEOUT).0, 0x82);

    let mut client = Client::connect_v5(broker.addr(), "carried");
    let publish = PublishV5::new("alias/t", b"x").prop(Prop::TopicAlias(5));
    client.publish_v5_complete(&publish);
    client.disconnect();
    let mut client = Client::connect_v5(broker.addr(), "carried");
    client.publish_v5(&PublishV5::new("", b"x").prop(Prop::TopicAlias(5)));
    assert_eq!(
        client.expect_disconnect_v5(TIMEOUT).0,
        0x82,
        "[MQTT-3.3.2-7]"
    );
}

/// [MQTT-3.3.2-11] [MQTT-3.1.2-26] With a Topic Alias Maximum of 2 the broker may send
/// aliases 1 and 2 only; a repeated topic comes with an empty topic name and its alias, and
/// every delivery resolves to the topic it was published on.
#[test]
fn outbound_topic_aliases_stay_within_the_client_maximum() {
    let broker = Broker::start(&[]);
    let connect = ConnectV5::new("aliased").prop(Prop::TopicAliasMaximum(2));
    let (mut sub, _) = Client::connect_v5_ok(broker.addr(), &connect);
    sub.sub_v5("out/#", 0);
    let mut publisher = Client::connect(broker.addr(), "out-pub");
    let topics = [
        "out/a", "out/a", "out/b", "out/b", "out/c", "out/a", "out/c", "out/b",
    ];
    for topic in topics {
        publisher.publish_complete(&common::Publish::new(topic, topic.as_bytes()));
    }
    let mut aliases: [Option<String>; 3] = [None, None, None];
    let mut used_alias_alone = false;
    for topic in topics {
        let got = sub.expect_publish_v5();
        let alias = got.props.topic_alias();
        let resolved = match alias {
            Some(a) => {
                assert!((1..=2).contains(&a), "alias {a} above the maximum 2");
                let slot = &mut aliases[usize::from(a)];
                if got.topic.is_empty() {
                    used_alias_alone = true;
                } else {
                    *slot = Some(got.topic.clone());
                }
                slot.clone().expect("an alias used before it was set")
            }
            None => got.topic.clone(),
        };
        assert_eq!(resolved, topic, "{got:?}");
        assert_eq!(got.payload_str(), topic);
    }
    assert!(
        used_alias_alone,
        "a repeated topic was never sent as an alias alone"
    );
}

/// [MQTT-3.1.2-27] A client that announces no Topic Alias Maximum gets no aliases.
#[test]
fn no_outbound_topic_aliases_without_a_client_maximum() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect_v5(broker.addr(), "plain");
    sub.sub_v5("plain/#", 0);
    let mut publisher = Client::connect_v5(broker.addr(), "plain-pub");
    for _ in 0..3 {
        publisher.publish_v5_complete(&PublishV5::new("plain/t", b"x"));
    }
    for _ in 0..3 {
        let got = sub.expect_publish_v5();
        assert_eq!(
            (got.topic.as_str(), got.props.topic_alias()),
            ("plain/t", None)
        );
    }
}

/// Payload Format Indicator [MQTT-3.3.2-4], Content Type [MQTT-3.3.2-20], Response Topic
/// [MQTT-3.3.2-15], Correlation Data [MQTT-3.3.2-16] and User Properties [MQTT-3.3.2-17] reach
/// the subscriber unaltered, user properties in their order, repeated keys kept
/// [MQTT-3.3.2-18]; the publisher's Topic Alias is not forwarded.
#[test]
fn publish_properties_are_forwarded_unaltered() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect_v5(broker.addr(), "props-sub");
    sub.sub_v5("props/t", 2);
    let mut publisher = Client::connect_v5(broker.addr(), "props-pub");
    let props = Props::new()
        .with(Prop::PayloadFormat(1))
        .with(Prop::ContentType("application/json; charset=utf-8".into()))
        .with(Prop::ResponseTopic("props/reply/42".into()))
        .with(Prop::CorrelationData(vec![0xDE, 0xAD, 0x00, 0xBE, 0xEF]))
        .user("zeta", "1")
        .user("alpha", "2")
        .user("zeta", "3")
        .user("ünïcödé", "✓");
    for (qos, pid) in [(0, 0), (1, 1), (2, 2)] {
        let publish = PublishV5::new("props/t", b"{}")
            .qos(qos, pid)
            .props(props.clone());
        publisher.publish_v5_complete(&publish.prop(Prop::TopicAlias(3)));
        let got = sub.receive_v5();
        assert_eq!(got.qos, qos);
        assert_eq!(got.props, props, "QoS {qos}");
    }
}

/// [MQTT-3.3.4-3] [MQTT-3.3.4-4] A message matching two overlapping subscriptions of a client
/// carries the Subscription Identifiers of both (in one PUBLISH, or one each in two); a
/// subscription without an identifier adds none.
#[test]
fn overlapping_subscriptions_deliver_both_subscription_identifiers() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect_v5(broker.addr(), "ids");
    assert_eq!(
        sub.subscribe_v5(1, &[Filter::new("ids/+/temp", 1)], Some(1)),
        [1]
    );
    assert_eq!(
        sub.subscribe_v5(2, &[Filter::new("ids/#", 1)], Some(268_435_455)),
        [1]
    );
    assert_eq!(sub.subscribe_v5(3, &[Filter::new("other/#", 1)], None), [1]);
    let mut publisher = Client::connect_v5(broker.addr(), "ids-pub");
    publisher.publish_v5_complete(&PublishV5::new("ids/kitchen/temp", b"21").qos(1, 1));
    let first = sub.receive_v5();
    let mut ids = first.props.subscription_ids();
    if ids.len() < 2 {
        ids.extend(sub.receive_v5().props.subscription_ids());
    }
    ids.sort_unstable();
    assert_eq!(ids, [1, 268_435_455]);
    sub.expect_no_packet(Duration::from_millis(500));

    publisher.publish_v5_complete(&PublishV5::new("other/x", b"none").qos(1, 2));
    assert_eq!(sub.receive_v5().props.subscription_ids(), Vec::<u32>::new());
}

/// §4.9: a client that sends more QoS 2 PUBLISH packets than the broker's Receive Maximum (20)
/// without completing them gets DISCONNECT 0x93 (Receive Maximum exceeded); the first 20 are
/// each answered with PUBREC.
#[test]
fn inbound_qos2_beyond_the_receive_maximum_gets_disconnect_0x93() {
    let mut broker = Broker::start(&[]);
    let mut client = Client::connect_v5(broker.addr(), "flood");
    for pid in 1..=21u16 {
        client.publish_v5(&PublishV5::new("flood/t", b"x").qos(2, pid));
    }
    let packets = client.expect_closed(TIMEOUT);
    let pubrecs = packets
        .iter()
        .filter(|p| {
            matches!(
                p,
                common::Packet::V5(common::PacketV5::PubResponse {
                    first_byte: 0x50,
                    ..
                })
            )
        })
        .count();
    assert_eq!(pubrecs, 20, "{packets:?}");
    let reason = packets.iter().find_map(|p| match p {
        common::Packet::V5(common::PacketV5::Disconnect { reason, .. }) => Some(*reason),
        _ => None,
    });
    assert_eq!(reason, Some(0x93), "{packets:?}");
    common::assert_broker_healthy(&mut broker, "after-0x93");
}
