//! Log output for the command: mosquitto's `<unix seconds>: <message>` lines on stderr, with the
//! level named only where it matters (warnings and errors).

use std::fmt::Display;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter};

use crate::config::LogTypes;

/// Installs the logger. `level` (from `-v`/`-q`) wins; without it `RUST_LOG` is used when set,
/// and info otherwise.
pub fn init_logging(level: Option<LevelFilter>) {
    let mut builder = env_logger::Builder::new();
    builder.target(env_logger::Target::Stderr);
    match (level, std::env::var("RUST_LOG")) {
        (Some(level), _) => builder.filter_level(level),
        (None, Ok(filters)) if !filters.trim().is_empty() => builder.parse_filters(&filters),
        (None, _) => builder.filter_level(LevelFilter::Info),
    };
    builder.format(|buf, record| {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        writeln!(buf, "{}", line(seconds, record.level(), record.args()))
    });
    // A logger installed earlier (a host program's) is kept.
    let _ = builder.try_init();
}

/// Logs what the command line gathered before logging was set up (the files read, the
/// configuration's notes), each at its level.
pub fn log_startup(lines: &[(Level, String)]) {
    for (level, message) in lines {
        log::log!(*level, "{message}");
    }
}

/// The log level closest to a mosquitto.conf's `log_type` set: the most verbose kind wins.
pub(super) fn level_for(types: LogTypes) -> LevelFilter {
    if types.debug {
        LevelFilter::Debug
    } else if types.information
        || types.notice
        || types.subscribe
        || types.unsubscribe
        || types.websockets
    {
        LevelFilter::Info
    } else if types.warning {
        LevelFilter::Warn
    } else if types.error {
        LevelFilter::Error
    } else {
        LevelFilter::Off
    }
}

fn line(seconds: u64, level: Level, message: impl Display) -> String {
    match level {
        Level::Error => format!("{seconds}: Error: {message}"),
        Level::Warn => format!("{seconds}: Warning: {message}"),
        _ => format!("{seconds}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_carry_no_level() {
        assert_eq!(
            line(1_700_000_000, Level::Info, "listening on 127.0.0.1:1883"),
            "1700000000: listening on 127.0.0.1:1883"
        );
        assert_eq!(line(5, Level::Debug, "x"), "5: x");
    }

    #[test]
    fn warnings_and_errors_are_named() {
        assert_eq!(line(5, Level::Warn, "careful"), "5: Warning: careful");
        assert_eq!(line(5, Level::Error, "broken"), "5: Error: broken");
    }
}
