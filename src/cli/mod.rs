//! The `minibroker` command line: options (and the mosquitto.conf that `-c` names) parsed into
//! a [`Config`] and a log level, kept in the library so `main` stays thin and every option can
//! be tested without starting a process.

mod error;
mod file;
mod reload;
mod serve;
mod tls;

use std::ffi::OsStr;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use getopts::{Matches, Options};
use log::{Level, LevelFilter};

use crate::config::{Config, DEFAULT_PORT, ListenerConfig, QueueFullPolicy};
use crate::service::RunAs;

pub use error::{CliError, UsageError};
use error::{dashed, from_config, from_getopts};
pub use reload::reload_hook;
pub use serve::serve;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run a broker (boxed: a configuration is much larger than the other commands).
    Run(Box<RunSettings>),
    /// Print [`usage`] and exit.
    Help,
    /// Print [`version`] and exit.
    Version,
}

/// A broker to run, as the command line describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSettings {
    pub config: Config,
    /// The log level `-v` or `-q` (or the file's `log_type`) asked for; `None` leaves it to
    /// `RUST_LOG`, else info.
    pub log_level: Option<LevelFilter>,
    /// What to log once logging is set up: the files read, and the configuration file's
    /// settings without effect or deprecated, in order.
    pub startup_log: Vec<(Level, String)>,
    /// `-d`: fork into the background.
    pub daemon: bool,
    /// Who to run as once the listeners are bound (from the file's `user`).
    pub run_as: RunAs,
}

fn options() -> Options {
    let mut o = Options::new();
    o.optopt(
        "c",
        "config-file",
        "read a mosquitto.conf; then it says where to listen, and -p only sets the port of \
         local-only mode",
        "FILE",
    );
    o.optopt("p", "port", "port to listen on (default 1883)", "PORT");
    o.optmulti(
        "b",
        "bind",
        "address to listen on, repeatable (default: all IPv4 and IPv6 addresses)",
        "ADDR",
    );
    o.optopt(
        "",
        "tls-port",
        "port for MQTT over TLS, usually 8883 (default: no TLS listener)",
        "PORT",
    );
    o.optmulti(
        "",
        "tls-bind",
        "address for the TLS listener, repeatable (default: all IPv4 and IPv6 addresses)",
        "ADDR",
    );
    o.optopt(
        "",
        "cert",
        "TLS certificate chain, PEM, the server's certificate first",
        "FILE",
    );
    o.optopt("", "key", "TLS private key, PEM PKCS#8", "FILE");
    o.optopt(
        "",
        "pkcs12",
        "TLS certificate chain and key in one PKCS#12 file, instead of --cert and --key",
        "FILE",
    );
    o.optopt(
        "",
        "pkcs12-password-env",
        "environment variable holding the --pkcs12 password (default: no password)",
        "VAR",
    );
    o.optflag(
        "d",
        "daemon",
        "run in the background (and write the configuration's pid_file)",
    );
    o.optflag("v", "verbose", "log debug messages");
    o.optflag("q", "quiet", "log errors only");
    o.optopt(
        "",
        "max-inflight",
        "QoS 1/2 messages in flight per client (default 20)",
        "N",
    );
    o.optopt(
        "",
        "max-queued",
        "messages queued per client (default 1000)",
        "N",
    );
    o.optopt(
        "",
        "max-queued-bytes",
        "payload bytes queued per client (default 0: no limit)",
        "N",
    );
    o.optopt(
        "",
        "max-packet-size",
        "largest packet accepted, in bytes (default 268435455)",
        "N",
    );
    o.optopt(
        "",
        "connect-timeout",
        "seconds a new connection has to send CONNECT, TLS handshake included (default 10)",
        "SECS",
    );
    o.optopt(
        "",
        "max-keepalive",
        "longest keepalive a client may use, in seconds; 0 = no limit (default 0)",
        "SECS",
    );
    o.optopt(
        "",
        "max-topic-alias",
        "topic aliases an MQTT 5 client may set up per connection (default 10)",
        "N",
    );
    o.optopt(
        "",
        "queue-full",
        "when a client's queue is full (default drop-new)",
        "drop-new|drop-oldest",
    );
    o.optflag("h", "help", "print this help and exit");
    o.optflag("V", "version", "print the version and exit");
    o
}

/// The help text.
pub fn usage() -> String {
    options().usage(&format!(
        "minibroker {}: a small, fast, embeddable MQTT broker\n\nUsage: minibroker [options]",
        env!("CARGO_PKG_VERSION")
    ))
}

/// The version line.
pub fn version() -> String {
    format!("minibroker {}", env!("CARGO_PKG_VERSION"))
}

/// Parses the arguments after the program name, and reads the configuration file `-c` names.
pub fn parse<I>(args: I) -> Result<Command, CliError>
where
    I: IntoIterator,
    I::Item: AsRef<OsStr>,
{
    let matches = options().parse(args).map_err(from_getopts)?;
    if matches.opt_present("h") {
        return Ok(Command::Help);
    }
    if matches.opt_present("V") {
        return Ok(Command::Version);
    }
    if let Some(extra) = matches.free.first() {
        return Err(UsageError::new(extra.as_str(), "unexpected argument").into());
    }
    let flag_level = log_level(&matches)?;
    let from_file = matches.opt_present("c");
    let (mut config, startup_log) = match matches.opt_str("c") {
        Some(path) => file::config_from_file(&matches, path.as_ref())?,
        None => (listeners_from(&matches)?, Vec::new()),
    };
    limits_from(&matches, &mut config)?;
    config.validate().map_err(from_config)?;
    // -v and -q win over the file's log_type, as mosquitto's -v does.
    let log_level = flag_level;
    let run_as = RunAs::from_config(config.process.user.as_deref(), from_file);
    Ok(Command::Run(Box::new(RunSettings {
        config,
        log_level,
        startup_log,
        daemon: matches.opt_present("d"),
        run_as,
    })))
}

/// The listeners the command line asks for, in the default configuration.
fn listeners_from(m: &Matches) -> Result<Config, UsageError> {
    let mut config = Config::default();
    let port = number(m, "p", "-p")?.unwrap_or(DEFAULT_PORT);
    config.listeners = addresses(&m.opt_strs("b"), port, "-b")?
        .into_iter()
        .map(ListenerConfig::plain)
        .collect();
    tls::tls_from(m, &mut config)?;
    Ok(config)
}

/// The limits given on the command line, over the defaults or the file's values.
fn limits_from(m: &Matches, config: &mut Config) -> Result<(), UsageError> {
    if let Some(n) = number(m, "max-inflight", "--max-inflight")? {
        config.max_inflight_messages = n;
    }
    if let Some(n) = number(m, "max-queued", "--max-queued")? {
        config.max_queued_messages = n;
    }
    if let Some(n) = number(m, "max-queued-bytes", "--max-queued-bytes")? {
        config.max_queued_bytes = n;
    }
    if let Some(n) = number(m, "max-packet-size", "--max-packet-size")? {
        config.max_packet_size = n;
    }
    if let Some(n) = number(m, "max-keepalive", "--max-keepalive")? {
        config.max_keepalive = n;
    }
    if let Some(n) = number(m, "max-topic-alias", "--max-topic-alias")? {
        // Over the file's listeners too, as every other limit given here.
        config.topic_alias_maximum = n;
        for listener in &mut config.listeners {
            listener.options.max_topic_alias = None;
        }
        for listener in &mut config.unix_listeners {
            listener.options.max_topic_alias = None;
        }
    }
    if let Some(text) = m.opt_str("connect-timeout") {
        config.connect_timeout = seconds(&text, "--connect-timeout")?;
    }
    if let Some(text) = m.opt_str("queue-full") {
        config.queue_full_policy = match text.as_str() {
            "drop-new" => QueueFullPolicy::DropNew,
            "drop-oldest" => QueueFullPolicy::DropOldest,
            _ => {
                let message = format!("expected drop-new or drop-oldest, not '{text}'");
                return Err(UsageError::new("--queue-full", message));
            }
        };
    }
    Ok(())
}

/// The addresses given with `option` (`-b`, `--tls-bind`) on `port`; all addresses if none.
fn addresses(texts: &[String], port: u16, option: &str) -> Result<Vec<SocketAddr>, UsageError> {
    if texts.is_empty() {
        return Ok(Config::all_addresses(port));
    }
    texts
        .iter()
        .map(|text| bind_address(text, port, option))
        .collect()
}

/// `ADDR` as an IPv4 or IPv6 address (bare or in brackets) on `port`, or `ADDR:PORT`.
fn bind_address(text: &str, port: u16, option: &str) -> Result<SocketAddr, UsageError> {
    if let Ok(ip) = IpAddr::from_str(text) {
        return Ok(SocketAddr::new(ip, port));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
        && let Ok(ip) = Ipv6Addr::from_str(inner)
    {
        return Ok(SocketAddr::new(IpAddr::V6(ip), port));
    }
    SocketAddr::from_str(text)
        .map_err(|_| UsageError::new(option, format!("not an IP address: '{text}'")))
}

/// An option's value as a number of type `T`, with the type's range in the error.
fn number<T>(m: &Matches, name: &str, shown: &str) -> Result<Option<T>, UsageError>
where
    T: FromStr + Bounded,
{
    let Some(text) = m.opt_str(name) else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|_| {
        let message = format!(
            "expected a whole number from 0 to {}, not '{text}'",
            T::MAX_TEXT
        );
        UsageError::new(shown, message)
    })
}

/// The largest value of a number type, for error messages.
trait Bounded {
    const MAX_TEXT: &'static str;
}

impl Bounded for u16 {
    const MAX_TEXT: &'static str = "65535";
}

impl Bounded for u32 {
    const MAX_TEXT: &'static str = "4294967295";
}

impl Bounded for usize {
    const MAX_TEXT: &'static str = "18446744073709551615";
}

fn seconds(text: &str, shown: &str) -> Result<Duration, UsageError> {
    match f64::from_str(text).map(Duration::try_from_secs_f64) {
        Ok(Ok(duration)) if !duration.is_zero() => Ok(duration),
        _ => Err(UsageError::new(
            shown,
            format!("expected a number of seconds above zero, not '{text}'"),
        )),
    }
}

fn log_level(m: &Matches) -> Result<Option<LevelFilter>, UsageError> {
    match (m.opt_present("v"), m.opt_present("q")) {
        (true, true) => Err(UsageError::new("-q", "cannot be combined with -v")),
        (true, false) => Ok(Some(LevelFilter::Debug)),
        (false, true) => Ok(Some(LevelFilter::Error)),
        (false, false) => Ok(None),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_file;
