//! Router scenario tests of MQTT 5 subscriptions: No Local, Retain As Published, Retain
//! Handling, subscription identifiers, and shared subscriptions (with an ACL among them).

use super::LinkLoss;
use super::tests::{Harness, publish, subscribe};
use super::tests_auth::{PASSWORDS, connected, security};
use super::tests_v5::{subscribe_with, v5};
use crate::config::Config;
use crate::protocol::{ProtocolVersion, QoS, RetainHandling, SubscriptionOptions};

#[test]
fn subscription_options_no_local_retain_as_published_retain_handling_and_identifiers() {
    let mut h = Harness::new(Config::default());
    let s = v5(&mut h, "s");
    let options = SubscriptionOptions {
        qos: QoS::AtMostOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::SendAtSubscribe,
    };
    h.send(s, &subscribe_with(1, "t/#", options, Some(7)));
    h.read(s);
    // No Local: its own message does not come back [MQTT-3.8.3-3].
    h.send(s, &publish("t/own", b"x", QoS::AtMostOnce, None, false));
    assert!(h.publishes(s).is_empty());
    let p = h.connect("p");
    h.send(p, &publish("t/x", b"x", QoS::AtMostOnce, None, true));
    let got = h.publishes(s);
    assert!(got[0].retain, "retain as published [MQTT-3.3.1-12]");
    assert_eq!(
        got[0].properties.subscription_identifiers,
        vec![7],
        "[MQTT-3.3.4-3]"
    );
    // Retain handling 1 sends retained messages only for a new subscription; 2 never.
    let r = v5(&mut h, "r");
    let mut options = SubscriptionOptions {
        retain_handling: RetainHandling::SendIfNew,
        ..SubscriptionOptions::default()
    };
    h.send(r, &subscribe_with(1, "t/#", options, None));
    assert_eq!(h.read(r).len(), 2);
    h.send(r, &subscribe_with(2, "t/#", options, None));
    assert_eq!(h.read(r).len(), 1);
    options.retain_handling = RetainHandling::DoNotSend;
    h.send(r, &subscribe_with(3, "t/+", options, None));
    assert_eq!(h.read(r).len(), 1);
}

#[test]
fn shared_subscription_round_robin_without_retained_and_reassigned_on_leave() {
    let mut h = Harness::new(Config::default());
    let p = h.connect("p");
    h.send(
        p,
        &publish("jobs/1", b"retained", QoS::AtMostOnce, None, true),
    );
    let a = v5(&mut h, "a");
    let b = v5(&mut h, "b");
    for link in [a, b] {
        h.send(
            link,
            &subscribe(1, &[("$share/workers/jobs/#", QoS::AtLeastOnce)]),
        );
        let packets = h.read(link);
        assert_eq!(
            packets.len(),
            1,
            "no retained message on a shared subscription"
        );
    }
    for i in 1..=4 {
        h.send(
            p,
            &publish("jobs/x", &[i], QoS::AtLeastOnce, Some(u16::from(i)), false),
        );
    }
    let got_a = h.publishes(a);
    let got_b = h.publishes(b);
    assert_eq!((got_a.len(), got_b.len()), (2, 2));
    // a leaves without acknowledging: its two messages go to b.
    h.router.close_link(a, LinkLoss::PeerClosed, h.now);
    let moved = h.publishes(b);
    let mut payloads: Vec<u8> = moved.iter().map(|publish| publish.payload[0]).collect();
    payloads.sort_unstable();
    let mut expected: Vec<u8> = got_a.iter().map(|publish| publish.payload[0]).collect();
    expected.sort_unstable();
    assert_eq!(payloads, expected);
}

#[test]
fn a_group_member_the_acl_bars_from_a_topic_is_passed_over_for_it() {
    let mut h = Harness::new(Config::default());
    // `test` may not read home/secret; `other` reads all of home/.
    let acl = "user test\ntopic readwrite home/#\ntopic deny home/secret\n\
               user other\ntopic readwrite home/#\n";
    h.router
        .set_auth(security(false, Some(PASSWORDS), Some(acl)));
    let barred = connected(&mut h, "barred", "test", ProtocolVersion::V5);
    let reader = connected(&mut h, "reader", "other", ProtocolVersion::V5);
    for link in [barred, reader] {
        h.subscribe(link, "$share/g/home/#", QoS::AtMostOnce);
    }
    let p = connected(&mut h, "p", "other", ProtocolVersion::V3_1_1);
    for payload in [b"1", b"2"] {
        h.send(
            p,
            &publish("home/secret", payload, QoS::AtMostOnce, None, false),
        );
    }
    // Both reach the member that may read them (mosquitto would drop the one it picks for
    // `barred`); round robin goes on for the rest.
    assert_eq!(h.publishes(reader).len(), 2);
    assert!(h.publishes(barred).is_empty());
    for payload in [b"3", b"4"] {
        h.send(
            p,
            &publish("home/open", payload, QoS::AtMostOnce, None, false),
        );
    }
    assert_eq!(
        (h.publishes(reader).len(), h.publishes(barred).len()),
        (1, 1)
    );
}
