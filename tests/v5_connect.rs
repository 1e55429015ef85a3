//! MQTT 5 CONNECT and CONNACK over real sockets: what the broker announces, the limits a
//! client announces and the broker respects, and refusals (MQTT 5.0 §3.1, §3.2).

mod common;

use std::time::Duration;

use common::{Broker, Client, ConnectV5, Filter, Prop, Props, PublishV5, TIMEOUT, wire_v5};

/// [MQTT-3.2.2-3] (CONNACK properties, §3.2.2.3) A v5 CONNACK announces Receive Maximum
/// (`--max-inflight`, default 20), Topic Alias Maximum 10 and the optional features available.
#[test]
fn connack_announces_limits_and_features() {
    let broker = Broker::start(&[]);
    let (_client, connack) = Client::connect_v5_ok(broker.addr(), &ConnectV5::new("features"));
    assert!(!connack.session_present);
    let p = &connack.props;
    assert_eq!(p.receive_maximum(), Some(20), "{p:?}");
    assert_eq!(p.topic_alias_maximum(), Some(10), "{p:?}");
    for prop in [
        Prop::RetainAvailable(1),
        Prop::WildcardAvailable(1),
        Prop::SubscriptionIdAvailable(1),
        Prop::SharedAvailable(1),
    ] {
        assert!(p.0.contains(&prop), "{prop:?} missing from {p:?}");
    }
    assert_eq!(p.assigned_client_id(), None, "the client chose its id");
    assert_eq!(
        p.server_keep_alive(),
        None,
        "keepalive 60 s is accepted as sent"
    );

    let broker = Broker::start(&["--max-inflight", "7"]);
    let (_client, connack) = Client::connect_v5_ok(broker.addr(), &ConnectV5::new("seven"));
    assert_eq!(connack.props.receive_maximum(), Some(7));
}

/// [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16] An empty client identifier is replaced by a
/// unique one, returned as Assigned Client Identifier, for clean start 0 as well as 1.
#[test]
fn empty_client_id_gets_a_unique_assigned_identifier() {
    let broker = Broker::start(&[]);
    let (_a, ack_a) = Client::connect_v5_ok(broker.addr(), &ConnectV5::new(""));
    let connect = ConnectV5::new("").persistent(60);
    let (_b, ack_b) = Client::connect_v5_ok(broker.addr(), &connect);
    let a = ack_a.props.assigned_client_id().expect("assigned id for a");
    let b = ack_b.props.assigned_client_id().expect("assigned id for b");
    assert!(!a.is_empty() && !b.is_empty());
    assert_ne!(
        a, b,
        "[MQTT-3.2.2-16] a new identifier not used by another session"
    );
}

/// User Properties on CONNECT (§3.1.2.11.8) and Request Problem Information (§3.1.2.11.7) are
/// accepted; the connection works as usual.
#[test]
fn connect_with_user_properties_is_accepted() {
    let broker = Broker::start(&[]);
    let connect = ConnectV5::new("chatty")
        .prop(Prop::User("site".into(), "Erdgeschoss".into()))
        .prop(Prop::User("site".into(), "Keller".into()))
        .prop(Prop::RequestProblemInfo(1))
        .prop(Prop::RequestResponseInfo(0));
    let (mut client, _) = Client::connect_v5_ok(broker.addr(), &connect);
    client.sub_v5("chatty/t", 1);
    client.publish_v5_complete(&PublishV5::new("chatty/t", b"hi").qos(1, 1));
    assert_eq!(client.receive_v5().payload, b"hi");
}

/// [MQTT-4.12.0-1] (§4.12) A CONNECT with an Authentication Method the broker does not support
/// gets CONNACK 0x8C (Bad authentication method) and the connection is closed.
#[test]
fn unsupported_authentication_method_is_refused_with_0x8c() {
    let broker = Broker::start(&[]);
    let connect = ConnectV5::new("scram")
        .prop(Prop::AuthMethod("SCRAM-SHA-1".into()))
        .prop(Prop::AuthData(b"client-first".to_vec()));
    let (mut client, connack) = Client::connect_v5_with(broker.addr(), &connect);
    assert_eq!(connack.reason, 0x8C);
    assert!(!connack.session_present, "[MQTT-3.2.2-6]");
    client.expect_closed(TIMEOUT);
}

/// [MQTT-3.3.4-9] The broker sends at most the client's Receive Maximum unacknowledged QoS 1
/// PUBLISH packets; each PUBACK lets exactly one more through, and none is lost.
#[test]
fn client_receive_maximum_limits_unacknowledged_deliveries() {
    let broker = Broker::start(&[]);
    let connect = ConnectV5::new("slow").prop(Prop::ReceiveMaximum(2));
    let (mut sub, _) = Client::connect_v5_ok(broker.addr(), &connect);
    sub.sub_v5("slow/t", 1);
    let mut publisher = Client::connect_v5(broker.addr(), "fast");
    for i in 1..=5u16 {
        let publish = PublishV5::new("slow/t", format!("m{i}").as_bytes()).qos(1, i);
        publisher.publish_v5_complete(&publish);
    }
    let first = sub.expect_publish_v5();
    let second = sub.expect_publish_v5();
    sub.expect_no_packet(Duration::from_millis(700));
    let mut got = vec![first.payload_str(), second.payload_str()];
    sub.ack_v5(&first);
    let third = sub.expect_publish_v5();
    sub.expect_no_packet(Duration::from_millis(500));
    got.push(third.payload_str());
    sub.ack_v5(&second);
    sub.ack_v5(&third);
    got.push(sub.receive_v5().payload_str());
    got.push(sub.receive_v5().payload_str());
    assert_eq!(
        got,
        ["m1", "m2", "m3", "m4", "m5"],
        "[MQTT-4.6.0-6] order kept"
    );
}

/// [MQTT-3.1.2-24] [MQTT-3.1.2-25] A delivery larger than the client's Maximum Packet Size is
/// discarded, as if sent; a later small one still arrives.
#[test]
fn deliveries_over_the_client_maximum_packet_size_are_dropped() {
    let broker = Broker::start(&[]);
    let connect = ConnectV5::new("tiny").prop(Prop::MaximumPacketSize(100));
    let (mut sub, _) = Client::connect_v5_ok(broker.addr(), &connect);
    sub.sub_v5("tiny/t", 1);
    let mut publisher = Client::connect_v5(broker.addr(), "big");
    publisher.publish_v5_complete(&PublishV5::new("tiny/t", &[b'x'; 200]).qos(1, 1));
    publisher.publish_v5_complete(&PublishV5::new("tiny/t", b"small").qos(1, 2));
    let got = sub.receive_v5();
    assert_eq!(got.payload, b"small");
    sub.expect_no_packet(Duration::from_millis(500));
}

/// §3.2.2.3.6, §4.13: with `--max-packet-size`, CONNACK announces Maximum Packet Size, and a
/// client packet larger than it gets DISCONNECT 0x95 (Packet too large) and the close
/// [MQTT-3.2.2-15] is the client's side of the same limit.
#[test]
fn packet_over_the_broker_maximum_gets_disconnect_0x95() {
    let mut broker = Broker::start(&["--max-packet-size", "1024"]);
    let (mut client, connack) = Client::connect_v5_ok(broker.addr(), &ConnectV5::new("huge"));
    assert_eq!(connack.props.maximum_packet_size(), Some(1024));
    client.publish_v5_complete(&PublishV5::new("huge/t", &[1; 900]).qos(1, 1));
    client.publish_v5(&PublishV5::new("huge/t", &[1; 2000]).qos(1, 2));
    let (reason, _) = client.expect_disconnect_v5(TIMEOUT);
    assert_eq!(reason, 0x95);
    common::assert_broker_healthy(&mut broker, "after-0x95");
}

/// §3.2.2.3.14: the broker announces no Server Keep Alive when the client's keepalive is
/// acceptable.
#[test]
fn keep_alive_within_limits_gets_no_server_keep_alive() {
    let broker = Broker::start(&[]);
    for keep_alive in [0, 5, 65_535] {
        let connect = ConnectV5::new("ka").keep_alive(keep_alive);
        let (_client, connack) = Client::connect_v5_ok(broker.addr(), &connect);
        assert_eq!(
            connack.props.server_keep_alive(),
            None,
            "keepalive {keep_alive}"
        );
    }
}

/// Subscribing with a Subscription Identifier and unsubscribing work with the full MQTT 5
/// packet layout (property length present), and acknowledgements carrying reason codes and
/// properties (§3.4.2) are accepted from the client.
#[test]
fn acknowledgements_with_reason_codes_and_properties_are_accepted() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect_v5(broker.addr(), "acker");
    assert_eq!(
        sub.subscribe_v5(1, &[Filter::new("ack/+", 2)], Some(42)),
        [2]
    );
    let mut publisher = Client::connect_v5(broker.addr(), "ack-pub");
    publisher.publish_v5_complete(&PublishV5::new("ack/q1", b"one").qos(1, 1));
    publisher.publish_v5_complete(&PublishV5::new("ack/q2", b"two").qos(2, 2));
    let reason_string = Props::new().with(Prop::ReasonString("fine".into()));
    let q1 = sub.expect_publish_v5();
    sub.send(&wire_v5::pub_response(
        0x40,
        q1.pid.unwrap(),
        0,
        &reason_string,
    ));
    let q2 = sub.expect_publish_v5();
    assert_eq!(q2.props.subscription_ids(), [42]);
    sub.send(&wire_v5::pub_response(
        0x50,
        q2.pid.unwrap(),
        0,
        &reason_string,
    ));
    sub.expect_pub_response(0x62, q2.pid.unwrap());
    sub.send(&wire_v5::pub_response(
        0x70,
        q2.pid.unwrap(),
        0,
        &reason_string,
    ));
    // Both completed: nothing is re-sent, and the next message flows.
    publisher.publish_v5_complete(&PublishV5::new("ack/q1", b"three").qos(1, 3));
    assert_eq!(sub.receive_v5().payload, b"three");
    assert_eq!(sub.unsubscribe_v5(2, &["ack/+"]), [0x00]);
}

/// [MQTT-4.3.3-4] PUBREL follows only a PUBREC with a reason code below 0x80; [MQTT-3.3.4-9] a
/// PUBREC with 0x80 or above (and any PUBACK) ends the flow and frees its place in the
/// client's Receive Maximum, so the next message comes.
#[test]
fn failure_pubrec_ends_the_qos2_flow_and_frees_the_receive_maximum() {
    let broker = Broker::start(&[]);
    let connect = ConnectV5::new("refuser").prop(Prop::ReceiveMaximum(1));
    let (mut sub, _) = Client::connect_v5_ok(broker.addr(), &connect);
    sub.sub_v5("refuse/t", 2);
    let mut publisher = Client::connect_v5(broker.addr(), "refuse-pub");
    for pid in 1..=3u16 {
        let publish = PublishV5::new("refuse/t", format!("m{pid}").as_bytes()).qos(2, pid);
        publisher.publish_v5_complete(&publish);
    }
    let first = sub.expect_publish_v5();
    assert_eq!(first.payload, b"m1");
    sub.send(&wire_v5::pubrec(first.pid.unwrap(), 0x80));
    let second = sub.expect_publish_v5();
    assert_eq!(
        second.payload, b"m2",
        "no PUBREL for a refused message, and the next one"
    );
    sub.send(&wire_v5::pubrec(second.pid.unwrap(), 0x00));
    sub.expect_pub_response(0x62, second.pid.unwrap());
    sub.send(&wire_v5::pubcomp(second.pid.unwrap(), 0x00));
    assert_eq!(sub.receive_v5().payload, b"m3");
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.2.2-21] With `--max-keepalive 30`, a v5 client asking for 120 s (or none) is told
/// Server Keep Alive 30 and must use it; a 3.1.1 client cannot be told, so as with mosquitto it
/// is refused (return code 2) while one asking for 20 s is accepted.
#[test]
fn max_keepalive_sets_server_keep_alive_and_refuses_longer_v3_keepalives() {
    let broker = Broker::start(&["--max-keepalive", "30"]);
    for keep_alive in [120, 0] {
        let connect = ConnectV5::new("long").keep_alive(keep_alive);
        let (_client, connack) = Client::connect_v5_ok(broker.addr(), &connect);
        assert_eq!(
            connack.props.server_keep_alive(),
            Some(30),
            "keepalive {keep_alive}"
        );
    }
    let mut connect = common::wire::Connect::v311("old-long");
    connect.keep_alive = 120;
    let (mut client, (session_present, code)) = Client::connect_with(broker.addr(), &connect);
    assert_eq!((session_present, code), (false, 2));
    assert!(client.closed_within(Duration::from_secs(5)).is_some());
    let mut connect = common::wire::Connect::v311("old-short");
    connect.keep_alive = 20;
    let (_client, (_, code)) = Client::connect_with(broker.addr(), &connect);
    assert_eq!(code, 0);
}
