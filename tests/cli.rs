//! The `minibroker` binary's command line, run as a user would: help, version, and the one-line
//! errors with their exit statuses, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn minibroker(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run minibroker")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_the_options() {
    for flag in ["-h", "--help"] {
        let output = minibroker(&[flag]);
        assert_eq!(output.status.code(), Some(0));
        let text = stdout(&output);
        assert!(text.contains("Usage: minibroker [options]"), "{text}");
        for option in [
            "--config-file",
            "--port",
            "--bind",
            "--max-inflight",
            "--queue-full",
            "--version",
        ] {
            assert!(text.contains(option), "{option} missing from:\n{text}");
        }
        assert_eq!(stderr(&output), "");
    }
}

#[test]
fn version_is_one_line() {
    let output = minibroker(&["-V"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        format!("minibroker {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_option_is_a_usage_error() {
    let output = minibroker(&["--frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "minibroker: --frobnicate: unknown option\n"
    );
    assert_eq!(stdout(&output), "");
}

#[test]
fn bad_value_is_a_usage_error() {
    let output = minibroker(&["-p", "http"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "minibroker: -p: expected a whole number from 0 to 65535, not 'http'\n"
    );
}

#[test]
fn port_in_use_is_one_line_naming_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let output = minibroker(&["-b", "127.0.0.1", "-p", &port.to_string()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!("minibroker: cannot listen on 127.0.0.1:{port}: Address already in use\n")
    );
}

#[test]
fn unusable_address_is_one_line() {
    // TEST-NET-1 is never assigned to a local interface.
    let output = minibroker(&["-b", "192.0.2.1", "-p", "0"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.starts_with("minibroker: cannot listen on 192.0.2.1:0: "),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

/// Starts the broker on a free loopback port and returns it with the port it logged.
fn start_on_loopback() -> (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    u16,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(["-b", "127.0.0.1", "-p", "0"])
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start minibroker");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("first log line");
    let (stamp, message) = line.trim_end().split_once(": ").expect("timestamped line");
    assert!(stamp.parse::<u64>().is_ok(), "{line}");
    let addr = message
        .strip_prefix("listening on ")
        .expect("listening line");
    let port = addr
        .rsplit_once(':')
        .expect("port")
        .1
        .parse()
        .expect("number");
    (child, stderr, port)
}

#[test]
fn sigterm_closes_connections_and_exits_zero() {
    let (mut child, mut stderr, port) = start_on_loopback();
    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    // The broker closes the connection on its way out: the client reads end of stream.
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [0; 16];
    assert_eq!(client.read(&mut buf).expect("read"), 0);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("log");
    assert!(rest.contains("SIGTERM received, shutting down"), "{rest}");
}
