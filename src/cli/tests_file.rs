//! Tests of `-c FILE`: how the file and the other options combine, and the exit statuses.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A configuration file in a directory of its own, removed when dropped.
struct TempFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TempFile {
    fn new(contents: &str) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("minibroker-cli-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("mosquitto.conf");
        std::fs::write(&path, contents).expect("write");
        TempFile { dir, path }
    }

    fn path(&self) -> &str {
        self.path.to_str().expect("utf-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(args: &[&str]) -> RunSettings {
    match parse(args) {
        Ok(Command::Run(settings)) => *settings,
        other => panic!("expected a run, got {other:?}"),
    }
}

fn failure(args: &[&str]) -> CliError {
    match parse(args) {
        Err(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn addrs(settings: &RunSettings) -> Vec<SocketAddr> {
    settings.config.listeners.iter().map(|l| l.addr).collect()
}

#[test]
fn max_topic_alias_on_the_command_line_overrides_every_listeners_own() {
    let file = TempFile::new(
        "listener 1884 127.0.0.1\nmax_topic_alias 4\nlistener 0 /run/mqtt.sock\nmax_topic_alias 5\n",
    );
    let own = run(&["-c", file.path()]);
    assert_eq!(own.config.listeners[0].options.max_topic_alias, Some(4));
    assert_eq!(
        own.config.unix_listeners[0].options.max_topic_alias,
        Some(5)
    );
    let overridden = run(&["-c", file.path(), "--max-topic-alias", "2"]);
    let every = overridden.config.listener_options();
    assert!(every.map(|o| o.max_topic_alias).all(|own| own.is_none()));
    assert_eq!(overridden.config.topic_alias_maximum, 2);
}

#[test]
fn the_file_says_where_to_listen() {
    let file = TempFile::new("listener 1884 127.0.0.1\nmax_queued_messages 50\n");
    for flag in ["-c", "--config-file"] {
        let settings = run(&[flag, file.path()]);
        assert_eq!(
            addrs(&settings),
            ["127.0.0.1:1884".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(settings.config.max_queued_messages, 50);
    }
}

#[test]
fn p_sets_the_port_of_local_only_mode_only() {
    let local = TempFile::new("max_queued_messages 50\n");
    let settings = run(&["-c", local.path(), "-p", "1999"]);
    let expected: Vec<SocketAddr> = vec![
        "127.0.0.1:1999".parse().unwrap(),
        "[::1]:1999".parse().unwrap(),
    ];
    assert_eq!(addrs(&settings), expected);
    let warned = |s: &RunSettings, text: &str| s.startup_log.iter().any(|(_, m)| m.contains(text));
    assert!(warned(&settings, "Starting in local only mode"));
    let listener = TempFile::new("listener 1884 127.0.0.1\n");
    let settings = run(&["-c", listener.path(), "-p", "1999"]);
    assert_eq!(
        addrs(&settings),
        ["127.0.0.1:1884".parse::<SocketAddr>().unwrap()]
    );
    assert!(warned(&settings, "-p is ignored"));
}

#[test]
fn without_a_file_p_still_listens_on_every_address() {
    assert_eq!(addrs(&run(&["-p", "1999"])), Config::all_addresses(1999));
}

#[test]
fn listener_options_cannot_be_combined_with_a_file() {
    let file = TempFile::new("listener 1884\n");
    for (args, option) in [
        (vec!["-b", "127.0.0.1"], "-b"),
        (vec!["--tls-port", "8883"], "--tls-port"),
        (vec!["--cert", "c.pem"], "--cert"),
    ] {
        let mut all = vec!["-c", file.path()];
        all.extend(args);
        let e = failure(&all);
        assert_eq!(e.exit_status(), 2);
        assert_eq!(
            e.to_string(),
            format!(
                "{option}: cannot be combined with -c: the configuration file says where to listen"
            )
        );
    }
}

#[test]
fn command_line_limits_override_the_file() {
    let file = TempFile::new("listener 1884\nmax_inflight_messages 5\nmax_keepalive 60\n");
    let settings = run(&["-c", file.path(), "--max-inflight", "7"]);
    assert_eq!(settings.config.max_inflight_messages, 7);
    assert_eq!(settings.config.max_keepalive, 60);
}

#[test]
fn the_files_log_type_reaches_the_logger_and_v_or_q_overrides_it() {
    let file = TempFile::new("listener 1884\nlog_type error\nlog_type warning\n");
    let settings = run(&["-c", file.path()]);
    assert_eq!(settings.log_level, None);
    let types = settings.config.logging.types.expect("log_type was given");
    assert!(types.error && types.warning && !types.notice && !types.debug);
    assert_eq!(
        run(&["-c", file.path(), "-v"]).log_level,
        Some(LevelFilter::Debug)
    );
    assert_eq!(
        run(&["-c", file.path(), "-q"]).log_level,
        Some(LevelFilter::Error)
    );
}

#[test]
fn a_configuration_error_exits_3_with_file_and_line() {
    let file = TempFile::new("listener 1884\nmax_inflight_messages abc\n");
    let e = failure(&["-c", file.path()]);
    assert_eq!(e.exit_status(), 3);
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2: Invalid max_inflight_messages value (abc).",
            file.path()
        )
    );
    let e = failure(&["-c", "/nonexistent/mosquitto.conf"]);
    assert_eq!(e.exit_status(), 3);
    assert_eq!(
        e.to_string(),
        "/nonexistent/mosquitto.conf: Unable to open config file (No such file or directory)."
    );
}

#[test]
fn startup_log_names_the_files_and_the_notes() {
    let file = TempFile::new("listener 1884\nallow_anonymous true\nretry_interval 20\n");
    let settings = run(&["-c", file.path()]);
    let lines: Vec<&str> = settings
        .startup_log
        .iter()
        .map(|(_, m)| m.as_str())
        .collect();
    assert_eq!(
        lines,
        [
            format!("Config loaded from {}.", file.path()),
            format!(
                "retry_interval ({}:3) is ignored: mosquitto 2.0 no longer has it",
                file.path()
            ),
        ]
    );
    assert_eq!(settings.startup_log[1].0, Level::Warn);
}
