//! MQTT 3.1, 3.1.1 and 5.0 clients on the same topics at the same time: each gets messages in
//! its own protocol version, and properties survive wherever MQTT 5 can carry them.

mod common;

use std::time::Duration;

use common::{Broker, Client, Connect, ConnectV5, Prop, Props, Publish, PublishV5};

/// Properties a v5 publisher attaches in these tests.
fn rich_props() -> Props {
    Props::new()
        .with(Prop::PayloadFormat(1))
        .with(Prop::ContentType("text/plain".into()))
        .with(Prop::ResponseTopic("mixed/reply".into()))
        .with(Prop::CorrelationData(b"req-7".to_vec()))
        .user("b", "1")
        .user("a", "2")
}

/// A 3.1.1 subscriber gets a v5 publisher's message (with properties and a topic alias) as a
/// plain 3.1.1 PUBLISH: the exact topic, payload, QoS and nothing added to the payload.
#[test]
fn v311_subscriber_gets_a_v5_message_as_plain_publish() {
    let broker = Broker::start(&[]);
    let mut old = Client::connect(broker.addr(), "old");
    assert_eq!(old.subscribe(1, &[("mixed/t", 2)]), [2]);
    let mut new = Client::connect_v5(broker.addr(), "new-pub");
    for (qos, pid) in [(0, 0), (1, 1), (2, 2)] {
        let publish = PublishV5::new("mixed/t", b"hello v3")
            .qos(qos, pid)
            .props(rich_props())
            .prop(Prop::TopicAlias(1))
            .prop(Prop::MessageExpiry(60));
        new.publish_v5_complete(&publish);
        let got = old.receive();
        assert_eq!(
            (got.topic.as_str(), got.payload.as_slice(), got.qos),
            ("mixed/t", &b"hello v3"[..], qos)
        );
    }
    // The alias alone resolves for the v3 subscriber too.
    new.publish_v5_complete(&PublishV5::new("", b"by alias").prop(Prop::TopicAlias(1)));
    let got = old.receive();
    assert_eq!(
        (got.topic.as_str(), got.payload_str().as_str()),
        ("mixed/t", "by alias")
    );
}

/// A v5 subscriber gets a 3.1.1 publisher's message as a v5 PUBLISH without properties (other
/// than its subscription identifier).
#[test]
fn v5_subscriber_gets_a_v311_message() {
    let broker = Broker::start(&[]);
    let mut new = Client::connect_v5(broker.addr(), "new-sub");
    new.subscribe_v5(1, &[common::Filter::new("mixed/#", 1)], Some(5));
    let mut old = Client::connect(broker.addr(), "old-pub");
    old.publish_complete(&Publish::new("mixed/x", b"from v3").qos(1, 1));
    let got = new.receive_v5();
    assert_eq!((got.topic.as_str(), got.qos), ("mixed/x", 1));
    assert_eq!(got.payload, b"from v3");
    assert_eq!(got.props, Props::new().with(Prop::SubscriptionId(5)));
}

/// [MQTT-3.3.1-5] A retained message published by v5 with properties is stored with them: a
/// later v5 subscriber gets them [MQTT-3.3.2-17], a later 3.1.1 subscriber the plain message.
#[test]
fn retained_v5_message_keeps_its_properties_for_later_subscribers() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect_v5(broker.addr(), "ret-pub");
    let publish = PublishV5::new("mixed/ret", b"stored").qos(1, 1).retain();
    publisher.publish_v5_complete(&publish.props(rich_props()));
    let mut new = Client::connect_v5(broker.addr(), "ret-new");
    new.sub_v5("mixed/ret", 1);
    let got = new.receive_v5();
    assert!(got.retain);
    assert_eq!(got.payload, b"stored");
    assert_eq!(got.props.application(), rich_props());

    let mut old = Client::connect(broker.addr(), "ret-old");
    old.subscribe(1, &[("mixed/ret", 1)]);
    let got = old.receive();
    assert!(got.retain);
    assert_eq!(got.payload, b"stored");
}

/// [MQTT-3.1.2-23] A message queued for an offline persistent v5 session keeps its properties
/// until the session reconnects.
#[test]
fn queued_message_of_a_persistent_v5_session_keeps_its_properties() {
    let broker = Broker::start(&[]);
    let connect = ConnectV5::new("queued").persistent(300);
    let (mut sub, _) = Client::connect_v5_ok(broker.addr(), &connect);
    sub.sub_v5("mixed/q", 2);
    sub.disconnect();
    let mut publisher = Client::connect_v5(broker.addr(), "q-pub");
    for (qos, pid) in [(1, 1), (2, 2)] {
        let publish = PublishV5::new("mixed/q", b"waiting").qos(qos, pid);
        publisher.publish_v5_complete(&publish.props(rich_props()));
    }
    let (mut sub, connack) = Client::connect_v5_ok(broker.addr(), &connect);
    assert!(connack.session_present);
    for _ in 0..2 {
        let got = sub.receive_v5();
        assert_eq!(got.payload, b"waiting");
        assert_eq!(got.props.application(), rich_props(), "QoS {}", got.qos);
    }
}

/// 3.1, 3.1.1 and 5 clients subscribed to one topic each receive every other client's
/// messages (and their own), each in its own protocol version.
#[test]
fn all_three_versions_exchange_messages_on_one_topic() {
    let broker = Broker::start(&[]);
    let (mut v31, ack) = Client::connect_with(broker.addr(), &Connect::v31("v31"));
    assert_eq!(ack, (false, 0));
    let mut v311 = Client::connect(broker.addr(), "v311");
    let mut v5 = Client::connect_v5(broker.addr(), "v5");
    assert_eq!(v31.subscribe(1, &[("mixed/all", 1)]), [1]);
    assert_eq!(v311.subscribe(1, &[("mixed/all", 1)]), [1]);
    v5.sub_v5("mixed/all", 1);

    v31.publish_complete(&Publish::new("mixed/all", b"from 3.1").qos(1, 10));
    v311.publish_complete(&Publish::new("mixed/all", b"from 3.1.1").qos(1, 11));
    v5.publish_v5_complete(&PublishV5::new("mixed/all", b"from 5").qos(1, 12));

    let expected = ["from 3.1", "from 3.1.1", "from 5"];
    for old in [&mut v31, &mut v311] {
        let got: Vec<String> = (0..3).map(|_| old.receive().payload_str()).collect();
        assert_eq!(
            got, expected,
            "[MQTT-4.6.0-6] per-publisher order, here one by one"
        );
    }
    let got: Vec<String> = (0..3).map(|_| v5.receive_v5().payload_str()).collect();
    assert_eq!(got, expected);
    for old in [&mut v31, &mut v311] {
        old.expect_no_packet(Duration::from_millis(300));
    }
    v5.expect_no_packet(Duration::from_millis(300));
}
