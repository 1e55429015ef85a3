//! Tests of command-line parsing: defaults, every option, and the one-line errors.

use super::*;
use crate::config::ListenerKind;
#[cfg(feature = "tls")]
use crate::config::TlsIdentity;
use std::net::{Ipv4Addr, Ipv6Addr};

fn run(args: &[&str]) -> RunSettings {
    match parse(args) {
        Ok(Command::Run(settings)) => *settings,
        other => panic!("expected a run, got {other:?}"),
    }
}

/// The addresses of one kind of listener the command line asks for.
fn addrs(args: &[&str], kind: ListenerKind) -> Vec<SocketAddr> {
    run(args)
        .config
        .listeners
        .iter()
        .filter(|l| l.kind == kind)
        .map(|l| l.addr)
        .collect()
}

fn plain(args: &[&str]) -> Vec<SocketAddr> {
    addrs(args, ListenerKind::Plain)
}

fn error(args: &[&str]) -> String {
    match parse(args) {
        Err(e) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn no_options_means_the_default_config() {
    let settings = run(&[]);
    assert_eq!(settings.config, Config::default());
    assert_eq!(settings.log_level, None);
}

#[test]
fn port_applies_to_all_addresses() {
    assert_eq!(plain(&["-p", "1884"]), Config::all_addresses(1884));
    assert_eq!(plain(&["--port=0"]), Config::all_addresses(0));
}

#[test]
fn bind_takes_ipv4_bare_or_bracketed_ipv6_and_repeats() {
    let listeners = plain(&[
        "-b",
        "127.0.0.1",
        "--bind",
        "::1",
        "-b",
        "[fe80::1]",
        "-p",
        "7",
    ]);
    assert_eq!(
        listeners,
        vec![
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 7),
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 7),
            SocketAddr::new("fe80::1".parse::<Ipv6Addr>().expect("ip").into(), 7),
        ]
    );
}

#[test]
fn bind_with_its_own_port() {
    let listeners = plain(&["-b", "127.0.0.1:9000", "-b", "[::1]:9001"]);
    assert_eq!(listeners[0].port(), 9000);
    assert_eq!(listeners[1].port(), 9001);
}

#[test]
fn limits_fill_the_config() {
    let config = run(&[
        "--max-inflight",
        "5",
        "--max-queued",
        "100",
        "--max-queued-bytes",
        "65536",
        "--max-packet-size",
        "1024",
        "--connect-timeout",
        "2.5",
        "--queue-full",
        "drop-oldest",
    ])
    .config;
    assert_eq!(config.max_inflight_messages, 5);
    assert_eq!(config.max_queued_messages, 100);
    assert_eq!(config.max_queued_bytes, 65536);
    assert_eq!(config.max_packet_size, 1024);
    assert_eq!(config.connect_timeout, Duration::from_millis(2500));
    assert_eq!(config.queue_full_policy, QueueFullPolicy::DropOldest);
}

#[test]
fn verbosity() {
    assert_eq!(run(&["-v"]).log_level, Some(LevelFilter::Debug));
    assert_eq!(run(&["--quiet"]).log_level, Some(LevelFilter::Error));
    assert_eq!(error(&["-v", "-q"]), "-q: cannot be combined with -v");
}

#[test]
fn help_and_version_win_over_other_options() {
    assert_eq!(parse(["-p", "1", "-h"]), Ok(Command::Help));
    assert_eq!(parse(["--version"]), Ok(Command::Version));
    assert!(usage().contains("--max-queued-bytes"));
    assert_eq!(
        version(),
        format!("minibroker {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn getopts_failures_name_the_option() {
    assert_eq!(error(&["--nope"]), "--nope: unknown option");
    assert_eq!(error(&["-x"]), "-x: unknown option");
    assert_eq!(error(&["-p"]), "-p: needs a value");
    assert_eq!(
        error(&["-p", "1", "-p", "2"]),
        "--port: given more than once"
    );
    assert_eq!(error(&["--verbose=yes"]), "--verbose: takes no value");
    assert_eq!(error(&["stray"]), "stray: unexpected argument");
}

#[test]
fn bad_values_name_the_option() {
    assert_eq!(
        error(&["-p", "70000"]),
        "-p: expected a whole number from 0 to 65535, not '70000'"
    );
    assert_eq!(
        error(&["-b", "localhost"]),
        "-b: not an IP address: 'localhost'"
    );
    assert_eq!(
        error(&["--queue-full", "drop-all"]),
        "--queue-full: expected drop-new or drop-oldest, not 'drop-all'"
    );
    assert_eq!(
        error(&["--connect-timeout", "0"]),
        "--connect-timeout: expected a number of seconds above zero, not '0'"
    );
    assert_eq!(
        error(&["--connect-timeout", "-1"]),
        "--connect-timeout: expected a number of seconds above zero, not '-1'"
    );
    assert!(error(&["--max-queued", "-1"]).starts_with("--max-queued: expected a whole number"));
}

#[test]
fn config_rules_are_reported_under_their_option() {
    assert_eq!(
        error(&["--max-inflight", "0"]),
        "--max-inflight: must be at least 1"
    );
    assert_eq!(
        error(&["--max-packet-size", "1"]),
        "--max-packet-size: must be between 2 and 268435460 bytes"
    );
}

#[test]
fn every_error_is_one_line() {
    for args in [
        &["--nope"][..],
        &["-p", "x"],
        &["-b", "::g"],
        &["--max-inflight", "0"],
    ] {
        assert!(!error(args).contains('\n'));
    }
}

#[test]
fn keepalive_and_topic_alias_limits() {
    let Command::Run(settings) =
        parse(["--max-keepalive", "30", "--max-topic-alias", "0"]).unwrap()
    else {
        panic!("expected a run command");
    };
    assert_eq!(settings.config.max_keepalive, 30);
    assert_eq!(settings.config.topic_alias_maximum, 0);
    assert_eq!(
        error(&["--max-topic-alias", "70000"]),
        "--max-topic-alias: expected a whole number from 0 to 65535, not '70000'"
    );
}

#[cfg(feature = "tls")]
#[test]
fn tls_port_adds_tls_listeners_on_all_addresses() {
    let args = [
        "-p",
        "1883",
        "--tls-port",
        "8884",
        "--cert",
        "c.pem",
        "--key",
        "k.pem",
    ];
    assert_eq!(plain(&args), Config::all_addresses(1883));
    assert_eq!(addrs(&args, ListenerKind::Tls), Config::all_addresses(8884));
    let config = run(&args).config;
    assert_eq!(
        config.tls,
        Some(TlsIdentity::Pem {
            cert: "c.pem".into(),
            key: "k.pem".into()
        })
    );
    // Plain listeners come first: whoever reads the first "listening on" gets plain TCP.
    assert_eq!(config.listeners[0].kind, ListenerKind::Plain);
}

#[cfg(feature = "tls")]
#[test]
fn tls_bind_keeps_its_own_addresses_and_defaults_to_8883() {
    let args = [
        "-b",
        "127.0.0.1",
        "--tls-bind",
        "0.0.0.0",
        "--tls-bind",
        "::",
        "--pkcs12",
        "id.p12",
    ];
    assert_eq!(plain(&args), vec![SocketAddr::from(([127, 0, 0, 1], 1883))]);
    assert_eq!(addrs(&args, ListenerKind::Tls), Config::all_addresses(8883));
    assert_eq!(
        run(&args).config.tls,
        Some(TlsIdentity::Pkcs12 {
            file: "id.p12".into(),
            password: String::new()
        })
    );
}

#[cfg(feature = "tls")]
#[test]
fn tls_options_that_do_not_fit_together_are_usage_errors() {
    assert_eq!(
        error(&["--tls-port", "8883"]),
        "--tls-port: needs --cert and --key, or --pkcs12"
    );
    assert_eq!(
        error(&["--tls-port", "8883", "--cert", "c.pem"]),
        "--cert: needs --key"
    );
    assert_eq!(
        error(&["--cert", "c", "--key", "k"]),
        "--cert: needs --tls-port"
    );
    assert_eq!(error(&["--pkcs12", "id.p12"]), "--pkcs12: needs --tls-port");
    assert_eq!(
        error(&[
            "--tls-port",
            "1",
            "--pkcs12",
            "p",
            "--cert",
            "c",
            "--key",
            "k"
        ]),
        "--pkcs12: cannot be combined with --cert and --key"
    );
    assert_eq!(
        error(&[
            "--tls-port",
            "1",
            "--pkcs12-password-env",
            "X",
            "--cert",
            "c",
            "--key",
            "k"
        ]),
        "--pkcs12-password-env: needs --pkcs12"
    );
    assert_eq!(
        error(&[
            "--tls-port",
            "1",
            "--pkcs12",
            "p",
            "--pkcs12-password-env",
            "MINIBROKER_NO_SUCH_VARIABLE"
        ]),
        "--pkcs12-password-env: the environment variable MINIBROKER_NO_SUCH_VARIABLE is not set"
    );
    assert_eq!(
        error(&["--tls-bind", "home", "--pkcs12", "p"]),
        "--tls-bind: not an IP address: 'home'"
    );
}

#[cfg(not(feature = "tls"))]
#[test]
fn tls_options_without_tls_support_are_one_line_errors() {
    assert_eq!(
        error(&["--tls-port", "8883", "--cert", "c", "--key", "k"]),
        "--tls-port: this minibroker was built without TLS support (the `tls` feature)"
    );
}
