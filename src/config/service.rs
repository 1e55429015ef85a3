//! How the broker runs as a system service: persistence, logging, the process (pid file,
//! user) and WebSockets tuning. Read from a mosquitto.conf and kept for the issues that apply
//! them; the defaults are mosquitto's.

use std::path::PathBuf;
use std::time::Duration;

/// Keeping sessions and retained messages across restarts (see `crate::disk`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    pub enabled: bool,
    /// The directory of the store; the working directory when `None`.
    pub location: Option<PathBuf>,
    /// The store's file name; `minibroker.db` by default. minibroker's format is its own, so
    /// the default differs from mosquitto's `mosquitto.db`, which is then left alone.
    pub file: Option<PathBuf>,
    /// Seconds between compactions of the store, or changes between them with
    /// `autosave_on_changes`; 0 = only when it grows or at exit. Every change is written
    /// when it happens either way; this only bounds the file.
    pub autosave_interval: u32,
    pub autosave_on_changes: bool,
    /// When the store is flushed to the disk itself (fsync).
    pub sync: SyncPolicy,
    /// With [`SyncPolicy::Periodic`], how often.
    pub sync_period: Duration,
}

/// When the store's writes are forced to the disk. Either way every change is written to the
/// operating system before the acknowledgement that depends on it leaves, so a crash of the
/// broker (even `kill -9`) loses nothing; the policy decides what a power loss can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// One fsync per loop turn that changed anything, before its acknowledgements leave: a
    /// power loss loses nothing acknowledged. Each turn waits for the disk.
    Batch,
    /// An fsync every `sync_period`: a power loss can take the changes of that last period.
    Periodic,
}

impl Default for Persistence {
    fn default() -> Persistence {
        Persistence {
            enabled: false,
            location: None,
            file: None,
            autosave_interval: 1800,
            autosave_on_changes: false,
            sync: SyncPolicy::Periodic,
            sync_period: Duration::from_secs(1),
        }
    }
}

impl Persistence {
    /// The store's path as mosquitto forms its database's: location + "/" + file.
    pub fn path(&self) -> PathBuf {
        let file = self
            .file
            .clone()
            .unwrap_or_else(|| PathBuf::from("minibroker.db"));
        match &self.location {
            Some(dir) => dir.join(file),
            None => file,
        }
    }
}

/// Where log lines go (mosquitto's `log_dest`). The broker writes to stderr only so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDestinations {
    pub stderr: bool,
    pub stdout: bool,
    pub syslog: bool,
    /// Published under `$SYS/broker/log/…`.
    pub topic: bool,
    pub dlt: bool,
    pub file: Option<PathBuf>,
}

impl Default for LogDestinations {
    fn default() -> LogDestinations {
        LogDestinations {
            stderr: true,
            ..LogDestinations::none()
        }
    }
}

impl LogDestinations {
    /// No destination at all (`log_dest none`).
    pub fn none() -> LogDestinations {
        LogDestinations {
            stderr: false,
            stdout: false,
            syslog: false,
            topic: false,
            dlt: false,
            file: None,
        }
    }
}

/// Which kinds of message are logged (mosquitto's `log_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogTypes {
    pub error: bool,
    pub warning: bool,
    pub notice: bool,
    pub information: bool,
    pub debug: bool,
    pub subscribe: bool,
    pub unsubscribe: bool,
    pub websockets: bool,
}

impl Default for LogTypes {
    /// mosquitto's default: errors, warnings, notices and information.
    fn default() -> LogTypes {
        LogTypes {
            error: true,
            warning: true,
            notice: true,
            information: true,
            ..LogTypes::none()
        }
    }
}

impl LogTypes {
    pub fn none() -> LogTypes {
        LogTypes {
            error: false,
            warning: false,
            notice: false,
            information: false,
            debug: false,
            subscribe: false,
            unsubscribe: false,
            websockets: false,
        }
    }

    pub fn all() -> LogTypes {
        LogTypes {
            error: true,
            warning: true,
            notice: true,
            information: true,
            debug: true,
            subscribe: true,
            unsubscribe: true,
            websockets: true,
        }
    }
}

/// Logging as a mosquitto.conf describes it, applied by the command (`crate::logging`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    pub destinations: LogDestinations,
    /// `None` when the file says nothing, so the command's own default (or `-v`/`-q`) holds.
    pub types: Option<LogTypes>,
    /// The syslog facility: `Some(n)` is LOG_LOCALn; `None` is LOG_DAEMON.
    pub facility: Option<u8>,
    pub timestamp: bool,
    /// An strftime format for the timestamp; epoch seconds when `None`.
    pub timestamp_format: Option<String>,
    /// Log each client's connection and disconnection.
    pub connection_messages: bool,
}

impl Default for Logging {
    fn default() -> Logging {
        Logging {
            destinations: LogDestinations::default(),
            types: None,
            facility: None,
            timestamp: true,
            timestamp_format: None,
            connection_messages: true,
        }
    }
}

/// The process around the broker: its pid file and user, applied by the command (`cli::serve`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Process {
    pub pid_file: Option<PathBuf>,
    /// The user to run as after reading the configuration; mosquitto's default is `mosquitto`.
    pub user: Option<String>,
}

/// Tuning of WebSockets listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebSocketsTuning {
    /// libwebsockets' own log level in mosquitto; read and ignored (minibroker's WebSocket
    /// lines are logged with `log_type websockets`).
    pub log_level: i32,
    /// The largest HTTP request (request line and headers) accepted before the upgrade, in
    /// bytes; a larger one is answered `431` and closed. 0 means the default, 4096.
    pub headers_size: u16,
}

impl Default for WebSocketsTuning {
    fn default() -> WebSocketsTuning {
        WebSocketsTuning {
            log_level: 0,
            headers_size: 4096,
        }
    }
}
