//! The command line: which scenario to run against which broker, and its knobs.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use getopts::{Matches, Options};

use crate::protocol::Protocol;

pub const SCENARIOS: &[&str] = &[
    "fanin", "fanout", "latency", "conns", "subs", "retained", "burst", "offline",
];

/// Everything a scenario may need; each reads only its own fields.
#[derive(Debug, Clone)]
pub struct Opts {
    pub scenario: String,
    pub addr: SocketAddr,
    /// Where the fanin subscriber connects when not to `addr` (`--sub-port`): the far end of
    /// a bridge.
    pub sub_addr: Option<SocketAddr>,
    /// Connect over TLS, trusting this CA and checking the certificate against `host`.
    pub tls: Option<TlsTarget>,
    /// Speak MQTT over WebSockets (inside TLS with `tls`).
    pub websocket: bool,
    pub secs: Duration,
    pub qos: u8,
    pub publishers: usize,
    pub topics: usize,
    pub payload: usize,
    pub window: u64,
    pub inflight: u32,
    pub subscribers: usize,
    pub rate: u64,
    pub conns: usize,
    pub subs_counts: Vec<usize>,
    pub retained: usize,
    /// User name and password every link logs in with (MQTT 3.1.1 only).
    pub credentials: Option<(String, String)>,
    pub protocol: Protocol,
    pub broker_pid: Option<u32>,
    pub label: Option<String>,
    /// Appended to the case name, e.g. `default limits`, to keep such runs in their own rows.
    pub note: Option<String>,
    /// fanin: the subscriber keeps a persistent session (clean session 0).
    pub persistent: bool,
    /// offline: after filling, the broker is killed with SIGKILL and this shell command starts
    /// it again, and the subscriber drains from the restarted broker.
    pub restart: Option<String>,
}

/// A broker's TLS listener: the CA that signed its certificate and the name to check it for.
#[derive(Debug, Clone)]
// Without the `tls` feature the option is refused before anything reads these.
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub struct TlsTarget {
    pub ca: PathBuf,
    pub host: String,
}

/// What `main` should do.
pub enum Command {
    Run(Box<Opts>),
    /// Read result lines from files and print the comparison table.
    Table(Vec<String>),
    /// Stand in for a broker at this address, doing no broker work (`forward.rs`).
    Forward(SocketAddr),
    Help(String),
}

fn options() -> Options {
    let mut o = Options::new();
    o.optopt("", "host", "broker host (default 127.0.0.1)", "HOST");
    o.optopt("p", "port", "broker port (default 1883)", "PORT");
    o.optopt(
        "",
        "sub-port",
        "fanin: the subscriber connects to this port on the same host (a bridge's upstream)",
        "PORT",
    );
    o.optopt(
        "",
        "tls-ca",
        "connect over TLS, trusting the CA certificate in FILE (PEM)",
        "FILE",
    );
    o.optflag(
        "",
        "ws",
        "speak MQTT over WebSockets (path /mqtt, subprotocol mqtt) to a WebSocket listener",
    );
    o.optopt("s", "secs", "measured seconds per run (default 5)", "SECS");
    o.optopt(
        "q",
        "qos",
        "QoS of publishes and subscriptions (default 0)",
        "0|1|2",
    );
    o.optopt("", "publishers", "fanin: publishers (default 8)", "N");
    o.optopt("", "topics", "fanin: topics (default 8)", "N");
    o.optopt("", "payload", "payload bytes (default 64)", "BYTES");
    o.optopt(
        "",
        "window",
        "messages published and not yet delivered before publishers pause (default 10000)",
        "N",
    );
    o.optopt(
        "",
        "inflight",
        "QoS 1/2 packet ids in flight per publisher (default 32)",
        "N",
    );
    o.optopt("", "subscribers", "fanout: subscribers (default 100)", "N");
    o.optopt(
        "",
        "rate",
        "latency: messages per second (default 10000)",
        "N",
    );
    o.optopt("", "conns", "conns: idle connections (default 10000)", "N");
    o.optopt(
        "",
        "username",
        "log in with this user name (MQTT 3.1.1)",
        "NAME",
    );
    o.optopt("", "password", "the password for --username", "PASSWORD");
    o.optopt(
        "",
        "retained",
        "retained: retained messages stored before subscribing (default 100000)",
        "N",
    );
    o.optopt(
        "",
        "subs-counts",
        "subs: subscription counts to try (default 10,1000,10000,100000)",
        "LIST",
    );
    o.optflag("", "mqtt5", "speak MQTT 5 instead of 3.1.1");
    o.optflag(
        "",
        "topic-alias",
        "with --mqtt5: publishers send each topic's alias instead of the topic after its \
         first message, and subscribers accept aliases from the broker",
    );
    o.optopt(
        "",
        "broker-pid",
        "sample this process's CPU time and memory",
        "PID",
    );
    o.optflag(
        "",
        "persistent",
        "fanin: the subscriber keeps a persistent session (clean session 0, MQTT 3.1.1)",
    );
    o.optopt(
        "",
        "restart",
        "offline: kill the broker (--broker-pid) with SIGKILL after filling, start it again \
         with this shell command, and drain from it",
        "CMD",
    );
    o.optopt("", "label", "broker name to put in the JSON lines", "NAME");
    o.optopt("", "note", "appended to the case name", "TEXT");
    o.optflag("h", "help", "print this help");
    o
}

pub fn usage() -> String {
    let brief = format!(
        "Usage: mqtt-load SCENARIO [options]   (SCENARIO: {})\n       \
         mqtt-load table RESULTS.jsonl...     (medians per broker as a markdown table)\n       \
         mqtt-load forward [--host H] [--port P] (a latency floor: copies bytes, no broker work)",
        SCENARIOS.join(", ")
    );
    options().usage(&brief)
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    let m = options().parse(args).map_err(|e| e.to_string())?;
    if m.opt_present("h") {
        return Ok(Command::Help(usage()));
    }
    let Some(scenario) = m.free.first().cloned() else {
        return Err("no scenario given".to_owned());
    };
    if scenario == "table" {
        return Ok(Command::Table(m.free[1..].to_vec()));
    }
    if !SCENARIOS.contains(&scenario.as_str()) && scenario != "forward" {
        return Err(format!("unknown scenario {scenario}"));
    }
    let host = m.opt_str("host").unwrap_or_else(|| "127.0.0.1".to_owned());
    let port: u16 = get(&m, "port", 1883)?;
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("--host {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("--host {host}: no address"))?;
    if scenario == "forward" {
        return Ok(Command::Forward(addr));
    }
    let qos: u8 = get(&m, "qos", 0)?;
    if qos > 2 {
        return Err("--qos must be 0, 1 or 2".to_owned());
    }
    let secs: f64 = get(&m, "secs", 5.0)?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err("--secs must be between 0 and 3600".to_owned());
    }
    let subs_counts = match m.opt_str("subs-counts") {
        None => vec![10, 1_000, 10_000, 100_000],
        Some(list) => list
            .split(',')
            .map(|n| n.trim().parse().map_err(|_| format!("--subs-counts: {n}")))
            .collect::<Result<_, _>>()?,
    };
    let protocol = match (m.opt_present("mqtt5"), m.opt_present("topic-alias")) {
        (false, false) => Protocol::V311,
        (false, true) => return Err("--topic-alias needs --mqtt5".to_owned()),
        (true, topic_aliases) => Protocol::V5 { topic_aliases },
    };
    let credentials = match (m.opt_str("username"), m.opt_str("password")) {
        (None, None) => None,
        (Some(_), _) if protocol != Protocol::V311 => {
            return Err("--username is for MQTT 3.1.1 links only".to_owned());
        }
        (Some(user), password) => Some((user, password.unwrap_or_default())),
        (None, Some(_)) => return Err("--password needs --username".to_owned()),
    };
    if m.opt_present("persistent") && protocol != Protocol::V311 {
        return Err("--persistent is for MQTT 3.1.1 links only".to_owned());
    }
    let sub_addr = match m.opt_str("sub-port") {
        None => None,
        Some(text) => {
            let sub_port: u16 = text.parse().map_err(|_| format!("--sub-port: {text}"))?;
            Some(SocketAddr::new(addr.ip(), sub_port))
        }
    };
    Ok(Command::Run(Box::new(Opts {
        scenario,
        addr,
        sub_addr,
        tls: tls_target(&m, &host)?,
        websocket: m.opt_present("ws"),
        secs: Duration::from_secs_f64(secs),
        qos,
        publishers: get(&m, "publishers", 8usize)?.max(1),
        topics: get(&m, "topics", 8usize)?.max(1),
        payload: get(&m, "payload", 64)?,
        window: get(&m, "window", 10_000)?,
        inflight: get(&m, "inflight", 32)?,
        subscribers: get(&m, "subscribers", 100usize)?.max(1),
        rate: get(&m, "rate", 10_000u64)?.max(1),
        conns: get(&m, "conns", 10_000)?,
        retained: get(&m, "retained", 100_000usize)?.max(1),
        credentials,
        subs_counts,
        protocol,
        broker_pid: m
            .opt_str("broker-pid")
            .map(|p| p.parse())
            .transpose()
            .map_err(|_| "--broker-pid: not a number".to_owned())?,
        label: m.opt_str("label"),
        note: m.opt_str("note"),
        persistent: m.opt_present("persistent"),
        restart: m.opt_str("restart"),
    })))
}

fn tls_target(m: &Matches, host: &str) -> Result<Option<TlsTarget>, String> {
    let Some(ca) = m.opt_str("tls-ca") else {
        return Ok(None);
    };
    if !cfg!(feature = "tls") {
        return Err("--tls-ca: mqtt-load was built without the `tls` feature".to_owned());
    }
    Ok(Some(TlsTarget {
        ca: ca.into(),
        host: host.to_owned(),
    }))
}

fn get<T: FromStr>(m: &Matches, name: &str, default: T) -> Result<T, String> {
    match m.opt_str(name) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| format!("--{name}: cannot read {text:?}")),
    }
}

impl Opts {
    /// The case name with the protocol, if not 3.1.1, and the note, if any, in parentheses.
    pub fn case(&self, base: String) -> String {
        let base = base + self.protocol.tag();
        match &self.note {
            Some(note) => format!("{base} ({note})"),
            None => base,
        }
    }

    /// A client id prefix unique to this process, so runs never share sessions.
    pub fn prefix(&self, role: &str) -> String {
        format!("ml{}-{}-{role}", std::process::id(), self.scenario)
    }
}
