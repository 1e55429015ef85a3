//! Running as a service: `-d` into the background with a pid file, and the drop from root to
//! the configured user once the listeners are bound (skipped when the tests do not run as
//! root).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::conf::{ConfDir, free_port};
use common::{Broker, Client, exchange_qos1};

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    uid_of(&status) == Some(0)
}

/// The real user id in a /proc/PID/status text.
fn uid_of(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn uid_of_process(pid: u32) -> Option<u32> {
    uid_of(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn daemon_mode_writes_the_pid_file_serves_and_removes_it_on_sigterm() {
    let dir = ConfDir::new();
    let port = free_port();
    let pid_path = dir.path("minibroker.pid");
    // `user root`: the pid file's directory belongs to root, who must remove the file again.
    let file = dir.write(
        "minibroker.conf",
        &format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npid_file {pid_path}\nuser root\n\
             log_dest file {}\n",
            dir.path("broker.log")
        ),
    );
    let started = Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(["-d", "-c", &file])
        .env_remove("RUST_LOG")
        .output()
        .expect("run minibroker -d");
    // The command returns at once; the broker goes on in the background.
    assert!(started.status.success(), "{started:?}");
    wait_until("the pid file", || std::path::Path::new(&pid_path).exists());
    let pid: u32 = {
        let mut text = String::new();
        wait_until("a pid in the pid file", || {
            text = std::fs::read_to_string(&pid_path).unwrap_or_default();
            text.ends_with('\n')
        });
        text.trim().parse().expect("a pid")
    };
    exchange_qos1(([127, 0, 0, 1], port).into(), "daemon", 10);
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(killed.expect("kill").success());
    wait_until("the pid file's removal", || {
        !std::path::Path::new(&pid_path).exists()
    });
    let log = std::fs::read_to_string(dir.path("broker.log")).unwrap();
    assert!(
        log.contains(&format!("listening on 127.0.0.1:{port}")),
        "{log}"
    );
}

/// A configuration with one loopback listener open to anonymous clients, plus `extra`; `None`
/// (and a note) when the tests do not run as root and so cannot drop privileges.
fn root_only_config(extra: &str) -> Option<(ConfDir, String)> {
    if !is_root() {
        eprintln!("skipped: needs root to drop privileges");
        return None;
    }
    let dir = ConfDir::new();
    let port = free_port();
    let text = format!("listener {port} 127.0.0.1\nallow_anonymous true\n{extra}");
    let file = dir.write("minibroker.conf", &text);
    Some((dir, file))
}

#[test]
fn a_user_line_drops_root_to_that_user_after_binding() {
    let Some((_dir, file)) = root_only_config("user nobody\n") else {
        return;
    };
    let mut broker = Broker::start_exactly(&["-c", &file], &[]);
    // nobody is 65534 on Debian.
    assert_eq!(uid_of_process(broker.pid()), Some(65534));
    exchange_qos1(broker.addr(), "as-nobody", 10);
    broker.assert_alive();
}

#[test]
fn without_a_user_line_root_becomes_mosquittos_default_user() {
    let Some((_dir, file)) = root_only_config("") else {
        return;
    };
    let broker = Broker::start_exactly(&["-c", &file], &[]);
    // `mosquitto` where Debian's package created it, else `nobody`; never root.
    let uid = uid_of_process(broker.pid()).expect("uid");
    assert_ne!(uid, 0);
    Client::connect(broker.addr(), "default-user").disconnect();
}

#[test]
fn a_user_that_does_not_exist_is_a_clear_error() {
    let Some((_dir, file)) = root_only_config("user no-such-user-4711\n") else {
        return;
    };
    let output = Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(["-c", &file])
        .env_remove("RUST_LOG")
        .output()
        .expect("run minibroker");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "Unable to drop privileges to 'no-such-user-4711' because this user does not exist."
        ),
        "{stderr}"
    );
}
