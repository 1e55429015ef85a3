//! Shared by the socket tests: a broker process on an ephemeral port, a raw client with its own
//! hand-written encoding, and the checks every hostile test ends with.
// Each test file compiles this module on its own and uses a different part of it.
#![allow(dead_code, unused_imports)]

pub mod bridging;
pub mod broker;
pub mod client;
pub mod client_v5;
pub mod conf;
pub mod embedded;
pub mod healthy;
pub mod hostile;
pub mod memory;
pub mod props_v5;
#[cfg(feature = "tls")]
pub mod tls;
pub mod wire;
pub mod wire_v5;
#[cfg(feature = "websockets")]
pub mod ws;

use std::net::SocketAddr;
use std::time::Duration;

pub use broker::Broker;
pub use client::{Client, TIMEOUT};
pub use wire::{Connect, Packet, Publish};
pub use wire_v5::{ConnectV5, Filter, PacketV5, Prop, Props, PublishV5};

/// A packet identifier for the `i`-th message of a sequence: never 0 [MQTT-2.3.1-1].
pub fn pid(i: usize) -> u16 {
    (i % 65_535) as u16 + 1
}

/// A well-behaved subscriber and publisher exchange `count` QoS 1 messages on their own topic;
/// panics on any loss, duplicate or reordering. Messages go in batches of 5 so neither the
/// in-flight window nor the queue of the smallest broker limits used here (2 + 5) is ever hit.
pub fn exchange_qos1(addr: SocketAddr, tag: &str, count: usize) {
    let topic = format!("healthy/{tag}");
    let mut subscriber = Client::connect(addr, &format!("{tag}-sub"));
    assert_eq!(subscriber.subscribe(1, &[(&topic, 1)]), [1]);
    let mut publisher = Client::connect(addr, &format!("{tag}-pub"));
    let mut next = 0;
    while next < count {
        let end = (next + 5).min(count);
        for i in next..end {
            publisher
                .publish(&Publish::new(&topic, format!("{tag} {i}").as_bytes()).qos(1, pid(i)));
        }
        for i in next..end {
            publisher.expect_puback(pid(i));
        }
        for i in next..end {
            let got = subscriber.receive();
            assert_eq!(got.payload_str(), format!("{tag} {i}"), "healthy exchange");
            assert_eq!(got.qos, 1);
        }
        next = end;
    }
    subscriber.disconnect();
    publisher.disconnect();
}

/// The end of every hostile test: other clients are served and the broker did not die.
pub fn assert_broker_healthy(broker: &mut Broker, tag: &str) {
    exchange_qos1(broker.addr(), tag, 100);
    broker.assert_alive();
}

/// Reads the soft and hard open-file limits of this process from /proc.
pub fn open_file_limits() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok());
    Some((numbers.next()?, numbers.next()?))
}

/// Raises the soft open-file limit of this process towards `wanted` (never above the hard
/// limit), using the `prlimit` tool so the tests need no `unsafe` or libc binding. A broker
/// started afterwards inherits the new limit. Returns the soft limit in effect.
pub fn raise_open_file_limit(wanted: u64) -> u64 {
    let Some((soft, hard)) = open_file_limits() else {
        return 1024;
    };
    if soft >= wanted {
        return soft;
    }
    let _ = std::process::Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={}:", wanted.min(hard)))
        .status();
    open_file_limits().map_or(soft, |(soft, _)| soft)
}

/// Short pause used only where a test must let time pass (keepalive, timeouts).
pub fn sleep(duration: Duration) {
    std::thread::sleep(duration);
}
