//! Will messages over real sockets: published whenever a connection ends without DISCONNECT
//! (MQTT 3.1.1 §3.1.2.5 - §3.1.2.7, §3.1.3.2 - §3.1.3.3).

mod common;

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use common::{Broker, Client, Connect, TIMEOUT, wire};

/// A client `id` watching `topic` at QoS 1.
fn watcher(addr: SocketAddr, id: &str, topic: &str) -> Client {
    let mut client = Client::connect(addr, id);
    assert_eq!(client.subscribe(1, &[(topic, 1)]), [1]);
    client
}

/// A connected client with a QoS 1 will on `topic`.
fn with_will(addr: SocketAddr, id: &str, topic: &str, retain: bool) -> Client {
    let connect = Connect::v311(id).will(topic, format!("{id} is gone").as_bytes(), 1, retain);
    let (client, connack) = Client::connect_with(addr, &connect);
    assert_eq!(connack, (false, 0));
    client
}

/// [MQTT-3.1.2-8] A connection closed without DISCONNECT publishes the will, at the will QoS
/// [MQTT-3.1.2-9] and, without will retain, not retained [MQTT-3.1.2-16].
#[test]
fn will_is_published_when_socket_drops() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "will/drop");
    with_will(broker.addr(), "dropper", "will/drop", false).drop_connection();
    let got = watch.receive();
    assert_eq!(got.payload_str(), "dropper is gone");
    assert_eq!((got.qos, got.retain), (1, false));
    watch.expect_no_packet(Duration::from_millis(500));
    // Not retained: a later subscriber gets nothing.
    let mut late = watcher(broker.addr(), "late", "will/drop");
    late.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.1.2-17] With will retain set, the will is published as a retained message.
#[test]
fn will_with_retain_is_retained() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "will/retained");
    with_will(broker.addr(), "retainer", "will/retained", true).drop_connection();
    assert_eq!(watch.receive().payload_str(), "retainer is gone");
    let mut late = Client::connect(broker.addr(), "late");
    late.subscribe(1, &[("will/retained", 1)]);
    let got = late.receive();
    assert_eq!(got.payload_str(), "retainer is gone");
    assert!(got.retain, "{got:?}");
}

/// [MQTT-3.1.2-8] Failing to communicate within the keepalive period publishes the will.
#[test]
fn will_is_published_on_keepalive_timeout() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "will/idle");
    let connect =
        Connect::v311("idler")
            .keep_alive(1)
            .will("will/idle", b"idler timed out", 1, false);
    let (mut idle, connack) = Client::connect_with(broker.addr(), &connect);
    assert_eq!(connack, (false, 0));
    let got = watch.expect_publish_within(Duration::from_secs(8));
    watch.ack(&got);
    assert_eq!(got.payload, b"idler timed out");
    idle.expect_closed(TIMEOUT);
}

/// [MQTT-3.1.2-8] A connection the broker closes for a protocol error publishes the will.
#[test]
fn will_is_published_on_protocol_violation() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "will/violation");
    let mut violator = with_will(broker.addr(), "violator", "will/violation", false);
    // Packet type 0 is reserved (§2.2.1).
    violator.send_raw(&[0x00, 0x00]);
    violator.expect_closed(TIMEOUT);
    assert_eq!(watch.receive().payload_str(), "violator is gone");
}

/// [MQTT-3.1.4-2] [MQTT-3.1.2-8] When a new connection takes over the client id, the old
/// connection is closed without DISCONNECT, so its will is published.
#[test]
fn will_is_published_on_takeover() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "will/takeover");
    let mut old = with_will(broker.addr(), "taken-over", "will/takeover", false);
    let mut new = Client::connect(broker.addr(), "taken-over");
    old.expect_closed(TIMEOUT);
    assert_eq!(watch.receive().payload_str(), "taken-over is gone");
    new.sync();
}

/// [MQTT-3.1.2-10] DISCONNECT discards the will: it is not published when the connection then
/// closes.
#[test]
fn will_is_not_published_after_disconnect() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "will/clean");
    with_will(broker.addr(), "polite", "will/clean", true).disconnect();
    watch.expect_no_packet(Duration::from_secs(2));
    let mut late = watcher(broker.addr(), "late", "will/clean");
    late.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.1.2-8] An MQTT 3.1 client's will is published too.
#[test]
fn will_of_mqtt_3_1_client_is_published() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "will/v31");
    let connect = Connect::v31("old-client").will("will/v31", b"3.1 gone", 2, false);
    let (client, connack) = Client::connect_with(broker.addr(), &connect);
    assert_eq!(connack, (false, 0));
    client.drop_connection();
    let got = watch.receive();
    assert_eq!((got.payload.as_slice(), got.qos), (&b"3.1 gone"[..], 1));
}

/// [MQTT-3.1.2-8] A whole session in one write, CONNECT and PUBLISH followed at once by the
/// end of the stream, likely all in one readiness event: the PUBLISH is delivered and the end
/// is seen at once, so the will follows it, not one and a half keepalives later.
#[test]
fn bytes_and_the_end_of_the_stream_arriving_together_are_both_seen() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "burst/#");
    for round in 0..10 {
        let id = format!("burst{round}");
        let mut bytes = Connect::v311(&id)
            .will("burst/will", id.as_bytes(), 1, false)
            .encode();
        bytes.extend(wire::Publish::new("burst/data", id.as_bytes()).encode());
        let mut stream = TcpStream::connect(broker.addr()).expect("connect");
        stream.write_all(&bytes).expect("write");
        stream.shutdown(Shutdown::Write).expect("shutdown");
        let data = watch.receive();
        assert_eq!(
            (data.topic.as_str(), data.payload_str()),
            ("burst/data", id.clone())
        );
        let will = watch.receive();
        assert_eq!(
            (will.topic.as_str(), will.payload_str()),
            ("burst/will", id)
        );
    }
}
