//! Router scenario tests of wills across reconnection, with a fake clock: a connection lost
//! with a Will Delay, then a reconnection or a takeover with Clean Start 0 or 1.
//!
//! The reading, from MQTT 5: the will is published once the connection is closed and either
//! the Will Delay has passed or the session ends, whichever is first [MQTT-3.1.2-8]
//! [MQTT-3.1.3-9]. A new connection to the session before then cancels it [MQTT-3.1.3-9]; a
//! new connection with Clean Start 1 is not a connection to that session but its end
//! [MQTT-3.1.2-4], so the will goes out at once. A takeover closes the old connection
//! [MQTT-3.1.4-3] and the same rules follow, as the non-normative comments of sections
//! 3.1.3.2.2 and 3.1.4 spell out.

use std::sync::Arc;
use std::time::Duration;

use super::tests::{Harness, connect_packet};
use super::{LinkId, LinkLoss};
use crate::config::Config;
use crate::protocol::{
    Connect, Packet, Properties, PropertyValues, ProtocolVersion, QoS, ReasonCode, Will,
};

/// An MQTT 5 CONNECT with the given Clean Start and Session Expiry Interval, no will.
pub(super) fn connect_v5(client_id: &str, clean: bool, expiry: u32) -> Connect {
    Connect {
        protocol: ProtocolVersion::V5,
        properties: PropertyValues {
            session_expiry_interval: Some(expiry),
            ..PropertyValues::default()
        }
        .into(),
        ..connect_packet(client_id, clean)
    }
}

/// [`connect_v5`] with a will on `wills/<client_id>` delayed by `delay` seconds.
pub(super) fn with_will(client_id: &str, clean: bool, expiry: u32, delay: u32) -> Connect {
    Connect {
        will: Some(Will {
            topic: format!("wills/{client_id}").into(),
            payload: Arc::from(&b"gone"[..]),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: PropertyValues {
                will_delay_interval: Some(delay),
                ..PropertyValues::default()
            }
            .into(),
        }),
        ..connect_v5(client_id, clean, expiry)
    }
}

/// A harness with a watcher subscribed to every will.
fn watched() -> (Harness, LinkId) {
    let mut h = Harness::new(Config::default());
    let watcher = h.connect("watcher");
    h.subscribe(watcher, "wills/#", QoS::AtMostOnce);
    (h, watcher)
}

/// Moves the clock on by `seconds` and runs the timers.
fn advance(h: &mut Harness, seconds: u64) {
    h.now += Duration::from_secs(seconds);
    h.router.tick(h.now);
}

/// The topics of the wills the watcher received since it last looked.
fn wills(h: &mut Harness, watcher: LinkId) -> Vec<String> {
    let publishes = h.publishes(watcher).into_iter();
    publishes.map(|p| p.topic.to_string()).collect()
}

fn lose(h: &mut Harness, link: LinkId) {
    h.router.close_link(link, LinkLoss::PeerClosed, h.now);
}

/// [MQTT-3.1.3-9] A connection lost with Will Delay 5 s publishes the will after 5 s, not
/// before, and once.
#[test]
fn a_lost_connection_publishes_its_will_after_the_delay() {
    let (mut h, watcher) = watched();
    let (c, _) = h.connect_with(with_will("late", false, 100, 5));
    lose(&mut h, c);
    advance(&mut h, 4);
    assert!(wills(&mut h, watcher).is_empty());
    advance(&mut h, 1);
    assert_eq!(wills(&mut h, watcher), ["wills/late"]);
    advance(&mut h, 200);
    assert!(wills(&mut h, watcher).is_empty());
}

/// [MQTT-3.1.3-9] [MQTT-3.1.2-8] Reconnecting with Clean Start 0 before the delay has passed
/// resumes the session, and the will is never sent: not at the reconnection, not when the
/// delay would have passed, not when the first connection's session expiry would have.
#[test]
fn reconnecting_with_clean_start_0_within_the_delay_cancels_the_will() {
    let (mut h, watcher) = watched();
    let (c, _) = h.connect_with(with_will("back", false, 100, 5));
    lose(&mut h, c);
    advance(&mut h, 3);
    let (_, present) = h.connect_with(connect_v5("back", false, 100));
    assert!(present, "[MQTT-3.2.2-3] the session is resumed");
    assert!(wills(&mut h, watcher).is_empty());
    advance(&mut h, 5);
    advance(&mut h, 200);
    assert!(wills(&mut h, watcher).is_empty(), "[MQTT-3.1.3-9]");
}

/// [MQTT-3.1.2-4] [MQTT-3.1.2-8] Reconnecting with Clean Start 1 before the delay has passed
/// ends the old session, and the session's end is one of the two moments of a will: it is
/// published at the reconnection, before the delay, and not again. A Clean Start 1 connection
/// is not "a new Network Connection to this Session" [MQTT-3.1.3-9]: it discards it.
#[test]
fn reconnecting_with_clean_start_1_within_the_delay_publishes_the_will_at_once() {
    let (mut h, watcher) = watched();
    let (c, _) = h.connect_with(with_will("fresh", false, 100, 5));
    lose(&mut h, c);
    advance(&mut h, 3);
    let (_, present) = h.connect_with(connect_v5("fresh", true, 100));
    assert!(!present, "[MQTT-3.2.2-2]");
    assert_eq!(wills(&mut h, watcher), ["wills/fresh"]);
    advance(&mut h, 5);
    advance(&mut h, 200);
    assert!(wills(&mut h, watcher).is_empty(), "[MQTT-3.1.2-10] once");
}

/// [MQTT-3.1.4-3] A takeover with Clean Start 0 closes the old connection (DISCONNECT 0x8E)
/// and continues its session, which counts as a new connection to it before the delay has
/// passed: the will is not sent [MQTT-3.1.3-9] (section 3.1.3.2.2: "sent unless the new
/// connection specifies Clean Start of 0 and the Will Delay is greater than zero").
#[test]
fn takeover_with_clean_start_0_does_not_send_a_delayed_will() {
    let (mut h, watcher) = watched();
    let (old, _) = h.connect_with(with_will("twin", false, 100, 5));
    let (_, present) = h.connect_with(connect_v5("twin", false, 100));
    assert!(present);
    let disconnect = h.read(old).into_iter().find_map(|packet| match packet {
        Packet::Disconnect(d) => Some(d.reason),
        _ => None,
    });
    assert_eq!(disconnect, Some(ReasonCode::SESSION_TAKEN_OVER));
    advance(&mut h, 5);
    advance(&mut h, 200);
    assert!(wills(&mut h, watcher).is_empty());
}

/// [MQTT-3.1.4-3] [MQTT-3.1.2-4] A takeover with Clean Start 1 ends the old session, so its
/// will is sent at the takeover, delay or not (section 3.1.4: "the original Session is ended
/// on the takeover"), and only once.
#[test]
fn takeover_with_clean_start_1_sends_the_will_at_once() {
    let (mut h, watcher) = watched();
    h.connect_with(with_will("twin", false, 100, 5));
    let (_, present) = h.connect_with(connect_v5("twin", true, 100));
    assert!(!present);
    assert_eq!(wills(&mut h, watcher), ["wills/twin"]);
    advance(&mut h, 200);
    assert!(wills(&mut h, watcher).is_empty());
}

/// [MQTT-3.1.2-8] Without a delay the will goes with the old connection, even when the
/// takeover continues the session (section 3.1.3.2.2: "If the Will Delay is 0 the Will
/// Message is sent at the close of the existing Network Connection").
#[test]
fn takeover_without_a_will_delay_sends_the_will_at_once() {
    let (mut h, watcher) = watched();
    h.connect_with(with_will("twin", false, 100, 0));
    let (_, present) = h.connect_with(connect_v5("twin", false, 100));
    assert!(present);
    assert_eq!(wills(&mut h, watcher), ["wills/twin"]);
}

/// Section 3.1.2.11.2: with Session Expiry 0 the session ends with its connection, so a
/// takeover with Clean Start 0 finds no session to continue: the will is sent at once and the
/// new connection starts afresh (section 3.1.4: "If the Session Expiry Interval of the
/// existing Network Connection is 0 ... it will be sent because the original Session is
/// ended on the takeover").
#[test]
fn takeover_of_a_session_without_expiry_sends_the_will_at_once() {
    let (mut h, watcher) = watched();
    h.connect_with(with_will("brief", false, 0, 5));
    let (_, present) = h.connect_with(connect_v5("brief", false, 100));
    assert!(!present, "[MQTT-3.2.2-3] no session was left to resume");
    assert_eq!(wills(&mut h, watcher), ["wills/brief"]);
}

/// [MQTT-3.1.3-9] A Will Delay longer than the Session Expiry: the session's end comes first
/// and publishes the will.
#[test]
fn session_expiry_before_the_delay_publishes_the_will() {
    let (mut h, watcher) = watched();
    let (c, _) = h.connect_with(with_will("short", false, 10, 50));
    lose(&mut h, c);
    advance(&mut h, 9);
    assert!(wills(&mut h, watcher).is_empty());
    advance(&mut h, 1);
    assert_eq!(wills(&mut h, watcher), ["wills/short"]);
    assert_eq!(
        h.router.session_count(),
        1,
        "only the watcher's session is left"
    );
}

/// [MQTT-3.1.2-8] A reconnection after the delay has passed resumes the session; the will,
/// already published, is not published again [MQTT-3.1.2-10].
#[test]
fn reconnecting_after_the_delay_finds_the_will_already_published() {
    let (mut h, watcher) = watched();
    let (c, _) = h.connect_with(with_will("slow", false, 100, 5));
    lose(&mut h, c);
    advance(&mut h, 6);
    assert_eq!(wills(&mut h, watcher), ["wills/slow"]);
    let (_, present) = h.connect_with(connect_v5("slow", false, 100));
    assert!(present);
    advance(&mut h, 200);
    assert!(wills(&mut h, watcher).is_empty());
}

/// A refused CONNECT is no connection to the session [MQTT-3.1.4-2]: the will still waits out
/// its delay and is published after it.
#[test]
fn a_refused_reconnection_does_not_cancel_the_will() {
    let (mut h, watcher) = watched();
    let (c, _) = h.connect_with(with_will("denied", false, 100, 5));
    lose(&mut h, c);
    advance(&mut h, 2);
    let mut refused = connect_v5("denied", false, 100);
    refused.properties = PropertyValues {
        authentication_method: Some("SCRAM-SHA-1".into()),
        ..(*refused.properties).clone()
    }
    .into();
    let link = h.open();
    h.send(link, &Packet::Connect(Box::new(refused)));
    assert!(h.router.wants_close(link));
    advance(&mut h, 3);
    assert_eq!(wills(&mut h, watcher), ["wills/denied"]);
}

/// A cancelled will leaves its deadline behind; the resumed connection's own will, lost
/// later with its own delay, is published at its own time, not at the stale one.
#[test]
fn a_stale_will_deadline_does_not_publish_the_next_will_early() {
    let (mut h, watcher) = watched();
    let (c, _) = h.connect_with(with_will("again", false, 100, 5));
    lose(&mut h, c);
    advance(&mut h, 3);
    let (c, _) = h.connect_with(with_will("again", false, 100, 5));
    advance(&mut h, 1);
    lose(&mut h, c);
    // The first loss's deadline (5 s after it) passes.
    advance(&mut h, 1);
    assert!(wills(&mut h, watcher).is_empty());
    advance(&mut h, 4);
    assert_eq!(wills(&mut h, watcher), ["wills/again"]);
}

/// MQTT 3.1.1 has no Will Delay: a takeover, even continuing a persistent session, closes the
/// old connection without a DISCONNECT from its client, so its will is published
/// [MQTT-3.1.4-2] (3.1.1) [MQTT-3.1.2-8] (3.1.1).
#[test]
fn a_3_1_1_takeover_publishes_the_will() {
    let (mut h, watcher) = watched();
    let mut first = connect_packet("old", false);
    first.will = Some(Will {
        topic: "wills/old".into(),
        payload: Arc::from(&b"gone"[..]),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Properties::default(),
    });
    let (old, _) = h.connect_with(first);
    let (new, present) = h.connect_with(connect_packet("old", false));
    assert!(present);
    assert!(h.router.wants_close(old));
    assert_eq!(wills(&mut h, watcher), ["wills/old"]);
    // The new connection is the session's now.
    h.send(new, &Packet::PingReq);
    assert_eq!(h.read(new), [Packet::PingResp]);
}
