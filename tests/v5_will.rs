//! MQTT 5 will messages over real sockets: will properties, Will Delay Interval, will message
//! expiry, and DISCONNECT with reason 0x04 (MQTT 5.0 §3.1.2.5, §3.1.3.2, §3.14.2.1).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Broker, Client, ConnectV5, Prop, Props, sleep};

/// An MQTT 5 client watching `filter` at QoS 1.
fn watcher(addr: SocketAddr, id: &str, filter: &str) -> Client {
    let mut client = Client::connect_v5(addr, id);
    client.sub_v5(filter, 1);
    client
}

/// Connects `id` with a QoS 1 will on `wills/<id>`, the given will properties and session
/// expiry.
fn with_will(addr: SocketAddr, id: &str, will_props: Props, expiry: u32) -> Client {
    let topic = format!("wills/{id}");
    let connect = ConnectV5::new(id).persistent(expiry).will(
        &topic,
        format!("{id} is gone").as_bytes(),
        1,
        will_props,
    );
    Client::connect_v5_ok(addr, &connect).0
}

/// [MQTT-3.1.2-8] A will is published when the connection drops, with its properties: Payload
/// Format Indicator, Content Type, Response Topic, Correlation Data and User Properties in
/// order (§3.1.3.2.3 - §3.1.3.2.8, [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16]
/// [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]).
#[test]
fn will_properties_are_delivered_with_the_will() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "wills/#");
    let props = Props::new()
        .with(Prop::PayloadFormat(1))
        .with(Prop::ContentType("text/plain".into()))
        .with(Prop::ResponseTopic("status/ask".into()))
        .with(Prop::CorrelationData(vec![0, 1, 2, 255]))
        .user("z", "last")
        .user("a", "first")
        .user("z", "again");
    with_will(broker.addr(), "sensor", props.clone(), 0).drop_connection();
    let got = watch.receive_v5();
    assert_eq!(got.topic, "wills/sensor");
    assert_eq!(got.payload_str(), "sensor is gone");
    assert_eq!(got.qos, 1);
    assert_eq!(got.props.application(), props);
}

/// [MQTT-3.1.2-8] With a Will Delay Interval of 2 s (and a longer session expiry) the will is
/// published after the delay: not in the first second, but within a generous bound.
#[test]
fn will_delay_publishes_the_will_after_the_delay() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "wills/#");
    let delay = Props::new().with(Prop::WillDelay(2));
    let client = with_will(broker.addr(), "late", delay, 60);
    let dropped = Instant::now();
    client.drop_connection();
    watch.expect_no_packet(Duration::from_secs(1));
    let got = watch.expect_publish_v5_within(Duration::from_secs(10));
    assert_eq!(got.topic, "wills/late");
    assert!(
        dropped.elapsed() >= Duration::from_millis(1500),
        "too early"
    );
}

/// [MQTT-3.1.3-9] A new connection to the session before the Will Delay Interval has passed
/// cancels the will: it is never published, not even when that connection later ends with
/// DISCONNECT.
#[test]
fn reconnecting_within_the_will_delay_cancels_the_will() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "wills/#");
    let delay = Props::new().with(Prop::WillDelay(3));
    with_will(broker.addr(), "back", delay, 60).drop_connection();
    sleep(Duration::from_millis(500));
    let connect = ConnectV5::new("back").persistent(60);
    let (client, connack) = Client::connect_v5_ok(broker.addr(), &connect);
    assert!(connack.session_present);
    watch.expect_no_packet(Duration::from_secs(5));
    client.disconnect();
    watch.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.1.2-8] The will is published when the session ends, if that is before the Will
/// Delay Interval: a session expiry of 1 s beats a will delay of an hour.
#[test]
fn will_is_published_when_the_session_ends_before_the_delay() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "wills/#");
    let delay = Props::new().with(Prop::WillDelay(3600));
    with_will(broker.addr(), "short", delay, 1).drop_connection();
    let got = watch.expect_publish_v5_within(Duration::from_secs(10));
    assert_eq!(got.topic, "wills/short");
}

/// §3.1.3.2.4 The will's Message Expiry Interval becomes the message's: an offline persistent
/// subscriber reconnecting after it does not get the will [MQTT-3.3.2-5]; an online one gets it
/// with the interval at most as sent [MQTT-3.3.2-6].
#[test]
fn will_message_expiry_applies_to_the_published_will() {
    let broker = Broker::start(&[]);
    let mut online = watcher(broker.addr(), "online", "wills/#");
    let connect = ConnectV5::new("offline").persistent(300);
    let (mut offline, _) = Client::connect_v5_ok(broker.addr(), &connect);
    offline.sub_v5("wills/#", 1);
    offline.disconnect();

    let expiry = Props::new().with(Prop::MessageExpiry(1));
    with_will(broker.addr(), "fleeting", expiry, 0).drop_connection();
    let got = online.receive_v5();
    assert_eq!(got.topic, "wills/fleeting");
    assert!(
        got.props.message_expiry().is_some_and(|s| s <= 1),
        "{:?}",
        got.props
    );

    sleep(Duration::from_secs(3));
    let (mut offline, connack) = Client::connect_v5_ok(broker.addr(), &connect);
    assert!(connack.session_present);
    offline.expect_no_packet(Duration::from_millis(700));
}

/// §3.14.2.1: DISCONNECT with reason 0x04 (Disconnect with Will Message) publishes the will;
/// [MQTT-3.14.4-3] DISCONNECT 0x00 discards it.
#[test]
fn disconnect_with_reason_0x04_publishes_the_will_and_0x00_does_not() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "wills/#");
    let quiet = with_will(broker.addr(), "quiet", Props::new(), 0);
    quiet.disconnect_v5(0x00, &Props::new());
    let leaving = with_will(broker.addr(), "leaving", Props::new(), 0);
    leaving.disconnect_v5(0x04, &Props::new());
    let got = watch.receive_v5();
    assert_eq!(
        got.topic, "wills/leaving",
        "the 0x00 will must not come first"
    );
    watch.expect_no_packet(Duration::from_millis(500));
}

/// [MQTT-3.1.2-4] [MQTT-3.1.2-8] Within an hour's Will Delay, a takeover with Clean Start 1
/// ends the old session, and with it the wait: the will is published at the takeover. A
/// takeover with Clean Start 0 continues the session, so the will is not sent
/// [MQTT-3.1.3-9] (section 3.1.3.2.2, non-normative). src/router/tests_will.rs has every
/// case with a fake clock.
#[test]
fn takeover_within_the_will_delay_sends_the_will_only_with_clean_start_1() {
    let broker = Broker::start(&[]);
    let mut watch = watcher(broker.addr(), "watch", "wills/#");
    let delay = Props::new().with(Prop::WillDelay(3600));

    let mut old = with_will(broker.addr(), "kept", delay.clone(), 60);
    let connect = ConnectV5::new("kept").persistent(60);
    let (mut new, connack) = Client::connect_v5_ok(broker.addr(), &connect);
    assert!(connack.session_present);
    assert_eq!(old.expect_disconnect_v5(Duration::from_secs(5)).0, 0x8E);
    new.sync();
    watch.expect_no_packet(Duration::from_millis(500));

    let mut old = with_will(broker.addr(), "ended", delay, 60);
    let connect = ConnectV5::new("ended").prop(Prop::SessionExpiry(60));
    let (mut new, connack) = Client::connect_v5_ok(broker.addr(), &connect);
    assert!(!connack.session_present);
    assert_eq!(old.expect_disconnect_v5(Duration::from_secs(5)).0, 0x8E);
    let got = watch.receive_v5();
    assert_eq!(got.topic, "wills/ended");
    new.sync();
}
