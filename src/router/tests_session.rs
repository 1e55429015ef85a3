//! Router scenario tests of connections and sessions: keepalive and CONNECT timeouts, the rules
//! for the first packet and the client id, takeover, and persistent and clean sessions.

use std::time::Duration;

use super::LinkLoss;
use super::tests::{Harness, connect_packet, publish};
use crate::config::Config;
use crate::protocol::{ConnectReturnCode, Packet, QoS};

#[test]
fn keepalive_expires_after_one_and_a_half_periods() {
    let mut h = Harness::new(Config::default());
    let mut connect = connect_packet("k", true);
    connect.keep_alive = 10;
    let (link, _) = h.connect_with(connect);
    let start = h.now;
    h.now = start + Duration::from_secs(14);
    h.router.tick(h.now);
    assert!(!h.router.wants_close(link));
    h.send(link, &Packet::PingReq);
    assert!(matches!(h.read(link).as_slice(), [Packet::PingResp]));
    h.now = start + Duration::from_secs(28);
    h.router.tick(h.now);
    assert!(
        !h.router.wants_close(link),
        "PINGREQ at 14 s moves the deadline to 29 s"
    );
    h.now = start + Duration::from_secs(30);
    let next = h.router.tick(h.now);
    assert!(h.router.wants_close(link));
    assert!(next.is_none() || next > Some(h.now));
}

#[test]
fn connect_timeout_closes_a_silent_socket() {
    let mut h = Harness::new(Config::default());
    let link = h.open();
    let deadline = h.router.tick(h.now).unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(10));
    h.now = deadline;
    h.router.tick(h.now);
    assert!(h.router.wants_close(link));
}

#[test]
fn takeover_closes_the_old_link_and_keeps_the_persistent_session() {
    let mut h = Harness::new(Config::default());
    let (old, present) = h.connect_with(connect_packet("dev", false));
    assert!(!present);
    h.subscribe(old, "t", QoS::AtLeastOnce);
    let (new, present) = h.connect_with(connect_packet("dev", false));
    assert!(present);
    assert!(h.router.wants_close(old));
    h.router.close_link(old, LinkLoss::PeerClosed, h.now);
    let p = h.connect("p");
    h.send(p, &publish("t", b"x", QoS::AtLeastOnce, Some(1), false));
    assert_eq!(h.publishes(new).len(), 1);
}

#[test]
fn persistent_session_queues_offline_and_resends_unacknowledged_with_dup() {
    let mut h = Harness::new(Config::default());
    let (s, _) = h.connect_with(connect_packet("sub", false));
    h.subscribe(s, "t", QoS::AtLeastOnce);
    let p = h.connect("p");
    h.send(p, &publish("t", b"1", QoS::AtLeastOnce, Some(1), false));
    assert_eq!(h.publishes(s).len(), 1);
    h.router.close_link(s, LinkLoss::PeerClosed, h.now);
    h.send(p, &publish("t", b"2", QoS::AtLeastOnce, Some(2), false));
    h.send(
        p,
        &publish("t", b"qos0 is not queued", QoS::AtMostOnce, None, false),
    );
    let (s, present) = h.connect_with(connect_packet("sub", false));
    assert!(present);
    let got = h.publishes(s);
    assert_eq!(got.len(), 2);
    assert!(got[0].dup, "unacknowledged message re-sent with DUP");
    assert_eq!(&*got[0].payload, b"1");
    assert!(!got[1].dup);
    assert_eq!(&*got[1].payload, b"2");
}

#[test]
fn clean_session_discards_the_previous_session() {
    let mut h = Harness::new(Config::default());
    let (s, _) = h.connect_with(connect_packet("sub", false));
    h.subscribe(s, "t", QoS::AtLeastOnce);
    h.router.close_link(s, LinkLoss::PeerClosed, h.now);
    let (s, present) = h.connect_with(connect_packet("sub", true));
    assert!(!present);
    let p = h.connect("p");
    h.send(p, &publish("t", b"x", QoS::AtLeastOnce, Some(1), false));
    assert!(h.publishes(s).is_empty());
    h.router.close_link(s, LinkLoss::PeerClosed, h.now);
    assert_eq!(h.router.session_count(), 1, "only p's session is left");
}

#[test]
fn empty_client_id_is_assigned_with_clean_session_and_refused_without() {
    let mut h = Harness::new(Config::default());
    let (_, present) = h.connect_with(connect_packet("", true));
    assert!(!present);
    let link = h.open();
    h.send(link, &Packet::Connect(Box::new(connect_packet("", false))));
    match h.read(link).as_slice() {
        [Packet::ConnAck(ack)] => {
            assert_eq!(ack.return_code, ConnectReturnCode::IdentifierRejected);
            assert!(!ack.session_present);
        }
        other => panic!("{other:?}"),
    }
    assert!(h.router.wants_close(link));
}

#[test]
fn first_packet_must_be_connect_and_second_connect_is_a_violation() {
    let mut h = Harness::new(Config::default());
    let link = h.open();
    h.send(link, &Packet::PingReq);
    assert!(h.router.wants_close(link));
    let link = h.connect("twice");
    h.send(
        link,
        &Packet::Connect(Box::new(connect_packet("twice", true))),
    );
    assert!(h.router.wants_close(link));
}
