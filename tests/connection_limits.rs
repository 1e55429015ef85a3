//! `max_connections` per listener and `max_connections_total` over every listener: a client
//! over the limit is told so in its CONNACK (3.1.1 return code 3, server unavailable; MQTT 5
//! 0x97, quota exceeded) instead of seeing its connection dropped, and a flood beyond that is
//! dropped at accept without hurting the clients already connected.

mod common;

use std::net::{SocketAddr, TcpStream};

use common::conf::{ConfDir, free_port};
use common::wire::Connect;
use common::wire_v5::ConnectV5;
use common::{Broker, Client, Publish, TIMEOUT};

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn start(dir: &ConfDir, contents: &str) -> Broker {
    let file = dir.write("mosquitto.conf", contents);
    Broker::start_exactly(&["-c", &file, "-v"], &[])
}

#[test]
fn a_client_over_max_connections_is_refused_with_server_unavailable() {
    let dir = ConfDir::new();
    let port = free_port();
    let conf = format!("listener {port} 127.0.0.1\nmax_connections 2\nallow_anonymous true\n");
    let mut broker = start(&dir, &conf);
    let first = Client::connect(loopback(port), "first");
    let _second = Client::connect(loopback(port), "second");
    // A refusing CONNACK, 3.1.1 return code 3 "Server unavailable", then the close
    // [MQTT-3.2.2-4] [MQTT-3.2.2-5].
    let (mut third, connack) = Client::connect_with(loopback(port), &Connect::v311("third"));
    assert_eq!(connack, (false, 3));
    third.expect_closed(TIMEOUT);
    assert!(broker.wait_for_log("over max_connections", TIMEOUT));
    // MQTT 5: 0x97 Quota exceeded.
    let (_, connack) = Client::connect_v5_with(loopback(port), &ConnectV5::new("third-v5"));
    assert_eq!(connack.reason, 0x97);
    // A place freed is a place to take.
    first.disconnect();
    assert!(broker.wait_for_log("Client first disconnected.", TIMEOUT));
    let _fourth = Client::connect(loopback(port), "fourth");
    broker.assert_alive();
}

#[test]
fn max_connections_counts_per_listener() {
    let dir = ConfDir::new();
    let (limited, open) = (free_port(), free_port());
    let _broker = start(
        &dir,
        &format!(
            "listener {limited} 127.0.0.1\nmax_connections 1\nlistener {open} 127.0.0.1\n\
             allow_anonymous true\n"
        ),
    );
    let _one = Client::connect(loopback(limited), "one");
    let _others: Vec<Client> = (0..3)
        .map(|i| Client::connect(loopback(open), &format!("other-{i}")))
        .collect();
    let (_, connack) = Client::connect_with(loopback(limited), &Connect::v311("refused"));
    assert_eq!(connack, (false, 3));
}

#[test]
fn max_connections_total_counts_over_every_listener() {
    let dir = ConfDir::new();
    let (a, b) = (free_port(), free_port());
    let _broker = start(
        &dir,
        &format!(
            "max_connections_total 2\nlistener {a} 127.0.0.1\nlistener {b} 127.0.0.1\n\
             allow_anonymous true\n"
        ),
    );
    let _one = Client::connect(loopback(a), "one");
    let _two = Client::connect(loopback(b), "two");
    for port in [a, b] {
        let (_, connack) = Client::connect_with(loopback(port), &Connect::v311("three"));
        assert_eq!(connack, (false, 3), "port {port}");
    }
}

#[test]
fn a_flood_over_the_limit_costs_the_connected_clients_nothing() {
    let dir = ConfDir::new();
    let port = free_port();
    let conf = format!("listener {port} 127.0.0.1\nmax_connections 2\nallow_anonymous true\n");
    let mut broker = start(&dir, &conf);
    let mut subscriber = Client::connect(loopback(port), "subscriber");
    subscriber.subscribe(1, &[("t", 1)]);
    let mut publisher = Client::connect(loopback(port), "publisher");
    // 100 sockets that never send CONNECT: the first 64 wait to be refused, the rest are
    // dropped at once.
    let flood: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect(loopback(port)).ok())
        .collect();
    assert!(broker.wait_for_log("denied: max_connections exceeded.", TIMEOUT));
    for i in 1..=20u16 {
        publisher.publish_complete(&Publish::new("t", &i.to_be_bytes()).qos(1, i));
        let message = subscriber.expect_publish();
        assert_eq!(message.payload, i.to_be_bytes());
        subscriber.ack(&message);
    }
    drop(flood);
    broker.assert_alive();
}

#[test]
fn a_subscriber_whose_queue_stays_full_is_disconnected_after_slow_consumer_timeout() {
    let dir = ConfDir::new();
    let port = free_port();
    let conf = format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\nslow_consumer_timeout 1\n\
         max_inflight_messages 1\nmax_queued_messages 5\n"
    );
    let mut broker = start(&dir, &conf);
    // Subscribes at QoS 1 and never acknowledges: one in flight, five queued, the rest dropped.
    let mut stuck = Client::connect_v5(loopback(port), "stuck");
    stuck.sub_v5("t", 1);
    let mut publisher = Client::connect(loopback(port), "publisher");
    for i in 1..=20u16 {
        publisher.publish_complete(&Publish::new("t", b"x").qos(1, i));
    }
    let packets = stuck.expect_closed(TIMEOUT);
    let disconnect = packets.iter().find_map(|p| match p {
        common::Packet::V5(common::PacketV5::Disconnect { reason, .. }) => Some(*reason),
        _ => None,
    });
    assert_eq!(disconnect, Some(0x97), "{packets:?}");
    assert!(broker.wait_for_log("its queue stayed full", TIMEOUT));
    // The publisher carries on.
    publisher.publish_complete(&Publish::new("t", b"after").qos(1, 21));
    broker.assert_alive();
}
