//! Bridge scenarios of losing the remote end: messages queued meanwhile, deliveries sent again
//! after a reconnect, and failing over between addresses and back to the primary.

use std::time::Duration;

use super::State;
use super::tests::{World, publish, published, read, send, settings, subscribe, topic};
use crate::config::{BridgeAddress, BridgeDirection};
use crate::protocol::QoS;

#[test]
fn messages_queue_while_the_remote_end_is_down_and_flush_in_order() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.connect();
    let remote_sub = w.client(true, "rs");
    let now = w.now;
    subscribe(&mut w.remote, remote_sub, "site/#", now);
    w.drop_remote();
    let local_pub = w.client(false, "lp");
    for i in 0..5 {
        let payload = format!("m{i}");
        send(
            &mut w.local,
            local_pub,
            &publish("home/t/x", &payload, QoS::AtLeastOnce, i + 1),
            now,
        );
    }
    // Nothing reaches the remote end while it is down; the local publisher is answered.
    assert_eq!(read(&mut w.local, local_pub, now).len(), 5);
    assert_eq!(w.local.queued_for("local.host.b"), 5);
    w.now += Duration::from_secs(5);
    w.connect();
    let got: Vec<String> = published(&read(&mut w.remote, remote_sub, w.now))
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(got, ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(w.local.queued_for("local.host.b"), 0);
}

#[test]
fn a_delivery_unacknowledged_remotely_is_sent_again_after_a_reconnect() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.connect();
    let local_pub = w.client(false, "lp");
    let now = w.now;
    send(
        &mut w.local,
        local_pub,
        &publish("home/t/x", "once", QoS::AtLeastOnce, 1),
        now,
    );
    // Taken from the local side and written, but the remote end is gone before its PUBACK.
    w.bridge.pump(&mut w.local, now);
    assert!(!w.bridge.output().is_empty());
    w.drop_remote();
    let remote_sub = w.client(true, "rs");
    subscribe(&mut w.remote, remote_sub, "site/#", now);
    w.now += Duration::from_secs(5);
    w.connect();
    let got = read(&mut w.remote, remote_sub, w.now);
    assert_eq!(
        published(&got),
        [("site/t/x".into(), "once".into(), QoS::AtLeastOnce)]
    );
}

/// A failed attempt (the connection refused before CONNACK, say).
fn fail_attempt(w: &mut World) {
    w.open();
    w.up = None;
    w.bridge.lost(&mut w.local, "refused", w.now);
}

#[test]
fn failover_tries_each_address_then_waits_and_returns_to_the_primary() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    let address = |port| BridgeAddress {
        host: "127.0.0.1".into(),
        port,
    };
    s.addresses = vec![address(1), address(2), address(3)];
    let mut w = World::new(&s);
    let mut tried = Vec::new();
    for _ in 0..3 {
        tried.push(w.bridge.address());
        fail_attempt(&mut w);
    }
    assert_eq!(tried, [0, 1, 2]);
    // A full round failed: back to the primary, after the backoff.
    assert_eq!(w.bridge.address(), 0);
    assert_eq!(
        w.bridge.state(),
        State::Idle(Some(w.now + Duration::from_secs(5)))
    );
    w.now += Duration::from_secs(5);
    fail_attempt(&mut w);
    w.connect();
    assert_eq!(w.bridge.address(), 1, "connected on the secondary");
    w.drop_remote();
    assert_eq!(
        w.bridge.address(),
        0,
        "the primary first after a lost connection"
    );
    // Round robin moves on instead.
    s.round_robin = true;
    let mut w = World::new(&s);
    w.connect();
    w.drop_remote();
    assert_eq!(w.bridge.address(), 1);
}

#[test]
fn a_bridge_on_a_secondary_address_goes_back_when_the_primary_answers() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    let address = |port| BridgeAddress {
        host: "127.0.0.1".into(),
        port,
    };
    s.addresses = vec![address(1), address(2)];
    let mut w = World::new(&s);
    assert!(!w.bridge.probing_primary());
    fail_attempt(&mut w);
    w.connect();
    assert!(w.bridge.probing_primary(), "connected on the secondary");
    w.bridge.primary_is_back();
    let why = w.bridge.take_close().expect("the connection ends");
    assert!(why.contains("primary"), "{why}");
    w.drop_remote();
    assert_eq!(w.bridge.address(), 0);
    assert_eq!(w.bridge.state(), State::Idle(Some(w.now)), "at once");
    // Round robin does not probe.
    s.round_robin = true;
    let mut w = World::new(&s);
    fail_attempt(&mut w);
    w.connect();
    assert!(!w.bridge.probing_primary());
}
