//! The `minibroker` binary's command line, run as a user would: help, version, and the one-line
//! errors with their exit statuses. None of these needs a running broker.

use std::net::TcpListener;
use std::process::{Command, Output};

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
