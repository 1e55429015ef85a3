//! The global delivery options of a mosquitto.conf, applied: retain_available,
//! message_size_limit, upgrade_outgoing_qos, allow_duplicate_messages, max_inflight_bytes,
//! persistent_client_expiration, and the queue and connection limits. Each test starts the
//! binary with a configuration file and talks to it over real sockets.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::conf::{ConfDir, free_port};
use common::wire::{self, Connect};
use common::wire_v5::{ConnectV5, PublishV5};
use common::{Broker, Client, Prop, Props, Publish, TIMEOUT};

/// Starts the broker on one loopback listener, with `options` after it.
fn start(options: &str) -> (Broker, SocketAddr, ConfDir) {
    let dir = ConfDir::new();
    let port = free_port();
    let file = dir.write(
        "mosquitto.conf",
        &format!("listener {port} 127.0.0.1\nallow_anonymous true\n{options}"),
    );
    let broker = Broker::start_exactly(&["-c", &file, "-v"], &[]);
    let logs = broker.logs().join("\n");
    assert!(!logs.contains("is not supported yet"), "{logs}");
    (broker, SocketAddr::from(([127, 0, 0, 1], port)), dir)
}

#[test]
fn retain_available_false_is_announced_and_enforced() {
    let (mut broker, addr, _dir) = start("retain_available false\n");
    let (mut v5, connack) = Client::connect_v5_ok(addr, &ConnectV5::new("v5"));
    assert!(
        connack.props.0.contains(&Prop::RetainAvailable(0)),
        "{connack:?}"
    );
    // MQTT 5 section 3.2.2.3.5: a retained PUBLISH is answered with DISCONNECT 0x9A.
    v5.publish_v5(&PublishV5::new("t", b"kept?").retain());
    assert_eq!(v5.expect_disconnect_v5(TIMEOUT).0, 0x9A);
    // [MQTT-3.2.2-13] a retained will refuses the connection with 0x9A.
    let mut connect = ConnectV5::new("will").will("w", b"gone", 0, Props::new());
    if let Some(will) = connect.will.as_mut() {
        will.will.retain = true;
    }
    let (mut refused, connack) = Client::connect_v5_with(addr, &connect);
    assert_eq!(connack.reason, 0x9A);
    refused.expect_closed(TIMEOUT);
    // 3.x: the connection is closed.
    let mut v3 = Client::connect(addr, "v3");
    v3.publish(&Publish::new("t", b"kept?").retain());
    v3.expect_closed(TIMEOUT);
    // Nothing was stored.
    let mut late = Client::connect(addr, "late");
    assert_eq!(late.subscribe(1, &[("t", 0)]), [0]);
    late.expect_no_packet(Duration::from_millis(300));
    broker.assert_alive();
}

#[test]
fn message_size_limit_drops_larger_payloads_and_completes_their_flow() {
    let (mut broker, addr, _dir) = start("message_size_limit 10\n");
    let mut subscriber = Client::connect(addr, "sub");
    assert_eq!(subscriber.subscribe(1, &[("t", 2)]), [2]);
    let mut v3 = Client::connect(addr, "v3");
    v3.publish_complete(&Publish::new("t", b"eleven byte").qos(1, 1));
    v3.publish_complete(&Publish::new("t", b"eleven byte").qos(2, 2));
    v3.publish_complete(&Publish::new("t", b"ten bytes!").qos(1, 3));
    assert_eq!(subscriber.receive().payload_str(), "ten bytes!");
    // MQTT 5 acknowledgements say why: 0x95 (Packet too large), as mosquitto 2.0 sends.
    let mut v5 = Client::connect_v5(addr, "v5");
    v5.publish_v5(&PublishV5::new("t", b"eleven byte").qos(1, 1));
    assert_eq!(v5.expect_pub_response(0x40, 1).0, 0x95);
    v5.publish_v5(&PublishV5::new("t", b"eleven byte").qos(2, 2));
    assert_eq!(v5.expect_pub_response(0x50, 2).0, 0x95);
    subscriber.expect_no_packet(Duration::from_millis(300));
    broker.assert_alive();
}

#[test]
fn upgrade_outgoing_qos_delivers_at_the_granted_qos() {
    let (mut broker, addr, _dir) = start("upgrade_outgoing_qos true\n");
    let mut subscriber = Client::connect(addr, "sub");
    assert_eq!(subscriber.subscribe(1, &[("t", 1)]), [1]);
    let mut publisher = Client::connect(addr, "pub");
    publisher.publish_complete(&Publish::new("t", b"sent at 0"));
    let got = subscriber.expect_publish();
    assert_eq!((got.qos, got.payload_str().as_str()), (1, "sent at 0"));
    assert!(got.pid.is_some());
    broker.assert_alive();
}

#[test]
fn allow_duplicate_messages_sends_one_copy_per_matching_subscription() {
    let (mut broker, addr, _dir) = start("allow_duplicate_messages true\n");
    let mut subscriber = Client::connect(addr, "sub");
    assert_eq!(subscriber.subscribe(1, &[("a/+", 0), ("a/#", 0)]), [0, 0]);
    let mut publisher = Client::connect(addr, "pub");
    publisher.publish_complete(&Publish::new("a/b", b"x"));
    subscriber.expect_publish();
    subscriber.expect_publish();
    subscriber.expect_no_packet(Duration::from_millis(300));
    broker.assert_alive();
}

#[test]
fn max_inflight_bytes_holds_deliveries_back_until_bytes_are_acknowledged() {
    let (mut broker, addr, _dir) = start("max_inflight_bytes 10\n");
    let mut subscriber = Client::connect(addr, "sub");
    assert_eq!(subscriber.subscribe(1, &[("t", 1)]), [1]);
    let mut publisher = Client::connect(addr, "pub");
    for i in 1..=3 {
        publisher.publish_complete(&Publish::new("t", format!("six {i}").as_bytes()).qos(1, i));
    }
    // Sent while fewer than 10 bytes are in flight: 0, then 5.
    let first = subscriber.expect_publish();
    subscriber.expect_publish();
    subscriber.expect_no_packet(Duration::from_millis(500));
    subscriber.send(&wire::puback(first.pid.expect("QoS 1")));
    assert_eq!(subscriber.expect_publish().payload_str(), "six 3");
    broker.assert_alive();
}

#[test]
fn persistent_client_expiration_is_applied_without_ending_a_session_early() {
    // An hour is the smallest unit; the expiry itself is the router tests' (fake clock).
    let (mut broker, addr, _dir) = start("persistent_client_expiration 1h\n");
    let connect = Connect::v311("sleeper").clean_session(false);
    let (mut client, _) = Client::connect_with(addr, &connect);
    assert_eq!(client.subscribe(1, &[("t", 1)]), [1]);
    client.disconnect();
    let mut publisher = Client::connect(addr, "pub");
    publisher.publish_complete(&Publish::new("t", b"while away").qos(1, 1));
    let (mut client, (present, code)) = Client::connect_with(addr, &connect);
    assert_eq!((present, code), (true, 0));
    assert_eq!(client.receive().payload_str(), "while away");
    broker.assert_alive();
}

#[test]
fn queue_limits_apply_to_an_offline_session() {
    let (mut broker, addr, _dir) = start("max_queued_messages 3\nqueue_qos0_messages true\n");
    let connect = Connect::v311("sleeper").clean_session(false);
    let (mut client, _) = Client::connect_with(addr, &connect);
    assert_eq!(client.subscribe(1, &[("t", 1)]), [1]);
    client.disconnect();
    let mut publisher = Client::connect(addr, "pub");
    // queue_qos0_messages: QoS 0 waits for an offline session too.
    publisher.publish_complete(&Publish::new("t", b"qos 0"));
    for i in 1..=4 {
        let payload = format!("qos 1 #{i}");
        publisher.publish_complete(&Publish::new("t", payload.as_bytes()).qos(1, i));
    }
    let (mut client, _) = Client::connect_with(addr, &connect);
    // Three fit; the fourth QoS 1 message took the QoS 0 one's place, the fifth was dropped.
    let got: Vec<String> = (0..3).map(|_| client.receive().payload_str()).collect();
    assert_eq!(got, ["qos 1 #1", "qos 1 #2", "qos 1 #3"]);
    client.expect_no_packet(Duration::from_millis(300));
    client.disconnect();
    publisher.publish_complete(&Publish::new("t", b"only qos 0"));
    let (mut client, _) = Client::connect_with(addr, &connect);
    assert_eq!(client.expect_publish().payload_str(), "only qos 0");
    broker.assert_alive();
}

#[test]
fn connection_limits_are_announced_to_mqtt_5_clients() {
    let options = "max_inflight_messages 7\nmax_keepalive 30\nmax_packet_size 1000\n\
                   max_topic_alias 3\n";
    let (mut broker, addr, _dir) = start(options);
    let connect = ConnectV5::new("v5").keep_alive(60);
    let (_client, connack) = Client::connect_v5_ok(addr, &connect);
    let props = &connack.props;
    assert_eq!(props.receive_maximum(), Some(7));
    assert_eq!(props.server_keep_alive(), Some(30));
    assert_eq!(props.maximum_packet_size(), Some(1000));
    assert_eq!(props.topic_alias_maximum(), Some(3));
    broker.assert_alive();
}
