//! Why a command line cannot be run: a usage error naming the option, or an error in the
//! configuration file; each with its exit status.

use std::fmt;

use getopts::Fail;

use crate::conf::ConfError;
use crate::config::ConfigError;

/// A command line that cannot be run, naming the option at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// The option as the user would write it (`-p`, `--max-inflight`).
    pub option: String,
    pub message: String,
}

impl UsageError {
    pub(super) fn new(option: impl Into<String>, message: impl Into<String>) -> UsageError {
        UsageError {
            option: option.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.option, self.message)
    }
}

impl std::error::Error for UsageError {}

/// Why the command line cannot be run: a usage error, or a configuration file error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    Usage(UsageError),
    Config(ConfError),
}

impl CliError {
    /// The exit status: 2 for a usage error as getopts-based tools use, 3 for a configuration
    /// file error as mosquitto uses.
    pub fn exit_status(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Config(_) => 3,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(e) => write!(f, "{e}"),
            CliError::Config(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<UsageError> for CliError {
    fn from(e: UsageError) -> CliError {
        CliError::Usage(e)
    }
}

/// Names an option the way the user typed it: `-p` or `--port`.
pub(super) fn dashed(name: &str) -> String {
    if name.chars().count() == 1 {
        format!("-{name}")
    } else {
        format!("--{name}")
    }
}

pub(super) fn from_getopts(fail: Fail) -> UsageError {
    match fail {
        Fail::ArgumentMissing(name) => UsageError::new(dashed(&name), "needs a value"),
        Fail::UnrecognizedOption(name) => UsageError::new(dashed(&name), "unknown option"),
        Fail::OptionMissing(name) => UsageError::new(dashed(&name), "is required"),
        Fail::OptionDuplicated(name) => UsageError::new(dashed(&name), "given more than once"),
        Fail::UnexpectedArgument(name) => UsageError::new(dashed(&name), "takes no value"),
    }
}

/// Reports a configuration rule under the option that sets it.
pub(super) fn from_config(error: ConfigError) -> UsageError {
    let option = match error.setting {
        "listeners" => "-b",
        "max_packet_size" => "--max-packet-size",
        "max_inflight_messages" => "--max-inflight",
        "max_queued_messages" => "--max-queued",
        "max_queued_bytes" => "--max-queued-bytes",
        "connect_timeout" => "--connect-timeout",
        "tls" => "--tls-port",
        other => other,
    };
    UsageError::new(option, error.message)
}
