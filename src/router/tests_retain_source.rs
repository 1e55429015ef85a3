//! `check_retain_source`: retained messages, wills among them, reach new subscribers only while
//! their publisher may still publish to their topic, across reloads of the ACL and a restart
//! from the store; with the option off nothing is recorded and nothing withheld.

use std::net::SocketAddr;

use super::LinkLoss;
use super::tests::{Harness, publish, subscribe};
use super::tests_auth::{PASSWORDS, attempt, connected, login, security, with_will};
use super::tests_persist::{persistent, restart, snapshot_image};
use crate::config::Config;
use crate::protocol::{Packet, ProtocolVersion, QoS};

/// `test` reads everything under home/, `other` may publish there.
const GRANTED: &str = "user test\ntopic read home/#\nuser other\ntopic write home/#\n";
/// `other` has lost its right to publish.
const REVOKED: &str = "user test\ntopic read home/#\nuser other\ntopic read out/#\n";
/// `other` has lost its right to publish, which `test` now has.
const HANDED_OVER: &str = "user test\ntopic readwrite home/#\nuser other\ntopic read out/#\n";

fn config(check: bool) -> Config {
    Config {
        check_retain_source: check,
        ..Config::default()
    }
}

/// Users `test` and `other` with `acl`, as a reload that changes the ACL file sets them.
fn set_acl(h: &mut Harness, acl: &str) {
    h.router
        .set_auth(security(false, Some(PASSWORDS), Some(acl)));
}

fn with_acl(mut h: Harness, acl: &str) -> Harness {
    set_acl(&mut h, acl);
    h
}

/// `other` retains a message on home/a and home/b.
fn retain_two(h: &mut Harness) {
    let publisher = connected(h, "sensor", "other", ProtocolVersion::V3_1_1);
    for topic in ["home/a", "home/b"] {
        h.send(
            publisher,
            &publish(topic, b"21.5", QoS::AtMostOnce, None, true),
        );
    }
}

/// The retained topics a new subscriber of `test` gets, through an exact filter (sent at
/// once) and through a wildcard one (sent through the backlog).
fn received(h: &mut Harness, id: &str) -> (Vec<String>, Vec<String>) {
    let mut got = Vec::new();
    for filter in ["home/a", "home/#"] {
        let reader = connected(
            h,
            &format!("{id}-{}", got.len()),
            "test",
            ProtocolVersion::V5,
        );
        // The SUBACK and what follows it come in one read.
        h.send(reader, &subscribe(1, &[(filter, QoS::AtMostOnce)]));
        let publishes = h.publishes(reader);
        got.push(publishes.iter().map(|p| p.topic.to_string()).collect());
    }
    let wildcard = got.pop().unwrap_or_default();
    (got.pop().unwrap_or_default(), wildcard)
}

#[test]
fn a_publisher_whose_right_is_revoked_no_longer_reaches_new_subscribers() {
    let mut h = with_acl(Harness::new(config(true)), GRANTED);
    retain_two(&mut h);
    assert_eq!(
        received(&mut h, "r1"),
        (
            vec!["home/a".into()],
            vec!["home/a".into(), "home/b".into()]
        )
    );
    set_acl(&mut h, REVOKED);
    assert_eq!(received(&mut h, "r2"), (vec![], vec![]));
    // Withheld, not deleted: given the right again, the publisher's messages go out again.
    set_acl(&mut h, GRANTED);
    assert_eq!(received(&mut h, "r3").1.len(), 2);
}

#[test]
fn with_the_option_off_nothing_is_recorded_and_nothing_withheld() {
    let mut h = with_acl(Harness::new(config(false)), GRANTED);
    retain_two(&mut h);
    assert_eq!(h.router.retained.sources(), 0);
    set_acl(&mut h, REVOKED);
    assert_eq!(received(&mut h, "r").1.len(), 2);
}

#[test]
fn a_retained_will_is_checked_against_the_client_that_set_it() {
    let mut h = with_acl(Harness::new(config(true)), GRANTED);
    let mut connect = with_will("w", "other", "home/a");
    if let Some(will) = connect.will.as_mut() {
        will.retain = true;
    }
    let (w, _) = attempt(&mut h, "10.0.0.9", connect);
    h.router.close_link(w, LinkLoss::PeerClosed, h.now);
    assert_eq!(received(&mut h, "r1").0, ["home/a"]);
    set_acl(&mut h, REVOKED);
    assert_eq!(received(&mut h, "r2").0, Vec::<String>::new());
}

#[test]
fn an_empty_retained_message_clears_the_recorded_publisher_too() {
    let mut h = with_acl(Harness::new(config(true)), GRANTED);
    retain_two(&mut h);
    assert_eq!(h.router.retained.sources(), 2);
    let publisher = connected(&mut h, "clear", "other", ProtocolVersion::V3_1_1);
    h.send(
        publisher,
        &publish("home/a", b"", QoS::AtMostOnce, None, true),
    );
    assert_eq!(h.router.retained.sources(), 1);
}

#[test]
fn the_publisher_is_kept_in_the_store_across_a_restart() {
    let config = config(true);
    let mut h = with_acl(persistent(config.clone()), GRANTED);
    retain_two(&mut h);
    let (next, _) = restart(&mut h, &config);
    let mut next = with_acl(next, REVOKED);
    assert_eq!(next.router.retained.len(), 2);
    assert_eq!(next.router.retained.sources(), 2);
    assert_eq!(received(&mut next, "r1"), (vec![], vec![]));
    set_acl(&mut next, GRANTED);
    assert_eq!(received(&mut next, "r2").1.len(), 2);
}

#[test]
fn a_revoked_publishers_message_owed_ahead_of_a_live_one_is_withheld() {
    let mut h = with_acl(Harness::new(config(true)), GRANTED);
    let publisher = connected(&mut h, "sensor", "other", ProtocolVersion::V3_1_1);
    for i in 0..3000 {
        let topic = format!("home/{i:05}/x");
        h.send(
            publisher,
            &publish(&topic, &[b'a'; 200], QoS::AtMostOnce, None, true),
        );
    }
    let reader = connected(&mut h, "reader", "test", ProtocolVersion::V3_1_1);
    // Subscribed without reading: the output fills and most of the backlog stays owed.
    h.send(reader, &subscribe(1, &[("home/+/x", QoS::AtMostOnce)]));
    set_acl(&mut h, HANDED_OVER);
    // The owed retained message of home/02991/x is owed ahead of this update, but its
    // publisher may no longer write there.
    let updater = connected(&mut h, "updater", "test", ProtocolVersion::V3_1_1);
    h.send(
        updater,
        &publish("home/02991/x", b"new", QoS::AtMostOnce, None, true),
    );
    let all = h.all_publishes(reader);
    let late: Vec<(String, Vec<u8>)> = all
        .iter()
        .filter(|p| p.topic.as_ref() >= "home/02000/x")
        .map(|p| (p.topic.to_string(), p.payload.to_vec()))
        .collect();
    assert_eq!(late, [("home/02991/x".to_owned(), b"new".to_vec())]);
    assert!(
        all.len() > 1,
        "the first output went out before the revocation"
    );
}

#[test]
fn messages_from_links_no_acl_governs_are_not_checked() {
    let mut h = with_acl(Harness::new(config(true)), GRANTED);
    // A bridge without local_username, or a host program's link: no listener.
    let peer: SocketAddr = "10.0.0.7:50000".parse().unwrap();
    let bridge = h.router.open_link(2000, peer, h.now);
    h.router.set_link_listener(bridge, usize::MAX);
    h.send(
        bridge,
        &Packet::Connect(Box::new(login("bridge", Some("other"), "test"))),
    );
    h.send(
        bridge,
        &publish("home/a", b"up", QoS::AtMostOnce, None, true),
    );
    assert_eq!(h.router.retained.sources(), 0);
    set_acl(&mut h, REVOKED);
    assert_eq!(received(&mut h, "r").0, ["home/a"]);
}

#[test]
fn a_snapshot_of_the_store_keeps_the_publishers() {
    let mut h = with_acl(persistent(config(true)), GRANTED);
    retain_two(&mut h);
    let image = snapshot_image(&mut h.router, h.now);
    let sources: Vec<(&str, &str, Option<&str>)> = image
        .retained_sources
        .iter()
        .map(|(topic, s)| (topic.as_str(), s.client_id.as_str(), s.username.as_deref()))
        .collect();
    assert_eq!(
        sources,
        [
            ("home/a", "sensor", Some("other")),
            ("home/b", "sensor", Some("other"))
        ]
    );
}
