//! What the broker's log looks like and where it goes: mosquitto's `log_dest`, `log_type`,
//! `log_timestamp`, `log_timestamp_format`, `log_facility` and `connection_messages`.

use std::path::PathBuf;

use super::kinds::LogTypes;
use crate::config::{self, Logging};

/// One `log_dest` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogDestination {
    Stderr,
    Stdout,
    /// Appended to, created with mode 0600, reopened on SIGHUP (logrotate).
    File(PathBuf),
    /// The local syslog daemon at `/dev/log`, as ident `minibroker`.
    Syslog,
    /// Published to `$SYS/broker/log/<type>` for subscribers, as mosquitto does.
    Topic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Where every line goes; empty means nowhere (`log_dest none`).
    pub destinations: Vec<LogDestination>,
    pub types: LogTypes,
    /// Whether lines start with a time stamp.
    pub timestamp: bool,
    /// A strftime format for that time stamp, in local time; `None` writes Unix seconds.
    pub timestamp_format: Option<String>,
    /// Whether client connect and disconnect lines are written.
    pub connection_messages: bool,
    /// syslog facility: `None` is daemon, `Some(n)` is local`n` (mosquitto's `log_facility`).
    pub syslog_facility: Option<u8>,
}

impl Default for LogSettings {
    /// mosquitto's defaults: errors, warnings, notices and information on stderr, each line
    /// after the Unix time.
    fn default() -> LogSettings {
        LogSettings {
            destinations: vec![LogDestination::Stderr],
            types: LogTypes::DEFAULT,
            timestamp: true,
            timestamp_format: None,
            connection_messages: true,
            syslog_facility: None,
        }
    }
}

impl LogSettings {
    /// The syslog facility code (RFC 5424 section 6.2.1): daemon is 3, local0–local7 16–23.
    pub fn facility_code(&self) -> u8 {
        self.syslog_facility.map_or(3, |local| 16 + local.min(7))
    }
}

impl LogSettings {
    /// The settings a mosquitto.conf gave ([`Config::logging`](crate::Config::logging)).
    pub fn from_config(logging: &Logging) -> LogSettings {
        let d = &logging.destinations;
        let mut destinations = Vec::new();
        for (on, destination) in [
            (d.stderr, LogDestination::Stderr),
            (d.stdout, LogDestination::Stdout),
            (d.syslog, LogDestination::Syslog),
            (d.topic, LogDestination::Topic),
        ] {
            if on {
                destinations.push(destination);
            }
        }
        if let Some(path) = &d.file {
            destinations.push(LogDestination::File(path.clone()));
        }
        LogSettings {
            destinations,
            types: logging.types.map_or(LogTypes::DEFAULT, types_of),
            timestamp: logging.timestamp,
            timestamp_format: logging.timestamp_format.clone(),
            connection_messages: logging.connection_messages,
            syslog_facility: logging.facility,
        }
    }
}

fn types_of(types: config::LogTypes) -> LogTypes {
    [
        (types.error, LogTypes::ERROR),
        (types.warning, LogTypes::WARNING),
        (types.notice, LogTypes::NOTICE),
        (types.information, LogTypes::INFORMATION),
        (types.debug, LogTypes::DEBUG),
        (types.subscribe, LogTypes::SUBSCRIBE),
        (types.unsubscribe, LogTypes::UNSUBSCRIBE),
        (types.websockets, LogTypes::WEBSOCKETS),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .fold(LogTypes::NONE, |all, (_, one)| all.union(one))
}
