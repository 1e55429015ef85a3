//! `publish_rate_limit` and `publish_byte_rate_limit` on the real broker: a client sending
//! faster than its rate is slowed (not read), nothing it sent is lost, and a client within its
//! rate on the same broker is not held up behind it.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::conf::{ConfDir, free_port};
use common::{Broker, Client, Publish, TIMEOUT};

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn start(dir: &ConfDir, port: u16, limits: &str) -> Broker {
    let conf = format!("listener {port} 127.0.0.1\nallow_anonymous true\n{limits}");
    let file = dir.write("mosquitto.conf", &conf);
    Broker::start_exactly(&["-c", &file], &[])
}

/// Sends `count` QoS 0 messages in one write, as a runaway sensor would.
fn burst(client: &mut Client, topic: &str, count: usize, size: usize) {
    let mut bytes = Vec::new();
    for i in 0..count {
        let mut payload = format!("{i:06}").into_bytes();
        payload.resize(size.max(6), b'.');
        bytes.extend(Publish::new(topic, &payload).encode());
    }
    client.send(&bytes);
}

/// A sensor sends `count` messages of `size` bytes at once under `limits`; a dashboard gets
/// every one, in order, and the last no sooner than `at_least` after the burst began.
fn slowed_and_nothing_lost(limits: &str, count: usize, size: usize, at_least: Duration) {
    let dir = ConfDir::new();
    let port = free_port();
    let _broker = start(&dir, port, limits);
    let mut dashboard = Client::connect(loopback(port), "dashboard");
    dashboard.subscribe(1, &[("Ergeschoss/#", 0)]);
    let mut sensor = Client::connect(loopback(port), "runaway");
    let started = Instant::now();
    burst(&mut sensor, "Ergeschoss/Wohnzimmer/Temp", count, size);
    for i in 0..count {
        let message = dashboard.expect_publish_within(Duration::from_secs(30));
        assert_eq!(&message.payload[..6], format!("{i:06}").as_bytes());
    }
    // A slow machine only makes it take longer.
    let took = started.elapsed();
    assert!(took >= at_least, "{took:?}");
}

#[test]
fn a_sensor_over_its_message_rate_is_slowed_and_loses_nothing() {
    // 20 at once and the one that goes over, then 39 more at 20 a second: almost two seconds.
    slowed_and_nothing_lost(
        "publish_rate_limit 20 20\n",
        60,
        8,
        Duration::from_millis(1800),
    );
}

#[test]
fn a_sensor_over_its_byte_rate_is_slowed_by_its_payload_size() {
    // 50 KB against 20 KB of burst at 20 KB a second: the third message goes over and is
    // taken, then each later one waits half a second for the bucket to refill.
    let limits = "publish_byte_rate_limit 20000 20000\n";
    slowed_and_nothing_lost(limits, 5, 10_000, Duration::from_millis(950));
}

#[test]
fn sys_counts_the_holds() {
    let dir = ConfDir::new();
    let port = free_port();
    let _broker = start(&dir, port, "publish_rate_limit 5 5\nsys_interval 1\n");
    let mut sensor = Client::connect(loopback(port), "runaway");
    burst(&mut sensor, "t", 20, 8);
    let mut watcher = Client::connect(loopback(port), "watcher");
    watcher.subscribe(1, &[("$SYS/broker/clients/slowed", 0)]);
    // Retained, then updated every second: it reaches 1 or more once the burst went over.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let message = watcher.expect_publish_within(Duration::from_secs(30));
        let holds: u64 = String::from_utf8_lossy(&message.payload)
            .parse()
            .unwrap_or(0);
        if holds > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no hold counted");
    }
}

#[test]
fn a_sensor_within_its_rate_is_not_held_up_by_a_runaway_one() {
    let dir = ConfDir::new();
    let port = free_port();
    let _broker = start(&dir, port, "publish_rate_limit 10 10\n");
    let mut dashboard = Client::connect(loopback(port), "dashboard");
    dashboard.subscribe(1, &[("#", 0)]);
    let mut runaway = Client::connect(loopback(port), "runaway");
    let mut calm = Client::connect(loopback(port), "calm");
    // The runaway's 100 messages take ten seconds to be let through.
    burst(&mut runaway, "runaway", 100, 8);
    std::thread::sleep(Duration::from_millis(200));
    burst(&mut calm, "calm", 1, 8);
    // The calm sensor's message arrives while the runaway is still being held back.
    let mut runaway_seen = 0;
    loop {
        let message = dashboard.expect_publish_within(TIMEOUT);
        if message.topic == "calm" {
            break;
        }
        runaway_seen += 1;
    }
    assert!(
        runaway_seen < 90,
        "{runaway_seen} runaway messages came first"
    );
}
