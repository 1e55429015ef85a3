//! The text of one log line: mosquitto's `PREFIX: MSG`, where the prefix is Unix seconds or a
//! strftime time stamp in local time, and the syslog datagram that carries the same message.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::format::{Item, StrftimeItems};

use super::kinds::Kind;

/// Checks a `log_timestamp_format` value; the error says which part is wrong. Formatting with
/// an invalid format would fail on every line, so it is refused when the file is read.
pub fn check_timestamp_format(format: &str) -> Result<(), String> {
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!("{format:?} is not a valid strftime format"));
    }
    Ok(())
}

/// The time stamp for a line written at `now`: Unix seconds, or `format` in local time.
pub fn timestamp(now: SystemTime, format: Option<&str>) -> String {
    let Some(format) = format else {
        let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        return seconds.to_string();
    };
    let local: chrono::DateTime<chrono::Local> = now.into();
    let mut out = String::new();
    // A format checked by `check_timestamp_format` cannot fail; if one does, the line keeps
    // what was written rather than losing the message.
    let _ = write!(out, "{}", local.format(format));
    out
}

/// `PREFIX: [Error: |Warning: ]MESSAGE`, or the message alone without a prefix.
pub fn format_line(prefix: Option<&str>, kind: Kind, message: &str) -> String {
    match prefix {
        Some(prefix) => format!("{prefix}: {}{message}", kind.label()),
        None => format!("{}{message}", kind.label()),
    }
}

/// A syslog datagram for the local daemon (RFC 3164 form, which `/dev/log` readers accept):
/// `<PRI>minibroker[PID]: MESSAGE`. The daemon adds the time stamp itself.
pub fn syslog_datagram(facility: u8, kind: Kind, pid: u32, message: &str) -> Vec<u8> {
    let priority = u16::from(facility) * 8 + u16::from(kind.syslog_severity());
    format!("<{priority}>minibroker[{pid}]: {}{message}", kind.label()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lines_read_as_mosquittos() {
        assert_eq!(
            format_line(Some("1700000000"), Kind::Notice, "Opening listener"),
            "1700000000: Opening listener"
        );
        assert_eq!(
            format_line(Some("5"), Kind::Error, "Unable to open"),
            "5: Error: Unable to open"
        );
        assert_eq!(
            format_line(None, Kind::Warning, "careful"),
            "Warning: careful"
        );
    }

    #[test]
    fn timestamps_are_unix_seconds_or_strftime() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(timestamp(at, None), "1700000000");
        assert_eq!(timestamp(at, Some("%s")), "1700000000");
        // Local time: the year is all that is the same in every time zone at this instant.
        assert!(timestamp(at, Some("%Y-%m-%dT%H:%M:%S")).starts_with("2023-11-1"));
    }

    #[test]
    fn bad_strftime_formats_are_refused() {
        assert!(check_timestamp_format("%Y-%m-%dT%H:%M:%S").is_ok());
        assert!(check_timestamp_format("plain text").is_ok());
        assert!(check_timestamp_format("%Q").is_err());
        assert!(check_timestamp_format("100%").is_err());
    }

    #[test]
    fn syslog_priority_is_facility_times_eight_plus_severity() {
        // daemon (3) and error (3): 27.
        assert_eq!(
            syslog_datagram(3, Kind::Error, 42, "x"),
            b"<27>minibroker[42]: Error: x"
        );
        // local7 (23) and debug (7): 191.
        assert_eq!(
            syslog_datagram(23, Kind::Debug, 1, "y"),
            b"<191>minibroker[1]: y"
        );
    }
}
