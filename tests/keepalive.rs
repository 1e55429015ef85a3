//! Keep Alive over real sockets (MQTT 3.1.1 §3.1.2.10). Only bounds of the form "not before"
//! and "within N seconds" are asserted, with room for a slow machine.

mod common;

use std::time::{Duration, Instant};

use common::{Broker, Client, Connect, Publish, sleep, wire};

fn connect_with_keepalive(broker: &Broker, id: &str, seconds: u16) -> Client {
    let (client, connack) =
        Client::connect_with(broker.addr(), &Connect::v311(id).keep_alive(seconds));
    assert_eq!(connack, (false, 0));
    client
}

/// [MQTT-3.1.2-24] With keepalive 1 s and no traffic the broker closes the connection after
/// one and a half keepalive periods: not within the first second, and within three.
#[test]
fn idle_client_is_closed_after_one_and_a_half_keepalive() {
    let broker = Broker::start(&[]);
    let mut client = connect_with_keepalive(&broker, "idle", 1);
    let connected = Instant::now();
    client.expect_no_packet(Duration::from_secs(1));
    let remaining = Duration::from_secs(3).saturating_sub(connected.elapsed());
    let packets = client.expect_closed(remaining);
    assert!(packets.is_empty(), "{packets:?}");
}

/// [MQTT-3.1.2-23] PINGREQ counts as traffic: a client pinging every 500 ms stays connected
/// well past 1.5 keepalive periods.
#[test]
fn pingreq_keeps_connection_alive() {
    let broker = Broker::start(&[]);
    let mut client = connect_with_keepalive(&broker, "pinger", 1);
    for _ in 0..8 {
        sleep(Duration::from_millis(500));
        client.sync();
    }
}

/// [MQTT-3.1.2-23] [MQTT-3.1.2-24] Any control packet from the client resets the keepalive
/// timer, not only PINGREQ.
#[test]
fn publish_traffic_keeps_connection_alive() {
    let broker = Broker::start(&[]);
    let mut client = connect_with_keepalive(&broker, "talker", 1);
    for i in 0..8 {
        sleep(Duration::from_millis(500));
        client.publish_complete(&Publish::new("ka/t", b"tick").qos(1, i + 1));
    }
}

/// §3.1.2.10: keepalive 0 turns the mechanism off; the connection survives three idle seconds.
#[test]
fn keepalive_zero_never_times_out() {
    let broker = Broker::start(&[]);
    let mut client = connect_with_keepalive(&broker, "forever", 0);
    client.expect_no_packet(Duration::from_secs(3));
    client.sync();
}

/// [MQTT-3.1.2-24] Only packets *from* the client count: a subscriber that receives messages
/// but sends nothing is still closed.
#[test]
fn traffic_to_the_client_does_not_keep_it_alive() {
    let broker = Broker::start(&[]);
    let mut listener = connect_with_keepalive(&broker, "listener", 1);
    listener.send(&wire::subscribe(1, &[("ka/feed", 0)]));
    listener.expect_suback(1);
    let connected = Instant::now();
    let mut publisher = Client::connect(broker.addr(), "feeder");
    let mut closed = false;
    for _ in 0..20 {
        publisher.publish_complete(&Publish::new("ka/feed", b"news"));
        if listener.closed_within(Duration::from_millis(250)).is_some() {
            closed = true;
            break;
        }
        listener.take_pending();
    }
    assert!(closed, "still connected after {:?}", connected.elapsed());
    assert!(connected.elapsed() >= Duration::from_secs(1));
}
