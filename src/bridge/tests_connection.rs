//! Bridge scenarios of the connection itself: refusals and the backoff, keepalive, the bridge
//! bit, the state topic and the will, the start types `once` and `lazy`, and what
//! `attempt_unsubscribe` cleans up when it connects.

use std::time::Duration;

use super::tests::{V4, World, publish, published, read, send, settings, subscribe, topic};
use super::{Bridge, State};
use crate::config::{self, BridgeDirection};
use crate::protocol::{
    ConnAck, ConnectReturnCode, Packet, Properties, QoS, ReasonCode, decode_packet, encode,
};

#[test]
fn a_refused_connect_waits_the_backoff_and_a_success_resets_it() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.open();
    let refusal = ConnAck {
        session_present: false,
        return_code: ConnectReturnCode::NotAuthorized,
        reason: ReasonCode::NOT_AUTHORIZED,
        properties: Properties::default(),
    };
    let mut bytes = Vec::new();
    encode(&Packet::ConnAck(refusal), V4, &mut bytes);
    w.bridge.receive(&mut w.local, &bytes, w.now);
    let why = w
        .bridge
        .take_close()
        .expect("the bridge closes on a refusal");
    assert!(why.contains("code 5"), "{why}");
    w.up = None;
    w.bridge.lost(&mut w.local, &why, w.now);
    // The first delay after a failure is the base, 5 s: not due before.
    assert_eq!(
        w.bridge.state(),
        State::Idle(Some(w.now + Duration::from_secs(5)))
    );
    assert!(
        !w.bridge
            .attempt_due(&w.local, w.now + Duration::from_secs(4))
    );
    w.now += Duration::from_secs(5);
    w.connect();
    w.drop_remote();
    assert_eq!(
        w.bridge.state(),
        State::Idle(Some(w.now + Duration::from_secs(5))),
        "reset by the success"
    );
}

#[test]
fn keepalive_sends_pingreq_and_a_missing_pingresp_ends_the_connection() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.connect();
    let next = w.bridge.tick(&mut w.local, w.now).unwrap();
    assert_eq!(next, w.now + Duration::from_secs(10));
    w.now = next;
    w.bridge.tick(&mut w.local, w.now);
    let (packet, _) = decode_packet(w.bridge.output(), V4, u32::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(packet, Packet::PingReq);
    // A PINGRESP clears it...
    w.shuttle();
    assert!(w.bridge.take_close().is_none());
    // ...a remote end that stops answering is given one keepalive period.
    w.up = None;
    w.now += Duration::from_secs(10);
    w.bridge.tick(&mut w.local, w.now);
    w.bridge.consume_output(usize::MAX);
    w.now += Duration::from_secs(10);
    w.bridge.tick(&mut w.local, w.now);
    let why = w.bridge.take_close().expect("keepalive loss");
    assert!(why.contains("keepalive"), "{why}");
}

/// While the broker holds the bridge's reads (its memory budget), a PINGRESP that cannot be
/// read is not a lost connection; once reads go on, a silent remote end is given one period.
#[test]
fn a_pingresp_is_not_awaited_while_reads_are_held() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.connect();
    w.up = None;
    w.now += Duration::from_secs(10);
    w.bridge.tick(&mut w.local, w.now);
    w.bridge.consume_output(usize::MAX);
    w.bridge.hold_reads(true);
    for _ in 0..5 {
        w.now += Duration::from_secs(10);
        let next = w.bridge.tick(&mut w.local, w.now).unwrap();
        assert!(next > w.now, "a held bridge's timer must lie ahead");
        assert!(w.bridge.take_close().is_none());
    }
    w.bridge.hold_reads(false);
    w.now += Duration::from_secs(10);
    w.bridge.tick(&mut w.local, w.now);
    let why = w.bridge.take_close().expect("keepalive loss");
    assert!(why.contains("keepalive"), "{why}");
}

#[test]
fn a_refused_bridge_bit_is_dropped_and_retried_at_once() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    s.try_private = true;
    let mut w = World::new(&s);
    w.open();
    w.shuttle();
    let why = w
        .bridge
        .take_close()
        .expect("the remote router refuses level 0x84");
    assert!(why.contains("code 1"), "{why}");
    w.up = None;
    w.bridge.lost(&mut w.local, &why, w.now);
    assert_eq!(w.bridge.state(), State::Idle(Some(w.now)));
    w.connect();
}

#[test]
fn the_local_state_topic_says_0_then_1() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    let watcher = w.client(false, "watch");
    let now = w.now;
    let got = subscribe(&mut w.local, watcher, "$SYS/broker/connection/b/state", now);
    assert_eq!(published(&got)[0].1, "0", "retained from the start");
    w.connect();
    assert_eq!(published(&read(&mut w.local, watcher, w.now))[0].1, "1");
    w.drop_remote();
    assert_eq!(published(&read(&mut w.local, watcher, w.now))[0].1, "0");
}

#[test]
fn start_type_once_does_not_reconnect() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    s.start_type = config::StartType::Once;
    let mut w = World::new(&s);
    w.connect();
    w.drop_remote();
    assert_eq!(w.bridge.state(), State::Idle(None));
    w.now += Duration::from_secs(3600);
    assert!(!w.bridge.attempt_due(&w.local, w.now));
}

#[test]
fn a_lazy_bridge_connects_at_its_threshold_and_leaves_when_idle() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    s.start_type = config::StartType::Lazy;
    s.threshold = 3;
    s.idle_timeout = 20;
    let mut w = World::new(&s);
    assert!(!w.bridge.attempt_due(&w.local, w.now));
    let local_pub = w.client(false, "lp");
    let now = w.now;
    // QoS 0 counts too: a lazy bridge's session queues it, as mosquitto's does.
    for i in 0..2 {
        send(
            &mut w.local,
            local_pub,
            &publish("home/t/x", "m", QoS::AtMostOnce, i + 1),
            now,
        );
    }
    assert!(
        !w.bridge.attempt_due(&w.local, w.now),
        "below the threshold"
    );
    send(
        &mut w.local,
        local_pub,
        &publish("home/t/x", "m", QoS::AtLeastOnce, 3),
        now,
    );
    w.connect();
    assert_eq!(w.local.queued_for("local.host.b"), 0, "the queue went out");
    w.now += Duration::from_secs(20);
    w.bridge.tick(&mut w.local, w.now);
    let why = w.bridge.take_close().expect("idle");
    assert!(why.contains("idle"), "{why}");
    w.drop_remote();
    assert_eq!(
        w.bridge.state(),
        State::Idle(None),
        "until the threshold again"
    );
}

#[test]
fn attempt_unsubscribe_removes_what_an_earlier_in_line_left_remotely() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Both, 1)]));
    w.connect();
    let has = |w: &World| {
        w.remote
            .subscription_lines()
            .iter()
            .any(|l| l.starts_with("host.b site/t/#"))
    };
    assert!(has(&w));
    w.drop_remote();
    // The same bridge, now `out` only, with its remote session kept.
    w.bridge = Bridge::new(
        &settings(vec![topic("t/#", BridgeDirection::Out, 1)]),
        "host",
        1000,
        w.now,
    )
    .unwrap();
    w.bridge.start(&mut w.local, w.now);
    w.connect();
    assert!(!has(&w), "{:?}", w.remote.subscription_lines());
}

#[test]
fn the_will_and_the_protocol_follow_the_settings() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    let will = World::new(&s).bridge.connect_packet().will.expect("a will");
    assert_eq!(
        (&*will.topic, &*will.payload, will.retain),
        ("$SYS/broker/connection/b/state", &b"0"[..], true)
    );
    s.notifications_local_only = true;
    assert!(World::new(&s).bridge.connect_packet().will.is_none());
    s.notification_topic = Some("gw/state".into());
    s.notifications_local_only = false;
    assert_eq!(
        &*World::new(&s).bridge.connect_packet().will.unwrap().topic,
        "gw/state"
    );
    // MQTT 3.1 (MQIsdp) is spoken and accepted.
    s.protocol_version = config::BridgeProtocol::V31;
    let mut w = World::new(&s);
    w.connect();
}
