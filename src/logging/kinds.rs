//! mosquitto's log types (`log_type`) and how a `log` record maps onto them.
//!
//! mosquitto classes every line as one of eight types and lets `log_type` pick which are
//! written; its `$SYS/broker/log/...` topics are named after them. minibroker's code logs
//! through the `log` crate, so a record's type comes from its level, or from its target for the
//! lines that have a type of their own (subscriptions, WebSockets).

use std::fmt;

use log::{Level, Record};

/// Target of the log lines a `log_type subscribe` selects.
pub const SUBSCRIBE_TARGET: &str = "minibroker::subscribe";
/// Target of the log lines a `log_type unsubscribe` selects.
pub const UNSUBSCRIBE_TARGET: &str = "minibroker::unsubscribe";
/// Target of the WebSocket transport's log lines.
pub const WEBSOCKETS_TARGET: &str = "minibroker::websockets";
/// Target of the connect and disconnect lines that `connection_messages false` hides.
pub const CONNECTION_TARGET: &str = "minibroker::connection";

/// A set of log types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogTypes(u16);

impl LogTypes {
    pub const NONE: LogTypes = LogTypes(0);
    pub const ERROR: LogTypes = LogTypes(1);
    pub const WARNING: LogTypes = LogTypes(1 << 1);
    pub const NOTICE: LogTypes = LogTypes(1 << 2);
    pub const INFORMATION: LogTypes = LogTypes(1 << 3);
    pub const DEBUG: LogTypes = LogTypes(1 << 4);
    pub const SUBSCRIBE: LogTypes = LogTypes(1 << 5);
    pub const UNSUBSCRIBE: LogTypes = LogTypes(1 << 6);
    pub const WEBSOCKETS: LogTypes = LogTypes(1 << 7);
    pub const ALL: LogTypes = LogTypes(0xFF);
    /// mosquitto's default: error, warning, notice and information.
    pub const DEFAULT: LogTypes = LogTypes(0b1111);

    /// The type named in a `log_type` line.
    pub fn from_name(name: &str) -> Option<LogTypes> {
        Some(match name {
            "none" => LogTypes::NONE,
            "error" => LogTypes::ERROR,
            "warning" => LogTypes::WARNING,
            "notice" => LogTypes::NOTICE,
            "information" => LogTypes::INFORMATION,
            "debug" => LogTypes::DEBUG,
            "subscribe" => LogTypes::SUBSCRIBE,
            "unsubscribe" => LogTypes::UNSUBSCRIBE,
            "websockets" => LogTypes::WEBSOCKETS,
            "all" => LogTypes::ALL,
            _ => return None,
        })
    }

    pub fn union(self, other: LogTypes) -> LogTypes {
        LogTypes(self.0 | other.0)
    }

    pub fn intersects(self, other: LogTypes) -> bool {
        self.0 & other.0 != 0
    }

    /// The most verbose `log` level any selected type needs, for `log::set_max_level`.
    pub fn max_level(self) -> log::LevelFilter {
        if self.intersects(LogTypes::DEBUG) {
            log::LevelFilter::Debug
        } else if self.intersects(
            LogTypes::NOTICE
                .union(LogTypes::INFORMATION)
                .union(LogTypes::SUBSCRIBE)
                .union(LogTypes::UNSUBSCRIBE)
                .union(LogTypes::WEBSOCKETS),
        ) {
            log::LevelFilter::Info
        } else if self.intersects(LogTypes::WARNING) {
            log::LevelFilter::Warn
        } else if self.intersects(LogTypes::ERROR) {
            log::LevelFilter::Error
        } else {
            log::LevelFilter::Off
        }
    }
}

impl Default for LogTypes {
    fn default() -> LogTypes {
        LogTypes::DEFAULT
    }
}

/// The one type a record is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Error,
    Warning,
    Notice,
    Debug,
    Subscribe,
    Unsubscribe,
    Websockets,
}

impl Kind {
    pub fn of(record: &Record<'_>) -> Kind {
        match record.target() {
            SUBSCRIBE_TARGET => return Kind::Subscribe,
            UNSUBSCRIBE_TARGET => return Kind::Unsubscribe,
            WEBSOCKETS_TARGET if record.level() <= Level::Info => return Kind::Websockets,
            _ => {}
        }
        match record.level() {
            Level::Error => Kind::Error,
            Level::Warn => Kind::Warning,
            Level::Info => Kind::Notice,
            Level::Debug | Level::Trace => Kind::Debug,
        }
    }

    /// Whether `selected` lets this kind through. Info-level lines are mosquitto's notice and
    /// information lines, which minibroker does not tell apart: either type selects them.
    pub fn selected_by(self, selected: LogTypes) -> bool {
        let needs = match self {
            Kind::Error => LogTypes::ERROR,
            Kind::Warning => LogTypes::WARNING,
            Kind::Notice => LogTypes::NOTICE.union(LogTypes::INFORMATION),
            Kind::Debug => LogTypes::DEBUG,
            Kind::Subscribe => LogTypes::SUBSCRIBE,
            Kind::Unsubscribe => LogTypes::UNSUBSCRIBE,
            Kind::Websockets => LogTypes::WEBSOCKETS,
        };
        selected.intersects(needs)
    }

    /// The `$SYS/broker/log/...` topic mosquitto publishes this kind of line on.
    pub fn topic(self) -> &'static str {
        match self {
            Kind::Error => "$SYS/broker/log/E",
            Kind::Warning => "$SYS/broker/log/W",
            Kind::Notice => "$SYS/broker/log/N",
            Kind::Debug => "$SYS/broker/log/D",
            Kind::Subscribe => "$SYS/broker/log/M/subscribe",
            Kind::Unsubscribe => "$SYS/broker/log/M/unsubscribe",
            Kind::Websockets => "$SYS/broker/log/WS",
        }
    }

    /// The syslog severity (RFC 5424 section 6.2.1) mosquitto uses for this kind.
    pub fn syslog_severity(self) -> u8 {
        match self {
            Kind::Error => 3,
            Kind::Warning => 4,
            Kind::Notice => 5,
            Kind::Subscribe | Kind::Unsubscribe | Kind::Websockets => 6,
            Kind::Debug => 7,
        }
    }

    /// The words put before the message, as mosquitto's own error and warning lines read.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Error => "Error: ",
            Kind::Warning => "Warning: ",
            _ => "",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Error => "error",
            Kind::Warning => "warning",
            Kind::Notice => "notice",
            Kind::Debug => "debug",
            Kind::Subscribe => "subscribe",
            Kind::Unsubscribe => "unsubscribe",
            Kind::Websockets => "websockets",
        })
    }
}
