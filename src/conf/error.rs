//! What can be wrong with a mosquitto.conf, and the warnings a readable file may still earn.
//! The wording follows mosquitto's messages where it has one, so a search for the text finds
//! mosquitto's documentation too.

use std::fmt;
use std::path::PathBuf;

use crate::config::Origin;

/// A configuration that cannot be used: the file, the line (when there is one) and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    pub file: PathBuf,
    /// `None` when the file itself could not be read.
    pub line: Option<u32>,
    pub kind: ErrorKind,
    /// The `include_dir` line that brought this file in, for an error in an included file
    /// (boxed: errors travel by value through every parsing function).
    pub included_from: Option<Box<Origin>>,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.kind)?;
        if let Some(at) = &self.included_from {
            write!(f, " (included from {at})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfError {}

/// One rule of the file format or of an option, broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The option name is not one mosquitto 2.0 knows (names are case-sensitive; a TAB is not
    /// a separator, so `\tport` is an unknown name).
    Unknown(String),
    /// The option exists in mosquitto 2.1 only, which 2.0 refuses as unknown.
    OnlyInMosquitto21(String),
    /// The value is not one the option takes; `reason` says which are, when it helps.
    Invalid {
        option: String,
        value: String,
        reason: Option<&'static str>,
    },
    /// The option has no value.
    Empty(String),
    /// A string option given twice in one scope (global, one listener, one bridge).
    Duplicate(String),
    /// The line is not UTF-8.
    MalformedUtf8,
    /// The file cannot be read (missing, unreadable, a directory, too large).
    Unreadable(String),
    /// An `include_dir` that cannot be listed.
    IncludeDir { dir: PathBuf, reason: String },
    /// An option minibroker will never honour, with the reason.
    Unsupported {
        option: String,
        reason: &'static str,
    },
    /// `per_listener_settings true` after a security option.
    PerListenerTooLate,
    /// `mount_point` before any `listener` line.
    MountPointWithoutListener,
    /// `listener 0` is a Unix socket and needs its path.
    UnixSocketWithoutPath,
    /// A `plugin_opt_`/`auth_opt_` option with no plugin before it.
    PluginOptionWithoutPlugin(String),
    /// A bridge option outside a `connection` section.
    BridgeOptionWithoutConnection(String),
    /// A second `address` line in one bridge.
    BridgeAddressTwice,
    /// Two `connection` sections with one name.
    DuplicateBridge(String),
    /// A bridge without addresses or without topics.
    IncompleteBridge { name: String, missing: &'static str },
    /// Two bridges would use one local client id.
    DuplicateLocalClientId(String),
    /// A bind address that does not resolve, or resolves to no address of the socket domain.
    Unresolvable { host: String, reason: String },
    /// Settings the broker can only apply one way for all listeners, differing between them.
    DiffersBetweenListeners {
        option: &'static str,
        reason: &'static str,
    },
    /// certfile without keyfile or the reverse.
    HalfTlsIdentity(&'static str),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Escaped, so the TAB of `\tport` shows where a reader can see it.
            ErrorKind::Unknown(name) => write!(
                f,
                "Unknown configuration variable \"{}\".",
                name.escape_debug()
            ),
            ErrorKind::OnlyInMosquitto21(name) => write!(
                f,
                "Unknown configuration variable \"{name}\" (an option of mosquitto 2.1)."
            ),
            ErrorKind::Invalid {
                option,
                value,
                reason: None,
            } => write!(f, "Invalid {option} value ({value})."),
            ErrorKind::Invalid {
                option,
                value,
                reason: Some(reason),
            } => write!(f, "Invalid {option} value ({value}): {reason}."),
            ErrorKind::Empty(option) => write!(f, "Empty {option} value in configuration."),
            ErrorKind::Duplicate(option) => {
                write!(f, "Duplicate {option} value in configuration.")
            }
            ErrorKind::MalformedUtf8 => f.write_str("Malformed UTF-8 in configuration."),
            ErrorKind::Unreadable(reason) => write!(f, "Unable to open config file ({reason})."),
            ErrorKind::IncludeDir { dir, reason } => write!(
                f,
                "Unable to open include_dir '{}' ({reason}).",
                dir.display()
            ),
            ErrorKind::Unsupported { option, reason } => {
                write!(f, "{option} is not supported: {reason}.")
            }
            ErrorKind::PerListenerTooLate => {
                f.write_str("per_listener_settings must be set before any other security settings.")
            }
            ErrorKind::MountPointWithoutListener => {
                f.write_str("You must create a listener before using the mount_point option.")
            }
            ErrorKind::UnixSocketWithoutPath => {
                f.write_str("A listener with port 0 must provide a Unix socket path.")
            }
            ErrorKind::PluginOptionWithoutPlugin(option) => write!(
                f,
                "The {option} option exists in the config file without a plugin."
            ),
            ErrorKind::BridgeOptionWithoutConnection(option) => write!(
                f,
                "Invalid bridge configuration: {option} outside a connection section."
            ),
            ErrorKind::BridgeAddressTwice => {
                f.write_str("Invalid bridge configuration: a second address line in one bridge.")
            }
            ErrorKind::DuplicateBridge(name) => write!(f, "Duplicate bridge name \"{name}\"."),
            ErrorKind::IncompleteBridge { name, missing } => write!(
                f,
                "Invalid bridge configuration: bridge \"{name}\" has no {missing}."
            ),
            ErrorKind::DuplicateLocalClientId(id) => write!(
                f,
                "Bridge local_clientid '{id}' is not unique. Try changing or setting the \
                 local_clientid value for one of the bridges."
            ),
            ErrorKind::Unresolvable { host, reason } => {
                write!(f, "Unable to use bind address {host} ({reason}).")
            }
            ErrorKind::DiffersBetweenListeners { option, reason } => {
                write!(f, "{option} differs between listeners: {reason}.")
            }
            ErrorKind::HalfTlsIdentity(missing) => {
                write!(f, "This listener has TLS files but no {missing}.")
            }
        }
    }
}

/// A setting that was read and is without effect, or deprecated: logged once at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The option as written, with its value when that is what matters (`log_dest syslog`).
    pub option: String,
    pub at: Origin,
    pub kind: NoteKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteKind {
    /// Read, and deliberately without effect, for the reason given.
    Ignored(&'static str),
    /// Accepted as mosquitto does, which calls it deprecated.
    Deprecated,
    /// An empty value mosquitto only warns about.
    Empty,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Note { option, at, kind } = self;
        match kind {
            NoteKind::Ignored(why) => write!(f, "{option} ({at}) is ignored: {why}"),
            NoteKind::Deprecated => write!(f, "{option} ({at}) is deprecated"),
            NoteKind::Empty => write!(f, "empty {option} value ({at}) is ignored"),
        }
    }
}
