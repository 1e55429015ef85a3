//! MQTT 5 sessions over real sockets: Session Expiry Interval on CONNECT and DISCONNECT, and the
//! broker's DISCONNECT reason codes when it ends a connection (MQTT 5.0 §3.1.2.11.2, §3.14).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Broker, Client, ConnectV5, Prop, Props, PublishV5, TIMEOUT, sleep};

/// Connects `id` with clean start 0 and Session Expiry Interval `expiry`; returns the client and
/// session present.
fn resume(addr: SocketAddr, id: &str, expiry: u32) -> (Client, bool) {
    let (client, connack) = Client::connect_v5_ok(addr, &ConnectV5::new(id).persistent(expiry));
    (client, connack.session_present)
}

/// Connects with clean start 0 and no Session Expiry Interval (that is, 0).
fn resume_without_expiry(addr: SocketAddr, id: &str) -> (Client, bool) {
    let connect = ConnectV5::new(id).clean_start(false);
    let (client, connack) = Client::connect_v5_ok(addr, &connect);
    (client, connack.session_present)
}

/// §3.1.2.11.2: an absent Session Expiry Interval is 0, and the session ends when the network
/// connection closes: clean start 0 afterwards finds no session [MQTT-3.1.2-6].
#[test]
fn session_expiry_zero_ends_the_session_with_the_connection() {
    let broker = Broker::start(&[]);
    let (mut client, present) = resume_without_expiry(broker.addr(), "brief");
    assert!(!present);
    client.sub_v5("brief/t", 1);
    client.disconnect();
    let (mut client, present) = resume_without_expiry(broker.addr(), "brief");
    assert!(!present, "the session ended with the connection");
    // The subscription went with it.
    let mut publisher = Client::connect_v5(broker.addr(), "brief-pub");
    publisher.publish_v5_complete(&PublishV5::new("brief/t", b"gone").qos(1, 1));
    client.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.1.2-23] With a Session Expiry Interval of 2 s the session outlives the connection:
/// resumed (session present 1 [MQTT-3.2.2-2]) within the interval, gone well after it.
#[test]
fn session_expiry_keeps_the_session_for_the_interval_only() {
    let broker = Broker::start(&[]);
    let (mut client, _) = resume(broker.addr(), "short", 2);
    client.sub_v5("short/t", 1);
    client.drop_connection();
    sleep(Duration::from_millis(300));
    let (client, present) = resume(broker.addr(), "short", 2);
    assert!(present, "resumed within the interval");
    client.disconnect();
    // Expiry counts from this disconnect; 2 s plus generous slack.
    sleep(Duration::from_secs(5));
    let (_client, present) = resume(broker.addr(), "short", 2);
    assert!(!present, "the session expired");
}

/// §3.1.2.11.2: 0xFFFFFFFF means the session does not expire.
#[test]
fn session_expiry_max_never_expires() {
    let broker = Broker::start(&[]);
    let (mut client, _) = resume(broker.addr(), "forever", u32::MAX);
    client.sub_v5("forever/t", 1);
    client.disconnect();
    let mut publisher = Client::connect_v5(broker.addr(), "forever-pub");
    publisher.publish_v5_complete(&PublishV5::new("forever/t", b"kept").qos(1, 1));
    sleep(Duration::from_secs(3));
    let (mut client, present) = resume(broker.addr(), "forever", u32::MAX);
    assert!(present);
    assert_eq!(client.receive_v5().payload, b"kept");
}

/// §3.14.2.2.2: DISCONNECT may change a non-zero Session Expiry Interval, either way: to 0 ends
/// the session now; from 2 s to an hour keeps it past the original 2 s.
#[test]
fn disconnect_changes_a_non_zero_session_expiry() {
    let broker = Broker::start(&[]);
    let (client, _) = resume(broker.addr(), "to-zero", 3600);
    client.disconnect_v5(0x00, &Props::new().with(Prop::SessionExpiry(0)));
    let (_client, present) = resume(broker.addr(), "to-zero", 3600);
    assert!(!present, "expiry 0 on DISCONNECT ended the session");

    let (client, _) = resume(broker.addr(), "longer", 2);
    client.disconnect_v5(0x00, &Props::new().with(Prop::SessionExpiry(3600)));
    sleep(Duration::from_secs(4));
    let (_client, present) = resume(broker.addr(), "longer", 2);
    assert!(present, "the longer expiry from DISCONNECT applied");
}

/// §3.14.2.2.2: a non-zero Session Expiry Interval on DISCONNECT after CONNECT set 0 is a
/// Protocol Error: the broker answers DISCONNECT 0x82 [MQTT-3.14.2-1] without a Session Expiry
/// Interval [MQTT-3.14.2-2], and the session still ends.
#[test]
fn disconnect_raising_expiry_from_zero_is_a_protocol_error() {
    let broker = Broker::start(&[]);
    let (mut client, _) = resume_without_expiry(broker.addr(), "sneaky");
    client.send(&common::wire_v5::disconnect(
        0x00,
        &Props::new().with(Prop::SessionExpiry(60)),
    ));
    let (reason, props) = client.expect_disconnect_v5(TIMEOUT);
    assert_eq!(reason, 0x82);
    assert_eq!(props.session_expiry(), None, "[MQTT-3.14.2-2]");
    let (_client, present) = resume_without_expiry(broker.addr(), "sneaky");
    assert!(!present);
}

/// [MQTT-3.1.4-3] A second connection with the same client id takes over: the first gets
/// DISCONNECT 0x8E (Session taken over) and is closed; the session carries on.
#[test]
fn takeover_sends_disconnect_0x8e() {
    let broker = Broker::start(&[]);
    let (mut first, _) = resume(broker.addr(), "twin", 60);
    first.sub_v5("twin/t", 1);
    let (mut second, present) = resume(broker.addr(), "twin", 60);
    assert!(present);
    let (reason, _) = first.expect_disconnect_v5(TIMEOUT);
    assert_eq!(reason, 0x8E);
    let mut publisher = Client::connect_v5(broker.addr(), "twin-pub");
    publisher.publish_v5_complete(&PublishV5::new("twin/t", b"to the new one").qos(1, 1));
    assert_eq!(second.receive_v5().payload, b"to the new one");
}

/// [MQTT-3.1.2-22] A client silent for 1.5 × its 1 s keepalive is disconnected with 0x8D
/// (Keep Alive timeout), within a few seconds and not before the keepalive has passed.
#[test]
fn keepalive_timeout_sends_disconnect_0x8d() {
    let broker = Broker::start(&[]);
    let started = Instant::now();
    let connect = ConnectV5::new("sleepy").keep_alive(1);
    let (mut client, _) = Client::connect_v5_ok(broker.addr(), &connect);
    let (reason, _) = client.expect_disconnect_v5(Duration::from_secs(10));
    assert_eq!(reason, 0x8D);
    assert!(started.elapsed() >= Duration::from_secs(1), "too early");
}

/// §4.13.2 / §3.14.2.1: on SIGTERM the broker sends DISCONNECT 0x8B (Server shutting down) to
/// every MQTT 5 client and exits with status 0; a 3.1.1 client just sees the close.
#[test]
fn shutdown_sends_disconnect_0x8b() {
    let mut broker = Broker::start(&[]);
    let mut a = Client::connect_v5(broker.addr(), "a");
    let mut b = Client::connect_v5(broker.addr(), "b");
    let mut old = Client::connect(broker.addr(), "old");
    let status = broker
        .stop(Duration::from_secs(10))
        .expect("exit after SIGTERM");
    assert!(status.success(), "{status}");
    for client in [&mut a, &mut b] {
        let (reason, _) = client.expect_disconnect_v5(TIMEOUT);
        assert_eq!(reason, 0x8B);
    }
    let before_close = old.expect_closed(TIMEOUT);
    assert!(
        before_close.is_empty(),
        "3.1.1 has no DISCONNECT from the server: {before_close:?}"
    );
}

/// [MQTT-3.1.0-2] A second CONNECT on a connection is a Protocol Error: DISCONNECT 0x82 and
/// the close.
#[test]
fn second_connect_gets_disconnect_0x82() {
    let mut broker = Broker::start(&[]);
    let mut client = Client::connect_v5(broker.addr(), "again");
    client.send(&ConnectV5::new("again").encode());
    let (reason, _) = client.expect_disconnect_v5(TIMEOUT);
    assert_eq!(reason, 0x82);
    common::assert_broker_healthy(&mut broker, "after-second-connect");
}

/// §4.13.1: a packet the server must never receive (PINGRESP) is a Protocol Error (0x82); a
/// malformed one (a PUBLISH whose property length overruns it) gets 0x81 (Malformed Packet).
#[test]
fn malformed_and_unexpected_packets_get_0x81_and_0x82() {
    let broker = Broker::start(&[]);
    let mut client = Client::connect_v5(broker.addr(), "rude");
    client.send(&[0xD0, 0x00]);
    assert_eq!(client.expect_disconnect_v5(TIMEOUT).0, 0x82);
    let mut client = Client::connect_v5(broker.addr(), "garbled");
    // PUBLISH "t", property length 9 with only 1 byte left.
    client.send(&[0x30, 0x05, 0x00, 0x01, b't', 0x09, 0x01]);
    assert_eq!(client.expect_disconnect_v5(TIMEOUT).0, 0x81);
}
