//! SIGHUP as a user (or logrotate) sends it: the configuration file read again and applied,
//! the log file reopened, and a file that no longer parses leaving the broker as it was.

mod common;

use std::process::Command;

use common::conf::{ConfDir, free_port};
use common::{Broker, Client, Publish, TIMEOUT, exchange_qos1};

fn start(file: &str) -> Broker {
    Broker::start_exactly(&["-c", file], &[])
}

fn config(port: u16, extra: &str) -> String {
    format!("listener {port} 127.0.0.1\nallow_anonymous true\n{extra}")
}

#[test]
fn sighup_reopens_the_log_file_that_logrotate_moved() {
    let dir = ConfDir::new();
    let port = free_port();
    let log = dir.path("broker.log");
    let file = dir.write(
        "minibroker.conf",
        // `user root`: started as root, the broker would otherwise run as mosquitto's default
        // user, who may not create files in this root-owned directory (under systemd the
        // log directory belongs to the service's user).
        &config(
            port,
            &format!("log_dest file {log}\nlog_dest stderr\nuser root\n"),
        ),
    );
    let broker = start(&file);
    Client::connect(broker.addr(), "before-rotation").disconnect();
    // What logrotate does: move the file away, then send SIGHUP.
    std::fs::rename(&log, dir.path("broker.log.1")).unwrap();
    broker.reload("Configuration reloaded.", 1);
    Client::connect(broker.addr(), "after-rotation").disconnect();
    assert!(broker.wait_for_log("Client after-rotation disconnected.", TIMEOUT));
    let old = std::fs::read_to_string(dir.path("broker.log.1")).unwrap();
    let new = std::fs::read_to_string(&log).unwrap();
    assert!(
        old.contains("as before-rotation") && !old.contains("after-rotation"),
        "{old}"
    );
    assert!(new.contains("Client after-rotation disconnected."), "{new}");
    assert!(!new.contains("before-rotation"), "{new}");
}

/// The broker's inbound limit, `max_packet_size`, is read from the file again on SIGHUP and
/// holds from the next packet on (mosquitto ignores it on reload; its man page says it
/// reloads).
#[test]
fn sighup_applies_a_new_packet_size_limit() {
    let dir = ConfDir::new();
    let port = free_port();
    let file = dir.write("minibroker.conf", &config(port, "max_packet_size 1000\n"));
    let broker = start(&file);
    let big = Publish::new("reload/big", &[b'x'; 2000]).qos(1, 1);
    let mut refused = Client::connect(broker.addr(), "too-big");
    refused.publish(&big);
    refused.expect_closed(TIMEOUT);

    dir.write("minibroker.conf", &config(port, "max_packet_size 100000\n"));
    broker.reload("Configuration reloaded.", 1);
    let mut accepted = Client::connect(broker.addr(), "now-fits");
    accepted.publish_complete(&big);
}

#[test]
fn a_file_broken_on_sighup_keeps_the_running_configuration() {
    let dir = ConfDir::new();
    let port = free_port();
    let file = dir.write("minibroker.conf", &config(port, "max_packet_size 1000\n"));
    let mut broker = start(&file);
    dir.write(
        "minibroker.conf",
        &config(port, "max_packet_size 100000\nno_such_option 1\n"),
    );
    broker.reload("Configuration not reloaded", 1);
    let logs = broker.logs().join("\n");
    // The one-line error names the file and the line.
    assert!(logs.contains(&format!("{file}:4")), "{logs}");
    exchange_qos1(broker.addr(), "still-serving", 20);
    // The old limit still holds.
    let mut refused = Client::connect(broker.addr(), "still-too-big");
    refused.publish(&Publish::new("reload/big", &[b'x'; 2000]).qos(1, 1));
    refused.expect_closed(TIMEOUT);
    broker.assert_alive();
}

#[test]
fn connection_messages_false_after_sighup_hides_connect_lines() {
    let dir = ConfDir::new();
    let port = free_port();
    let file = dir.write("minibroker.conf", &config(port, ""));
    let broker = start(&file);
    Client::connect(broker.addr(), "shown-client").disconnect();
    assert!(broker.wait_for_log("Client shown-client disconnected.", TIMEOUT));
    dir.write(
        "minibroker.conf",
        &config(port, "connection_messages false\n"),
    );
    broker.reload("Configuration reloaded.", 1);
    // `disconnect` returns once the broker has closed the connection, after it logged (or
    // would have logged) the connect and the disconnect.
    Client::connect(broker.addr(), "hidden-client").disconnect();
    let logs = broker.logs().join("\n");
    assert!(!logs.contains("hidden-client"), "{logs}");
}

/// `log_dest topic`: the broker's log lines are published on `$SYS/broker/log/<type>`, as
/// mosquitto publishes them; a connect line is a notice (`N`).
#[test]
fn log_dest_topic_publishes_the_log_on_sys_topics() {
    let dir = ConfDir::new();
    let port = free_port();
    let file = dir.write(
        "minibroker.conf",
        &config(port, "log_dest topic\nlog_dest stderr\n"),
    );
    let broker = start(&file);
    let mut watcher = Client::connect(broker.addr(), "log-watcher");
    assert_eq!(watcher.subscribe(1, &[("$SYS/broker/log/#", 0)]), [0]);
    Client::connect(broker.addr(), "logged-client-42").disconnect();
    let mut seen = Vec::new();
    let line = loop {
        let publish = watcher.expect_publish();
        seen.push(publish.topic.clone());
        if publish.payload_str().contains("as logged-client-42") {
            break publish;
        }
        assert!(seen.len() < 50, "no connect line among {seen:?}");
    };
    assert_eq!(line.topic, "$SYS/broker/log/N");
    assert!(
        line.payload_str()
            .contains("New client connected from 127.0.0.1:")
    );
}

/// SIGUSR2 writes the subscription table to the log, as mosquitto prints its subscription tree.
#[test]
fn sigusr2_logs_the_subscriptions() {
    let dir = ConfDir::new();
    let port = free_port();
    let file = dir.write("minibroker.conf", &config(port, ""));
    let broker = start(&file);
    let mut client = Client::connect(broker.addr(), "dump-me");
    assert_eq!(client.subscribe(1, &[("Ergeschoss/+/Temp", 1)]), [1]);
    let status = Command::new("kill")
        .args(["-USR2", &broker.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    assert!(
        broker.wait_for_log("dump-me Ergeschoss/+/Temp qos 1", TIMEOUT),
        "{:#?}",
        broker.logs()
    );
}
