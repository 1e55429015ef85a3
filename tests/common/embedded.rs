//! An embedded broker for the embedding tests: built in-process, run on its own thread.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use minibroker::embed::{QoS, Stats, Subscription};
use minibroker::{BrokerBuilder, BrokerHandle};

use super::TIMEOUT;

/// A broker on an ephemeral loopback port; without `$SYS`, whose retained messages and
/// publications would be counted in the statistics these tests check.
pub fn broker() -> BrokerHandle {
    BrokerBuilder::new()
        .listen("127.0.0.1:0".parse().expect("addr"))
        .configure(|config| config.sys_interval = 0)
        .build()
        .expect("bind")
        .spawn()
}

/// The broker's first TCP address.
pub fn addr(handle: &BrokerHandle) -> SocketAddr {
    handle.local_addrs()[0]
}

/// Waits until `check` holds of the broker's statistics.
pub fn wait_stats(handle: &BrokerHandle, what: &str, check: impl Fn(&Stats) -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let stats = handle.stats().expect("stats");
        if check(&stats) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {stats:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A subscription of the host program, made and confirmed by its SUBACK.
pub fn subscribed(handle: &BrokerHandle, filter: &str, qos: QoS) -> Subscription {
    let subscription = handle.subscribe(filter, qos).expect("subscribe");
    subscription.wait_ready(TIMEOUT).expect("subscribed");
    subscription
}
