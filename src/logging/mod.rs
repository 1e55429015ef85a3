//! The broker's log, as mosquitto writes it: `log_dest` destinations (several at once),
//! `log_type` selection, time stamps, `connection_messages`, a log file reopened on SIGHUP, and
//! the `$SYS/broker/log/...` topics.
//!
//! The rest of the crate logs through the `log` crate; [`install`] makes this module the
//! logger for the `minibroker` command. An embedding program keeps its own logger and may
//! ignore this module. `RUST_LOG`, when set and neither `-v` nor `-q` was given, filters
//! records by module as env_logger does, in place of `log_type`.

mod kinds;
mod line;
mod settings;
mod sink;

use std::sync::Mutex;
use std::time::SystemTime;

use log::{LevelFilter, Log, Metadata, Record};

pub use kinds::{
    CONNECTION_TARGET, Kind, LogTypes, SUBSCRIBE_TARGET, UNSUBSCRIBE_TARGET, WEBSOCKETS_TARGET,
};
pub use line::check_timestamp_format;
pub use settings::{LogDestination, LogSettings};
pub use sink::publish_topic_lines;

use line::{format_line, timestamp};
use sink::Sinks;

struct State {
    settings: LogSettings,
    sinks: Sinks,
    /// `-v`/`-q` from the command line, which wins over `log_type` across reloads.
    verbosity: Option<LevelFilter>,
    /// `RUST_LOG`'s filter, when it decides instead of `log_type`.
    env_filter: Option<env_logger::Logger>,
}

struct BrokerLogger {
    state: Mutex<Option<State>>,
}

static LOGGER: BrokerLogger = BrokerLogger {
    state: Mutex::new(None),
};

/// Makes the broker's logger the process's logger with `settings`; `verbosity` (from `-v` or
/// `-q`) overrides `log_type`. Returns the problems met opening the destinations, for the
/// caller to log once the logger is in place. A logger installed earlier (a host program's)
/// is kept, and then this only records the settings.
pub fn install(settings: &LogSettings, verbosity: Option<LevelFilter>) -> Vec<String> {
    let env_filter = if verbosity.is_none() {
        rust_log_filter()
    } else {
        None
    };
    let problems = replace(settings, verbosity, env_filter);
    let _ = log::set_logger(&LOGGER);
    problems
}

/// Applies new settings (after SIGHUP re-read the configuration): reopens the destinations and
/// keeps `RUST_LOG`, `-v` and `-q` as they were given at start.
pub fn reconfigure(settings: &LogSettings) -> Vec<String> {
    let (verbosity, env_filter) = match LOGGER.state.lock() {
        Ok(mut state) => state
            .take()
            .map_or((None, None), |old| (old.verbosity, old.env_filter)),
        Err(_) => return Vec::new(),
    };
    replace(settings, verbosity, env_filter)
}

/// Reopens the log file at its configured path (logrotate moved it away and sent SIGHUP).
pub fn reopen() -> Option<String> {
    let mut state = LOGGER.state.lock().ok()?;
    state.as_mut()?.sinks.reopen()
}

fn replace(
    settings: &LogSettings,
    verbosity: Option<LevelFilter>,
    env_filter: Option<env_logger::Logger>,
) -> Vec<String> {
    let mut settings = settings.clone();
    if let Some(level) = verbosity {
        settings.types = types_for(level);
    }
    let (sinks, problems) = Sinks::open(&settings);
    let max_level = match &env_filter {
        Some(filter) => filter.filter(),
        None => settings.types.max_level(),
    };
    if let Ok(mut state) = LOGGER.state.lock() {
        *state = Some(State {
            settings,
            sinks,
            verbosity,
            env_filter,
        });
    }
    log::set_max_level(max_level);
    problems
}

/// The log types `-q` (errors only) and `-v` (everything) stand for.
fn types_for(level: LevelFilter) -> LogTypes {
    match level {
        LevelFilter::Off => LogTypes::NONE,
        LevelFilter::Error => LogTypes::ERROR,
        LevelFilter::Warn => LogTypes::ERROR.union(LogTypes::WARNING),
        LevelFilter::Info => LogTypes::DEFAULT,
        LevelFilter::Debug | LevelFilter::Trace => LogTypes::ALL,
    }
}

fn rust_log_filter() -> Option<env_logger::Logger> {
    let filters = std::env::var("RUST_LOG").ok()?;
    if filters.trim().is_empty() {
        return None;
    }
    Some(env_logger::Builder::new().parse_filters(&filters).build())
}

impl Log for BrokerLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        let Ok(mut guard) = self.state.lock() else {
            return;
        };
        let Some(state) = guard.as_mut() else {
            return;
        };
        if !admits(state, record) {
            return;
        }
        let kind = Kind::of(record);
        let message = record.args().to_string();
        let stamp = state.settings.timestamp.then(|| {
            timestamp(
                SystemTime::now(),
                state.settings.timestamp_format.as_deref(),
            )
        });
        let line = format_line(stamp.as_deref(), kind, &message);
        state.sinks.write(kind, &line, &message);
    }

    fn flush(&self) {
        if let Ok(mut guard) = self.state.lock()
            && let Some(state) = guard.as_mut()
        {
            state.sinks.flush();
        }
    }
}

fn admits(state: &State, record: &Record<'_>) -> bool {
    if record.target() == CONNECTION_TARGET && !state.settings.connection_messages {
        return false;
    }
    match &state.env_filter {
        Some(filter) => filter.matches(record),
        None => Kind::of(record).selected_by(state.settings.types),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(level: log::Level, target: &'a str, args: std::fmt::Arguments<'a>) -> Record<'a> {
        Record::builder()
            .level(level)
            .target(target)
            .args(args)
            .build()
    }

    #[test]
    fn log_types_select_by_level_and_target() {
        let notice = record(log::Level::Info, "minibroker::net", format_args!("x"));
        let subscribe = record(log::Level::Info, SUBSCRIBE_TARGET, format_args!("s"));
        let debug = record(log::Level::Debug, "minibroker::router", format_args!("d"));
        assert!(Kind::of(&notice).selected_by(LogTypes::DEFAULT));
        assert!(Kind::of(&notice).selected_by(LogTypes::INFORMATION));
        assert!(!Kind::of(&subscribe).selected_by(LogTypes::DEFAULT));
        assert!(Kind::of(&subscribe).selected_by(LogTypes::SUBSCRIBE));
        assert!(!Kind::of(&debug).selected_by(LogTypes::DEFAULT));
        assert!(Kind::of(&debug).selected_by(LogTypes::ALL));
        assert_eq!(Kind::of(&subscribe).topic(), "$SYS/broker/log/M/subscribe");
    }

    #[test]
    fn log_type_names_are_mosquittos() {
        for name in [
            "debug",
            "error",
            "warning",
            "notice",
            "information",
            "subscribe",
            "unsubscribe",
            "websockets",
            "none",
            "all",
        ] {
            assert!(LogTypes::from_name(name).is_some(), "{name}");
        }
        assert_eq!(LogTypes::from_name("info"), None);
        assert_eq!(LogTypes::from_name("Debug"), None);
        assert_eq!(LogTypes::NONE.max_level(), LevelFilter::Off);
        assert_eq!(LogTypes::DEFAULT.max_level(), LevelFilter::Info);
        assert_eq!(LogTypes::ERROR.max_level(), LevelFilter::Error);
    }
}
