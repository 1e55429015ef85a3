//! Retained messages over real sockets (MQTT 3.1.1 §3.3.1.3).

mod common;

use std::time::Duration;

use common::{Broker, Client, Publish};

/// [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] A retained message is stored and sent to a new
/// subscriber with RETAIN 1; [MQTT-3.1.2-7] it outlives the publisher's (clean) session.
#[test]
fn retained_message_is_sent_on_subscribe_with_retain_flag() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect(broker.addr(), "ret-pub");
    publisher.publish_complete(&Publish::new("ret/t", b"kept").qos(1, 1).retain());
    publisher.disconnect();
    let mut sub = Client::connect(broker.addr(), "ret-sub");
    assert_eq!(sub.subscribe(1, &[("ret/t", 1)]), [1]);
    let got = sub.receive();
    assert_eq!(
        (got.payload.as_slice(), got.retain, got.qos),
        (&b"kept"[..], true, 1)
    );
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.3.1-5] A newer retained message replaces the older one for the topic; [MQTT-3.3.1-7]
/// also when the newer one is QoS 0.
#[test]
fn newer_retained_message_replaces_older() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect(broker.addr(), "replace-pub");
    publisher.publish_complete(&Publish::new("rep/t", b"v1").qos(1, 1).retain());
    publisher.publish_complete(&Publish::new("rep/t", b"v2").qos(1, 2).retain());
    let mut sub = Client::connect(broker.addr(), "replace-sub");
    sub.subscribe(1, &[("rep/t", 1)]);
    assert_eq!(sub.receive().payload, b"v2");
    sub.expect_no_packet(Duration::from_millis(500));

    publisher.publish_complete(&Publish::new("rep/t", b"v3").retain());
    let mut late = Client::connect(broker.addr(), "replace-late");
    late.subscribe(1, &[("rep/t", 1)]);
    let got = late.receive();
    assert_eq!((got.payload.as_slice(), got.retain), (&b"v3"[..], true));
    late.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.3.1-10] A retained PUBLISH with an empty payload is forwarded as normal and removes
/// the retained message; [MQTT-3.3.1-11] it is not itself stored.
#[test]
fn empty_retained_payload_deletes_retained_message() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect(broker.addr(), "del-pub");
    publisher.publish_complete(&Publish::new("del/t", b"soon gone").qos(1, 1).retain());
    let mut existing = Client::connect(broker.addr(), "del-existing");
    existing.subscribe(1, &[("del/t", 1)]);
    assert_eq!(existing.receive().payload, b"soon gone");

    publisher.publish_complete(&Publish::new("del/t", b"").qos(1, 2).retain());
    let got = existing.receive();
    assert_eq!(
        got.payload.len(),
        0,
        "the empty message is forwarded as normal"
    );

    let mut late = Client::connect(broker.addr(), "del-late");
    late.subscribe(1, &[("del/t", 1), ("del/#", 1)]);
    late.expect_no_packet(Duration::from_secs(1));
}

/// [MQTT-3.3.1-9] A retained message forwarded to an existing subscription goes out with
/// RETAIN 0.
#[test]
fn forwarding_to_existing_subscriber_clears_retain() {
    let broker = Broker::start(&[]);
    let mut sub = Client::connect(broker.addr(), "fwd-sub");
    sub.subscribe(1, &[("fwd/t", 1)]);
    let mut publisher = Client::connect(broker.addr(), "fwd-pub");
    publisher.publish_complete(&Publish::new("fwd/t", b"live").qos(1, 1).retain());
    let got = sub.receive();
    assert_eq!((got.payload.as_slice(), got.retain), (&b"live"[..], false));
}

/// [MQTT-3.3.1-6] A wildcard subscription receives every matching retained message, each with
/// RETAIN 1, and none that does not match.
#[test]
fn wildcard_subscription_receives_all_matching_retained() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect(broker.addr(), "wret-pub");
    let topics = ["wret/a", "wret/b", "wret/c/d", "wret", "other/x"];
    for (i, topic) in topics.iter().enumerate() {
        publisher.publish_complete(
            &Publish::new(topic, topic.as_bytes())
                .qos(1, i as u16 + 1)
                .retain(),
        );
    }
    let mut sub = Client::connect(broker.addr(), "wret-sub");
    sub.subscribe(1, &[("wret/#", 1)]);
    let mut got: Vec<String> = (0..4)
        .map(|_| {
            let publish = sub.receive();
            assert!(publish.retain, "{publish:?}");
            assert_eq!(publish.payload_str(), publish.topic);
            publish.topic
        })
        .collect();
    got.sort();
    assert_eq!(got, ["wret", "wret/a", "wret/b", "wret/c/d"]);
    sub.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.8.4-6] A retained message is sent at the minimum of its QoS and the granted QoS.
#[test]
fn retained_message_is_downgraded_to_granted_qos() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect(broker.addr(), "rq-pub");
    publisher.publish_complete(&Publish::new("rq/t", b"q2").qos(2, 1).retain());
    let mut sub = Client::connect(broker.addr(), "rq-sub");
    assert_eq!(sub.subscribe(1, &[("rq/t", 0)]), [0]);
    let got = sub.expect_publish();
    assert_eq!((got.qos, got.retain, got.pid), (0, true, None));
}

/// [MQTT-3.8.4-3] Re-subscribing to an existing filter re-sends the matching retained messages.
#[test]
fn resubscribe_resends_retained_messages() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect(broker.addr(), "rr-pub");
    publisher.publish_complete(&Publish::new("rr/t", b"again").qos(1, 1).retain());
    let mut sub = Client::connect(broker.addr(), "rr-sub");
    sub.subscribe(1, &[("rr/+", 1)]);
    assert_eq!(sub.receive().payload, b"again");
    sub.subscribe(2, &[("rr/+", 1)]);
    let got = sub.receive();
    assert_eq!((got.payload.as_slice(), got.retain), (&b"again"[..], true));
}

/// [MQTT-4.7.2-1] Retained messages on '$' topics are not sent to a subscription whose filter
/// starts with a wildcard, but are to one naming the '$' level.
#[test]
fn retained_dollar_topics_not_sent_to_leading_wildcards() {
    let broker = Broker::start(&[]);
    let mut publisher = Client::connect(broker.addr(), "dret-pub");
    publisher.publish_complete(&Publish::new("$test/x", b"dollar").qos(1, 1).retain());
    publisher.publish_complete(&Publish::new("plain/x", b"plain").qos(1, 2).retain());
    let mut wild = Client::connect(broker.addr(), "dret-wild");
    // One filter per SUBSCRIBE: each new subscription gets the retained 'plain/x' once.
    for (pid, filter) in [(1, "#"), (2, "+/x")] {
        wild.subscribe(pid, &[(filter, 1)]);
        assert_eq!(wild.receive().payload, b"plain", "{filter}");
        wild.expect_no_packet(Duration::from_millis(500));
    }
    let mut named = Client::connect(broker.addr(), "dret-named");
    named.subscribe(1, &[("$test/#", 1)]);
    assert_eq!(named.receive().payload, b"dollar");
}
