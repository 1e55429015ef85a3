//! `minibroker -c FILE` as a user runs it: configuration files written to a temporary
//! directory, listeners on free loopback ports serving MQTT, Debian's stock file with a
//! conf.d, and every kind of configuration error exiting with status 3 and one line naming
//! the file and line.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::Duration;

use common::conf::{ConfDir, free_port};
use common::{Broker, Client, Publish, exchange_qos1};

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run minibroker")
}

fn start(file: &str) -> Broker {
    Broker::start_exactly(&["-c", file, "-v"], &[])
}

#[test]
fn two_listeners_serve_at_once_and_share_one_broker() {
    let dir = ConfDir::new();
    let (a, b) = (free_port(), free_port());
    let file = dir.write(
        "mosquitto.conf",
        &format!(
            "# two listeners\nlistener {a} 127.0.0.1\nlistener {b} 127.0.0.1\nallow_anonymous true\n"
        ),
    );
    let mut broker = start(&file);
    assert!(
        broker.wait_for_log(
            &format!("listening on 127.0.0.1:{b}"),
            Duration::from_secs(10)
        ),
        "{:?}",
        broker.logs()
    );
    exchange_qos1(loopback(a), "first", 20);
    exchange_qos1(loopback(b), "second", 20);
    // A message published on one listener reaches a subscriber on the other.
    let mut subscriber = Client::connect(loopback(a), "across-sub");
    assert_eq!(subscriber.subscribe(1, &[("across/#", 1)]), [1]);
    let mut publisher = Client::connect(loopback(b), "across-pub");
    publisher.publish(&Publish::new("across/x", b"hello").qos(1, 1));
    publisher.expect_puback(1);
    assert_eq!(subscriber.receive().payload_str(), "hello");
    broker.assert_alive();
    let logs = broker.logs().join("\n");
    assert!(
        logs.contains(&format!("Config loaded from {file}.")),
        "{logs}"
    );
}

#[test]
fn debian_stock_file_with_a_listener_in_conf_d() {
    let dir = ConfDir::new();
    let port = free_port();
    // Debian's file, with its paths moved into the temporary directory.
    let main = dir.write(
        "mosquitto.conf",
        &format!(
            "# Place your local configuration in /etc/mosquitto/conf.d/\n\
             #\n\
             # A full description of the configuration file is at\n\
             # /usr/share/doc/mosquitto/examples/mosquitto.conf.example\n\
             \n\
             pid_file {run}/mosquitto.pid\n\
             \n\
             persistence true\n\
             persistence_location {lib}/\n\
             \n\
             log_dest file {log}/mosquitto.log\n\
             \n\
             include_dir {confd}\n",
            run = dir.path("run"),
            lib = dir.path("lib"),
            log = dir.path("log"),
            confd = dir.path("conf.d"),
        ),
    );
    let local = dir.write(
        "conf.d/local.conf",
        // log_dest accumulates: the stock file's log file, and stderr for the test to read.
        &format!("listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\n"),
    );
    dir.write("conf.d/README", "not a .conf file\n");
    std::fs::create_dir_all(dir.path("log")).unwrap();
    // What Debian's unit creates before mosquitto starts.
    std::fs::create_dir_all(dir.path("run")).unwrap();
    // What Debian's package creates, owned by the user the broker drops to.
    dir.store_dir("lib");
    let mut broker = start(&main);
    assert_eq!(broker.addr(), loopback(port));
    exchange_qos1(broker.addr(), "debian", 20);
    broker.assert_alive();
    let logs = broker.logs().join("\n");
    assert!(
        logs.contains(&format!("Loading config file {local}")),
        "{logs}"
    );
    assert!(!logs.contains("not supported yet"), "{logs}");
    // Persistence is on, in the stock file's location, under minibroker's own file name.
    assert!(std::path::Path::new(&dir.path("lib/minibroker.db")).exists());
    // The log file gets the same lines as stderr.
    let file = std::fs::read_to_string(dir.path("log/mosquitto.log")).unwrap();
    assert!(file.contains("listening on 127.0.0.1:"), "{file}");
    assert!(file.contains("as debian-pub"), "{file}");
    // The pid file is there while the broker runs.
    let pid = std::fs::read_to_string(dir.path("run/mosquitto.pid")).unwrap();
    assert_eq!(pid.trim(), broker.pid().to_string());
}

#[test]
fn no_listener_line_is_local_only_on_the_p_port() {
    let dir = ConfDir::new();
    let port = free_port();
    let file = dir.write("mosquitto.conf", "max_queued_messages 100\n");
    let mut broker = Broker::start_exactly(&["-c", &file, "-p", &port.to_string()], &[]);
    assert_eq!(broker.addr(), loopback(port));
    exchange_qos1(broker.addr(), "local-only", 10);
    let logs = broker.logs().join("\n");
    assert!(logs.contains("Starting in local only mode"), "{logs}");
    broker.assert_alive();
}

#[test]
fn listener_options_are_applied_to_the_socket() {
    let dir = ConfDir::new();
    let port = free_port();
    // socket_domain ipv4 leaves the IPv4 wildcard only; bind_interface ties it to lo.
    let file = dir.write(
        "mosquitto.conf",
        &format!("listener {port}\nsocket_domain ipv4\nbind_interface lo\nallow_anonymous true\n"),
    );
    let output = format!("listening on 0.0.0.0:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(["-c", &file])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut log = String::new();
    let mut line = String::new();
    use std::io::BufRead;
    while stderr.read_line(&mut line).expect("read") > 0 {
        log.push_str(&line);
        if line.contains(&output) || line.contains("cannot listen") {
            break;
        }
        line.clear();
    }
    if log.contains("Operation not permitted") {
        // An older kernel wants CAP_NET_RAW for SO_BINDTODEVICE; nothing to check here.
        let _ = child.kill();
        let _ = child.wait();
        return;
    }
    assert!(log.contains(&output), "{log}");
    assert!(!log.contains("[::]"), "{log}");
    exchange_qos1(loopback(port), "interface", 10);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn listener_flags_cannot_be_combined_with_a_file() {
    let dir = ConfDir::new();
    let file = dir.write("mosquitto.conf", "listener 1883\n");
    let output = run(&["-c", &file, "-b", "127.0.0.1"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "minibroker: -b: cannot be combined with -c: the configuration file says where to listen\n"
    );
}

/// (file contents, the message after `FILE:LINE: `, the line).
const ERRORS: &[(&str, &str, u32)] = &[
    (
        "frobnicate 1\n",
        "Unknown configuration variable \"frobnicate\".",
        1,
    ),
    (
        "\tport 1883\n",
        "Unknown configuration variable \"\\tport\".",
        1,
    ),
    (
        "  # indented comment\n",
        "Unknown configuration variable \"#\".",
        1,
    ),
    (
        "# ok\nmax_inflight_messages abc\n",
        "Invalid max_inflight_messages value (abc).",
        2,
    ),
    (
        "allow_anonymous yes\n",
        "Invalid allow_anonymous value (yes).",
        1,
    ),
    (
        "listener 1883\n\npassword_file\n",
        "Empty password_file value in configuration.",
        3,
    ),
    (
        "pid_file /a\npid_file /b\n",
        "Duplicate pid_file value in configuration.",
        2,
    ),
    (
        "listener 1883\nrequire_certificate true\n",
        "require_certificate true is not supported: native-tls cannot ask clients for certificates.",
        2,
    ),
    (
        "allow_anonymous true\nper_listener_settings true\n",
        "per_listener_settings must be set before any other security settings.",
        2,
    ),
];

#[test]
fn every_error_exits_3_with_one_line_naming_file_and_line() {
    let dir = ConfDir::new();
    for (i, (contents, message, line)) in ERRORS.iter().enumerate() {
        let file = dir.write(&format!("bad{i}.conf"), contents);
        let output = run(&["-c", &file]);
        assert_eq!(output.status.code(), Some(3), "{contents:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("minibroker: {file}:{line}: {message}\n"),
            "{contents:?}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn a_missing_include_dir_and_an_error_in_an_included_file_exit_3() {
    let dir = ConfDir::new();
    let missing = dir.path("nowhere");
    let main = dir.write("main.conf", &format!("# main\ninclude_dir {missing}\n"));
    let output = run(&["-c", &main]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "minibroker: {main}:2: Unable to open include_dir '{missing}' (No such file or \
             directory).\n"
        )
    );
    let confd = dir.path("conf.d");
    let main = dir.write("main2.conf", &format!("include_dir {confd}\n"));
    let bad = dir.write("conf.d/bad.conf", "listener 1883\nmax_qos 3\n");
    let output = run(&["-c", &main]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "minibroker: {bad}:2: Invalid max_qos value (3): must be 0, 1 or 2. (included from \
             {main}:1)\n"
        )
    );
}

#[test]
fn an_unreadable_file_exits_3_naming_it() {
    let dir = ConfDir::new();
    let missing = dir.path("missing.conf");
    let output = run(&["-c", &missing]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("minibroker: {missing}: Unable to open config file (No such file or directory).\n")
    );
    // A directory named like a configuration file, in include_dir.
    let confd = dir.path("conf.d");
    std::fs::create_dir_all(dir.path("conf.d/x.conf")).expect("dir");
    let main = dir.write("main.conf", &format!("include_dir {confd}\n"));
    let output = run(&["-c", &main]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!(
            "minibroker: {confd}/x.conf: Unable to open config file (Is a directory). (included \
             from {main}:1)\n"
        )
    );
}

#[test]
fn nothing_is_bound_before_the_whole_configuration_is_read() {
    let dir = ConfDir::new();
    let port = free_port();
    // The listener comes first; the error on the last line still stops the start.
    let file = dir.write(
        "mosquitto.conf",
        &format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_keepalive forever\n"),
    );
    let output = run(&["-c", &file]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
}
