//! `$SYS/broker/...` over real sockets, against the binary started with a configuration file:
//! mosquitto's topics and formats, retained, updated every `sys_interval`, off at 0.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::conf::{ConfDir, free_port};
use common::{Broker, Client, Filter, Publish, TIMEOUT};

fn start(sys_interval: u16) -> (Broker, ConfDir) {
    let dir = ConfDir::new();
    let port = free_port();
    let conf =
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nsys_interval {sys_interval}\n");
    let file = dir.write("sys.conf", &conf);
    (Broker::start_exactly(&["-c", &file, "-v"], &[]), dir)
}

/// Reads `$SYS` messages until `done` holds of what arrived (topic → latest payload and
/// retain flag), or fails after `timeout`.
fn collect(
    client: &mut Client,
    timeout: Duration,
    done: impl Fn(&HashMap<String, (String, bool)>) -> bool,
) -> HashMap<String, (String, bool)> {
    let deadline = Instant::now() + timeout;
    let mut seen = HashMap::new();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "$SYS so far: {seen:?}");
        let message = client.expect_publish_within(left);
        seen.insert(
            message.topic.clone(),
            (message.payload_str(), message.retain),
        );
    }
    seen
}

#[test]
fn the_tree_has_mosquittos_topics_retained_for_late_subscribers() {
    let (broker, _dir) = start(1);
    let mut publisher = Client::connect(broker.addr(), "sensor");
    publisher.publish_complete(&Publish::new("Erdgeschoss/Wohnzimmer/Temp", b"21.5").retain());
    // Subscribed after the first interval: everything arrives as retained messages.
    std::thread::sleep(Duration::from_millis(1500));
    let mut dashboard = Client::connect(broker.addr(), "dashboard");
    dashboard.subscribe(1, &[("$SYS/broker/#", 0)]);
    let wanted = [
        "$SYS/broker/version",
        "$SYS/broker/uptime",
        "$SYS/broker/clients/connected",
        "$SYS/broker/clients/total",
        "$SYS/broker/messages/received",
        "$SYS/broker/publish/messages/received",
        "$SYS/broker/bytes/received",
        "$SYS/broker/subscriptions/count",
        "$SYS/broker/retained messages/count",
        "$SYS/broker/store/messages/count",
        "$SYS/broker/heap/current",
        "$SYS/broker/load/messages/received/1min",
        "$SYS/broker/load/connections/15min",
    ];
    let seen = collect(&mut dashboard, TIMEOUT, |seen| {
        wanted.iter().all(|topic| seen.contains_key(*topic))
    });
    let value = |topic: &str| seen[topic].0.clone();
    assert!(
        wanted.iter().all(|t| seen[*t].1),
        "[MQTT-3.3.1-8] all retained: {seen:?}"
    );
    assert_eq!(
        value("$SYS/broker/version"),
        format!("minibroker version {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(value("$SYS/broker/uptime").ends_with(" seconds"));
    assert_eq!(value("$SYS/broker/publish/messages/received"), "1");
    // The sensor's retained message and the `$SYS` values themselves, as mosquitto counts.
    let retained: u64 = value("$SYS/broker/retained messages/count")
        .parse()
        .expect("a number");
    assert!(retained > wanted.len() as u64, "{retained}");
    let load = value("$SYS/broker/load/connections/15min");
    assert!(
        load.parse::<f64>().is_ok() && load.contains('.'),
        "%.2f: {load}"
    );
    assert!(
        value("$SYS/broker/heap/current")
            .parse::<u64>()
            .expect("a number")
            > 0
    );
}

#[test]
fn values_are_updated_every_interval() {
    let (broker, _dir) = start(1);
    let mut watcher = Client::connect(broker.addr(), "watcher");
    watcher.subscribe(
        1,
        &[
            ("$SYS/broker/clients/connected", 0),
            ("$SYS/broker/uptime", 0),
        ],
    );
    collect(&mut watcher, TIMEOUT, |seen| {
        seen.get("$SYS/broker/clients/connected")
            .is_some_and(|v| v.0 == "1")
    });
    let _second = Client::connect(broker.addr(), "second");
    collect(&mut watcher, TIMEOUT, |seen| {
        seen.get("$SYS/broker/clients/connected")
            .is_some_and(|v| v.0 == "2")
            && seen.contains_key("$SYS/broker/uptime")
    });
}

#[test]
fn sys_interval_0_turns_the_tree_off() {
    let (broker, _dir) = start(0);
    let mut client = Client::connect(broker.addr(), "nothing");
    client.subscribe(1, &[("$SYS/broker/#", 0)]);
    client.expect_no_packet(Duration::from_millis(1500));
}

#[test]
fn a_wildcard_at_the_first_level_does_not_match_sys() {
    let (broker, _dir) = start(1);
    let mut everything = Client::connect(broker.addr(), "everything");
    // [MQTT-4.7.2-1] `#` and `+/...` do not match topics beginning with `$`.
    everything.subscribe(1, &[("#", 0), ("+/broker/uptime", 0)]);
    everything.expect_no_packet(Duration::from_millis(1500));
}

#[test]
fn the_values_carry_no_expiry() {
    // mosquitto 2.0.11 gives them a 60-second message expiry; here they last.
    let (broker, _dir) = start(1);
    let mut client = Client::connect_v5(broker.addr(), "v5");
    client.subscribe_v5(1, &[Filter::new("$SYS/broker/version", 0)], None);
    let message = client.expect_publish_v5();
    assert_eq!(message.props.message_expiry(), None);
}
