//! CONNECT and CONNACK over real sockets: protocol versions, client identifiers, takeover and the
//! connect timeout (MQTT 3.1.1 §3.1, §3.2).

mod common;

use std::time::Duration;

use common::{Broker, Client, Connect, Packet, Publish, TIMEOUT, wire};

/// No CONNACK with return code 0 may be among `packets` (the connection was refused).
fn assert_not_accepted(packets: &[Packet]) {
    assert!(
        !packets
            .iter()
            .any(|p| matches!(p, Packet::ConnAck { code: 0, .. })),
        "the broker accepted the connection: {packets:?}"
    );
}

/// [MQTT-3.2.2-1] A clean session 3.1.1 CONNECT gets CONNACK 0 with session present 0.
#[test]
fn mqtt_3_1_1_connect_is_accepted() {
    let broker = Broker::start(&[]);
    let (mut client, connack) = Client::connect_with(broker.addr(), &Connect::v311("plain-311"));
    assert_eq!(connack, (false, 0));
    client.sync();
}

/// [MQTT-3.1.2-2] Protocol level 3 with the name "MQIsdp" (MQTT 3.1) is supported and accepted.
#[test]
fn mqtt_3_1_connect_is_accepted() {
    let broker = Broker::start(&[]);
    let (mut client, connack) = Client::connect_with(broker.addr(), &Connect::v31("plain-31"));
    assert_eq!(connack, (false, 0));
    assert_eq!(client.subscribe(1, &[("v31/t", 1)]), [1]);
    client.publish_complete(&Publish::new("v31/t", b"hi").qos(1, 2));
    assert_eq!(client.receive().payload, b"hi");
}

/// [MQTT-3.1.2-8] [MQTT-3.1.3-5] [MQTT-3.1.3-11] A CONNECT carrying every optional field (will
/// with QoS 1 and retain, user name, password) is parsed and accepted, for both levels.
#[test]
fn connect_with_will_username_and_password_is_accepted() {
    let broker = Broker::start(&[]);
    for connect in [Connect::v311("full-311"), Connect::v31("full-31")] {
        let connect = connect
            .keep_alive(30)
            .will("full/will", b"bye", 1, true)
            .username("user")
            .password(b"\x00binary\xffpassword");
        let (mut client, connack) = Client::connect_with(broker.addr(), &connect);
        assert_eq!(connack, (false, 0), "{connect:?}");
        client.sync();
        client.disconnect();
    }
}

/// [MQTT-3.1.0-1] The first packet must be CONNECT: a PINGREQ first closes the connection
/// without a response.
#[test]
fn first_packet_not_connect_closes_connection() {
    let broker = Broker::start(&[]);
    let mut client = Client::open(broker.addr());
    client.send_raw(&wire::pingreq());
    let packets = client.expect_closed(TIMEOUT);
    assert!(packets.is_empty(), "no response expected, got {packets:?}");
}

/// [MQTT-3.1.0-2] A second CONNECT on the same connection is a protocol violation.
#[test]
fn second_connect_closes_connection() {
    let broker = Broker::start(&[]);
    let mut client = Client::connect(broker.addr(), "twice");
    client.send(&Connect::v311("twice").encode());
    let packets = client.expect_closed(TIMEOUT);
    assert_not_accepted(&packets);
}

/// [MQTT-3.1.2-1] A wrong protocol name: the broker does not process the CONNECT as MQTT and
/// closes the connection (tests/protocol_level.rs checks the CONNACK of each combination).
#[test]
fn bad_protocol_name_closes_connection() {
    let broker = Broker::start(&[]);
    for name in [&b"MQTX"[..], b"mqtt", b"MQIsdp", b""] {
        // "MQIsdp" is only right with level 3; with level 4 it names no protocol.
        let mut connect = Connect::v311("bad-name");
        connect.protocol_name = name.to_vec();
        let mut client = Client::open(broker.addr());
        client.send(&connect.encode());
        let packets = client.expect_closed(TIMEOUT);
        assert_not_accepted(&packets);
    }
}

/// [MQTT-3.1.2-3] The reserved bit 0 of the connect flags must be 0, else the connection is
/// closed.
#[test]
fn reserved_connect_flag_closes_connection() {
    let broker = Broker::start(&[]);
    let mut connect = Connect::v311("reserved");
    connect.reserved_flag = true;
    let mut client = Client::open(broker.addr());
    client.send(&connect.encode());
    assert_not_accepted(&client.expect_closed(TIMEOUT));
}

/// [MQTT-3.1.2-14] Will QoS 3 is invalid; [MQTT-3.1.2-13] without the will flag the will QoS
/// must be 0; [MQTT-3.1.2-15] and so must will retain; [MQTT-3.1.2-22] a password needs a user
/// name. Each is closed without being accepted.
#[test]
fn invalid_connect_flag_combinations_close_connection() {
    let broker = Broker::start(&[]);
    let cases = [
        ("will QoS 3", 0b0001_1110u8),
        ("will QoS without will flag", 0b0000_1010),
        ("will retain without will flag", 0b0010_0010),
        ("password without user name", 0b0100_0010),
    ];
    for (what, flags) in cases {
        let mut connect = Connect::v311("bad-flags");
        if flags & 0x04 != 0 {
            connect = connect.will("w", b"p", 0, false);
        }
        if flags & 0x40 != 0 {
            connect = connect.password(b"secret");
        }
        connect.raw_flags = Some(flags);
        let mut client = Client::open(broker.addr());
        client.send(&connect.encode());
        match client.closed_within(TIMEOUT) {
            Some(packets) => assert_not_accepted(&packets),
            None => panic!("{what}: connection not closed"),
        }
    }
}

/// [MQTT-3.1.3-6] An empty client id with clean session 1 is accepted and the broker assigns a
/// unique id: two such clients stay connected side by side (no takeover between them).
#[test]
fn empty_client_id_with_clean_session_gets_an_assigned_id() {
    let broker = Broker::start(&[]);
    let (mut first, connack) = Client::connect_with(broker.addr(), &Connect::v311(""));
    assert_eq!(connack, (false, 0));
    let (mut second, connack) = Client::connect_with(broker.addr(), &Connect::v311(""));
    assert_eq!(connack, (false, 0));
    assert_eq!(first.subscribe(1, &[("anon/t", 0)]), [0]);
    second.publish_complete(&Publish::new("anon/t", b"to first"));
    assert_eq!(first.expect_publish().payload, b"to first");
    first.sync();
    second.sync();
}

/// [MQTT-3.1.3-8] An empty client id with clean session 0 is rejected with CONNACK return code
/// 2 (identifier rejected), then the connection is closed.
#[test]
fn empty_client_id_without_clean_session_is_rejected_with_2() {
    let broker = Broker::start(&[]);
    let mut client = Client::open(broker.addr());
    client.send(&Connect::v311("").clean_session(false).encode());
    assert_eq!(client.expect_connack(), (false, 2));
    client.expect_closed(TIMEOUT);
}

/// [MQTT-3.1.4-2] A second connection with the same client id takes over: the first connection
/// is closed and the second works.
#[test]
fn same_client_id_takes_over_and_first_connection_is_closed() {
    let broker = Broker::start(&[]);
    let mut first = Client::connect(broker.addr(), "twin");
    let mut second = Client::connect(broker.addr(), "twin");
    first.expect_closed(TIMEOUT);
    assert_eq!(second.subscribe(1, &[("twin/t", 1)]), [1]);
    second.publish_complete(&Publish::new("twin/t", b"still here").qos(1, 2));
    assert_eq!(second.receive().payload, b"still here");
}

/// [MQTT-3.1.4-2] Takeover works across protocol versions too: a 3.1 client replaces a 3.1.1
/// client of the same id.
#[test]
fn takeover_across_protocol_versions() {
    let broker = Broker::start(&[]);
    let mut first = Client::connect(broker.addr(), "twin-versions");
    let (mut second, connack) = Client::connect_with(broker.addr(), &Connect::v31("twin-versions"));
    assert_eq!(connack, (false, 0));
    first.expect_closed(TIMEOUT);
    second.sync();
}

/// §3.1.4 (the server must receive CONNECT in reasonable time; `--connect-timeout`): a socket
/// that sends nothing is closed after the connect timeout, and not at once.
#[test]
fn silent_socket_is_closed_after_connect_timeout() {
    let broker = Broker::start(&["--connect-timeout", "1"]);
    let mut client = Client::open(broker.addr());
    client.expect_no_packet(Duration::from_millis(300));
    let packets = client.expect_closed(Duration::from_secs(6));
    assert!(packets.is_empty(), "no response expected, got {packets:?}");
}

/// §3.1.4: a complete CONNECT before the connect timeout is not affected by it.
#[test]
fn connected_client_outlives_connect_timeout() {
    let broker = Broker::start(&["--connect-timeout", "1"]);
    let mut client = Client::connect(broker.addr(), "in-time");
    client.expect_no_packet(Duration::from_millis(2500));
    client.sync();
}

/// The contract's log: one info line per connect and per disconnect, naming the client id.
#[test]
fn connect_and_disconnect_are_logged_with_client_id() {
    let broker = Broker::start(&[]);
    let client = Client::connect(broker.addr(), "log-probe-4711");
    assert!(
        broker.wait_for_log("log-probe-4711", TIMEOUT),
        "no log line names the client on connect: {:#?}",
        broker.logs()
    );
    client.disconnect();
    assert!(
        broker.wait_for_log_count("log-probe-4711", 2, TIMEOUT),
        "no second log line names the client on disconnect: {:#?}",
        broker.logs()
    );
}
