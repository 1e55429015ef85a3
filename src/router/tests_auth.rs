//! Router scenario tests for authentication, the failure slow-down and ACL enforcement, with a
//! fake clock: exact delays, no sockets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::LinkId;
use super::tests::{Harness, connect_packet, publish, subscribe};
use crate::auth::{AclFile, ListenerSecurity, PasswordFile, PasswordLimits, Security};
use crate::config::Config;
use crate::protocol::{
    ConnectReturnCode, Packet, Properties, ProtocolVersion, QoS, ReasonCode, Will,
};

/// User `test`, password `test` (MOSQUITTO-COMPAT.md section 4's `$6$` vector), and `other`
/// with the same password.
pub(super) const PASSWORDS: &str = "test:$6$njERlZMi/7DzNB9E$iiavfuXvUm8iyDZArTy7smTxh07GXXOrOsqxfW6gkOYVXHGk+W+i/8d3xDxrMwEPygEBhoA8A/gjQC0N2M4Lkw==\n\
other:$6$njERlZMi/7DzNB9E$iiavfuXvUm8iyDZArTy7smTxh07GXXOrOsqxfW6gkOYVXHGk+W+i/8d3xDxrMwEPygEBhoA8A/gjQC0N2M4Lkw==\n";

fn passwords(text: &str) -> Arc<PasswordFile> {
    Arc::new(PasswordFile::parse(text.as_bytes(), "pw", PasswordLimits::default()).file)
}

fn acl(text: &str) -> Arc<AclFile> {
    Arc::new(AclFile::parse(text.as_bytes(), "acl").unwrap())
}

pub(super) fn security(anonymous: bool, pw: Option<&str>, acl_text: Option<&str>) -> Security {
    let mut listener = ListenerSecurity::open();
    listener.allow_anonymous = anonymous;
    listener.passwords = pw.map(passwords);
    listener.acl = acl_text.map(acl);
    Security {
        listeners: vec![listener],
    }
}

fn harness(security: Security) -> Harness {
    let mut h = Harness::new(Config::default());
    h.router.set_auth(security);
    h
}

pub(super) fn login(
    client_id: &str,
    user: Option<&str>,
    password: &str,
) -> crate::protocol::Connect {
    let mut connect = connect_packet(client_id, true);
    connect.username = user.map(str::to_owned);
    connect.password = Some(password.as_bytes().to_vec());
    connect
}

/// Opens a link from `ip` and sends `connect`; returns the link and the CONNACK, if any yet.
pub(super) fn attempt(
    h: &mut Harness,
    ip: &str,
    connect: crate::protocol::Connect,
) -> (LinkId, Option<(ConnectReturnCode, ReasonCode)>) {
    let peer: SocketAddr = format!("{ip}:50000").parse().unwrap();
    let link = h.router.open_link(1000, peer, h.now);
    h.send(link, &Packet::Connect(Box::new(connect)));
    (link, connack(h, link))
}

fn connack(h: &mut Harness, link: LinkId) -> Option<(ConnectReturnCode, ReasonCode)> {
    h.read(link).into_iter().find_map(|packet| match packet {
        Packet::ConnAck(ack) => Some((ack.return_code, ack.reason)),
        _ => None,
    })
}

const ACCEPTED: Option<(ConnectReturnCode, ReasonCode)> =
    Some((ConnectReturnCode::Accepted, ReasonCode::SUCCESS));
const REFUSED_V3: Option<(ConnectReturnCode, ReasonCode)> =
    Some((ConnectReturnCode::NotAuthorized, ReasonCode::NOT_AUTHORIZED));

#[test]
fn anonymous_clients_need_allow_anonymous() {
    let mut h = harness(security(false, Some(PASSWORDS), None));
    let (link, ack) = attempt(&mut h, "10.0.0.1", connect_packet("anon", true));
    // [MQTT-3.2.2-5] a refusing CONNACK is followed by closing the connection.
    assert_eq!(ack, REFUSED_V3);
    assert!(h.router.wants_close(link));
    let (_, ack) = attempt(&mut h, "10.0.0.2", login("c", Some("test"), "test"));
    assert_eq!(ack, ACCEPTED);
}

#[test]
fn bad_and_unknown_credentials_get_return_code_5() {
    let mut h = harness(security(true, Some(PASSWORDS), None));
    let (_, ack) = attempt(&mut h, "10.0.0.1", login("c", Some("test"), "wrong"));
    assert_eq!(ack, REFUSED_V3);
    let (_, ack) = attempt(&mut h, "10.0.0.2", login("c", Some("nobody"), "test"));
    assert_eq!(ack, REFUSED_V3);
    // A zero-length password counts as none (mosquitto), and none never matches.
    let (_, ack) = attempt(&mut h, "10.0.0.3", login("c", Some("test"), ""));
    assert_eq!(ack, REFUSED_V3);
    // allow_anonymous true still lets clients without a username in.
    let (_, ack) = attempt(&mut h, "10.0.0.4", connect_packet("anon", true));
    assert_eq!(ack, ACCEPTED);
}

#[test]
fn mqtt5_refusal_is_not_authorized_0x87() {
    let mut h = harness(security(false, Some(PASSWORDS), None));
    let mut connect = login("c", Some("test"), "wrong");
    connect.protocol = ProtocolVersion::V5;
    let (_, ack) = attempt(&mut h, "10.0.0.1", connect);
    assert_eq!(ack.map(|a| a.1), Some(ReasonCode::NOT_AUTHORIZED));
}

#[test]
fn no_password_file_and_no_anonymous_refuses_everyone() {
    // mosquitto #2358.
    let mut h = harness(security(false, None, None));
    let (_, ack) = attempt(&mut h, "10.0.0.1", login("c", Some("test"), "test"));
    assert_eq!(ack, REFUSED_V3);
}

#[test]
fn repeated_failures_delay_the_check_and_other_addresses_are_unaffected() {
    let mut h = harness(security(false, Some(PASSWORDS), None));
    let start = h.now;
    // The first failure is answered at once.
    let (_, ack) = attempt(&mut h, "10.0.0.1", login("c", Some("test"), "bad"));
    assert_eq!(ack, REFUSED_V3);
    // The second waits 0.5 s before it is even checked.
    let (second, ack) = attempt(&mut h, "10.0.0.1", login("c", Some("test"), "bad"));
    assert_eq!(ack, None);
    assert!(!h.router.wants_close(second));
    assert_eq!(
        h.router.tick(h.now),
        Some(start + Duration::from_millis(500))
    );
    // Another address is not held.
    let (_, ack) = attempt(&mut h, "10.0.0.2", login("c2", Some("test"), "test"));
    assert_eq!(ack, ACCEPTED);
    h.now = start + Duration::from_millis(499);
    h.router.tick(h.now);
    assert_eq!(connack(&mut h, second), None);
    h.now = start + Duration::from_millis(500);
    h.router.tick(h.now);
    assert_eq!(connack(&mut h, second), REFUSED_V3);
    // Two failures: the third attempt waits 1 s, and the right password then gets in.
    let (third, ack) = attempt(&mut h, "10.0.0.1", login("c", Some("test"), "test"));
    assert_eq!(ack, None);
    assert_eq!(
        h.router.tick(h.now),
        Some(start + Duration::from_millis(1500))
    );
    h.now = start + Duration::from_millis(1500);
    h.router.tick(h.now);
    assert_eq!(connack(&mut h, third), ACCEPTED);
}

#[test]
fn client_id_options_apply() {
    let mut listener = ListenerSecurity::open();
    listener.allow_zero_length_clientid = false;
    let mut h = harness(Security {
        listeners: vec![listener.clone()],
    });
    let (_, ack) = attempt(&mut h, "10.0.0.1", connect_packet("", true));
    assert_eq!(
        ack.map(|a| a.0),
        Some(ConnectReturnCode::IdentifierRejected)
    );

    listener.allow_zero_length_clientid = true;
    listener.auto_id_prefix = "gw-".into();
    listener.use_username_as_clientid = false;
    h.router.set_auth(Security {
        listeners: vec![listener.clone()],
    });
    let mut connect = connect_packet("", true);
    connect.protocol = ProtocolVersion::V5;
    let peer: SocketAddr = "10.0.0.1:1".parse().unwrap();
    let link = h.router.open_link(7, peer, h.now);
    h.send(link, &Packet::Connect(Box::new(connect)));
    let assigned = h.read(link).into_iter().find_map(|p| match p {
        Packet::ConnAck(ack) => ack.properties.assigned_client_identifier.clone(),
        _ => None,
    });
    assert!(assigned.unwrap().starts_with("gw-"));

    listener.use_username_as_clientid = true;
    h.router.set_auth(Security {
        listeners: vec![listener],
    });
    // mosquitto refuses a client without a username here.
    let (_, ack) = attempt(&mut h, "10.0.0.1", connect_packet("x", true));
    assert_eq!(ack, REFUSED_V3);
    let (_, ack) = attempt(&mut h, "10.0.0.1", login("x", Some("alice"), "pw"));
    assert_eq!(ack, ACCEPTED);
    assert!(h.router.session_by_client_id.contains_key("alice"));
}

#[test]
fn clientid_prefixes_refuses_other_ids() {
    let config = Config {
        clientid_prefixes: Some("gw-".into()),
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let (_, ack) = attempt(&mut h, "10.0.0.1", connect_packet("other", true));
    assert_eq!(ack, REFUSED_V3);
    let (_, ack) = attempt(&mut h, "10.0.0.1", connect_packet("gw-1", true));
    assert_eq!(ack, ACCEPTED);
}

const ACL: &str = "user test\ntopic readwrite home/#\ntopic deny home/secret\n\
user other\ntopic write home/#\ntopic read out/#\n";

fn acl_harness() -> Harness {
    harness(security(false, Some(PASSWORDS), Some(ACL)))
}

pub(super) fn connected(h: &mut Harness, id: &str, user: &str, version: ProtocolVersion) -> LinkId {
    let mut connect = login(id, Some(user), "test");
    connect.protocol = version;
    let (link, ack) = attempt(h, "10.0.0.9", connect);
    assert_eq!(ack.map(|a| a.0), Some(ConnectReturnCode::Accepted));
    link
}

#[test]
fn wildcard_subscriber_does_not_receive_a_forbidden_topic() {
    let mut h = acl_harness();
    let sub = connected(&mut h, "sub", "test", ProtocolVersion::V3_1_1);
    h.subscribe(sub, "home/#", QoS::AtMostOnce);
    let publisher = connected(&mut h, "pub", "other", ProtocolVersion::V3_1_1);
    h.send(
        publisher,
        &publish("home/secret", b"s", QoS::AtMostOnce, None, false),
    );
    h.send(
        publisher,
        &publish("home/open", b"o", QoS::AtMostOnce, None, false),
    );
    let got: Vec<_> = h
        .publishes(sub)
        .iter()
        .map(|p| p.topic.to_string())
        .collect();
    assert_eq!(got, ["home/open"]);
}

#[test]
fn denied_publish_is_acknowledged_with_0x87_in_mqtt5_and_not_routed() {
    let mut h = acl_harness();
    let sub = connected(&mut h, "sub", "test", ProtocolVersion::V3_1_1);
    h.subscribe(sub, "out/#", QoS::AtLeastOnce);
    let sub_out = connected(&mut h, "reader", "other", ProtocolVersion::V3_1_1);
    h.subscribe(sub_out, "out/#", QoS::AtLeastOnce);
    let p = connected(&mut h, "p5", "test", ProtocolVersion::V5);
    h.send(
        p,
        &publish("out/x", b"no", QoS::AtLeastOnce, Some(3), false),
    );
    let replies = h.read(p);
    assert!(
        matches!(&replies[..], [Packet::PubAck(ack)] if ack.reason == ReasonCode::NOT_AUTHORIZED),
        "{replies:?}"
    );
    assert!(!h.router.wants_close(p), "the connection stays open");
    h.send(
        p,
        &publish("out/x", b"no", QoS::ExactlyOnce, Some(4), false),
    );
    assert!(
        matches!(&h.read(p)[..], [Packet::PubRec(rec)] if rec.reason == ReasonCode::NOT_AUTHORIZED)
    );
    assert!(h.publishes(sub_out).is_empty());
    // $SYS is refused to every client, with or without an ACL file.
    h.send(
        p,
        &publish("$SYS/broker/x", b"no", QoS::AtLeastOnce, Some(5), false),
    );
    assert!(
        matches!(&h.read(p)[..], [Packet::PubAck(ack)] if ack.reason == ReasonCode::NOT_AUTHORIZED)
    );
}

#[test]
fn subscribe_to_a_filter_never_readable_is_refused_at_once() {
    let mut h = acl_harness();
    let c3 = connected(&mut h, "c3", "other", ProtocolVersion::V3_1_1);
    h.send(
        c3,
        &subscribe(
            1,
            &[("home/#", QoS::AtMostOnce), ("out/+", QoS::AtMostOnce)],
        ),
    );
    let Some(Packet::SubAck(ack)) = h.read(c3).into_iter().next() else {
        panic!("no SUBACK");
    };
    // [MQTT-3.9.3-2] 0x80 is 3.1.1's failure return code.
    assert_eq!(ack.reasons, [ReasonCode::UNSPECIFIED_ERROR, ReasonCode(0)]);
    let c5 = connected(&mut h, "c5", "other", ProtocolVersion::V5);
    h.send(c5, &subscribe(1, &[("$share/g/home/#", QoS::AtMostOnce)]));
    let Some(Packet::SubAck(ack)) = h.read(c5).into_iter().next() else {
        panic!("no SUBACK");
    };
    assert_eq!(ack.reasons, [ReasonCode::NOT_AUTHORIZED]);
}

#[test]
fn forbidden_retained_messages_are_not_sent_on_subscribe() {
    let mut h = harness(security(false, Some(PASSWORDS), None));
    let p = connected(&mut h, "p", "test", ProtocolVersion::V3_1_1);
    h.send(
        p,
        &publish("home/secret", b"s", QoS::AtMostOnce, None, true),
    );
    h.send(p, &publish("home/open", b"o", QoS::AtMostOnce, None, true));
    h.router
        .set_auth(security(false, Some(PASSWORDS), Some(ACL)));
    let sub = connected(&mut h, "sub", "test", ProtocolVersion::V3_1_1);
    h.send(sub, &subscribe(1, &[("home/secret", QoS::AtMostOnce)]));
    assert!(h.publishes(sub).is_empty(), "exact filter");
    h.send(sub, &subscribe(3, &[("home/open", QoS::AtMostOnce)]));
    assert_eq!(
        h.publishes(sub).len(),
        1,
        "an allowed exact filter gets its message"
    );
    h.send(sub, &subscribe(2, &[("home/+", QoS::AtMostOnce)]));
    let got: Vec<_> = h
        .publishes(sub)
        .iter()
        .map(|p| p.topic.to_string())
        .collect();
    assert_eq!(got, ["home/open"], "wildcard filter, through the backlog");
}

pub(super) fn with_will(id: &str, user: &str, topic: &str) -> crate::protocol::Connect {
    let mut connect = login(id, Some(user), "test");
    connect.will = Some(Will {
        topic: topic.into(),
        payload: b"gone".as_slice().into(),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Properties::default(),
    });
    connect
}

#[test]
fn a_will_to_a_forbidden_topic_is_dropped() {
    let mut h = acl_harness();
    let reads_out = connected(&mut h, "r1", "other", ProtocolVersion::V3_1_1);
    h.subscribe(reads_out, "out/#", QoS::AtMostOnce);
    let reads_home = connected(&mut h, "r2", "test", ProtocolVersion::V3_1_1);
    h.subscribe(reads_home, "home/#", QoS::AtMostOnce);
    // `test` may not write to out/#: its will is dropped when it would be published.
    let (w, _) = attempt(&mut h, "10.0.0.9", with_will("w1", "test", "out/will"));
    h.router.close_link(w, super::LinkLoss::PeerClosed, h.now);
    assert!(h.publishes(reads_out).is_empty());
    // `other` may write to home/#: its will goes out.
    let (w, _) = attempt(&mut h, "10.0.0.9", with_will("w2", "other", "home/will"));
    h.router.close_link(w, super::LinkLoss::PeerClosed, h.now);
    assert_eq!(h.publishes(reads_home).len(), 1);
}

#[test]
fn reload_disconnects_clients_that_no_longer_validate_and_applies_the_new_acl() {
    let mut h = harness(security(true, Some(PASSWORDS), Some(ACL)));
    let anon = attempt(&mut h, "10.0.0.1", connect_packet("anon", true)).0;
    let test = connected(&mut h, "t", "test", ProtocolVersion::V3_1_1);
    let other = connected(&mut h, "o", "other", ProtocolVersion::V5);
    // `other` keeps its entry; `test` is gone; anonymous clients are no longer allowed; and
    // the new ACL lets `other` read home/#.
    let only_other = PASSWORDS.lines().nth(1).unwrap();
    h.router.set_auth(security(
        false,
        Some(only_other),
        Some("user other\ntopic read home/#\n"),
    ));
    assert!(h.router.wants_close(anon));
    assert!(h.router.wants_close(test));
    assert!(!h.router.wants_close(other));
    h.subscribe(other, "home/#", QoS::AtMostOnce);
    let mut p = connect_packet("p", true);
    p.username = Some("other".into());
    p.password = Some(b"test".to_vec());
    let (p, _) = attempt(&mut h, "10.0.0.2", p);
    h.router.set_auth(security(
        false,
        Some(only_other),
        Some("user other\ntopic readwrite home/#\n"),
    ));
    h.send(p, &publish("home/x", b"1", QoS::AtMostOnce, None, false));
    assert_eq!(h.publishes(other).len(), 1);
}
