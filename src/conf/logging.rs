//! The logging options. `log_dest` and `log_type` accumulate over every line and file: the
//! first line replaces the default, `none` clears, `all` (log_type) sets everything. The
//! `logging` module applies them.

use std::path::PathBuf;

use crate::config::{LogDestinations, LogTypes, Origin};
use crate::logging::check_timestamp_format;

use super::draft::Draft;
use super::error::{ErrorKind, NoteKind};
use super::lexer::{self, Args, invalid};

/// Applies `name` if it is a logging option; `None` if it is not one.
pub(super) fn option(
    d: &mut Draft,
    name: &str,
    args: &mut Args<'_>,
    at: &Origin,
) -> Option<Result<(), ErrorKind>> {
    let result = match name {
        "log_dest" => log_dest(d, args),
        "log_type" => log_type(d, args, at),
        "log_facility" => log_facility(d, args),
        "log_timestamp" => lexer::boolean(args, name).map(|on| {
            d.config.logging.timestamp = on;
        }),
        "log_timestamp_format" => timestamp_format(d, args),
        "connection_messages" => lexer::boolean(args, name).map(|on| {
            d.config.logging.connection_messages = on;
        }),
        _ => return None,
    };
    Some(result)
}

/// `log_dest none|stderr|stdout|syslog|topic|dlt|file PATH`.
fn log_dest(d: &mut Draft, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let text = lexer::word(args, "log_dest")?;
    let dest = d.log_dest.get_or_insert_with(LogDestinations::none);
    match text {
        "none" => *dest = LogDestinations::none(),
        "stderr" => dest.stderr = true,
        "stdout" => dest.stdout = true,
        "syslog" => dest.syslog = true,
        "topic" => dest.topic = true,
        "dlt" => {
            return Err(ErrorKind::Unsupported {
                option: "log_dest dlt".into(),
                reason: "minibroker has no DLT (automotive diagnostic log) support",
            });
        }
        "file" => {
            if dest.file.is_some() {
                return Err(ErrorKind::Duplicate("\"log_dest file\"".into()));
            }
            let path = lexer::string(args, "\"log_dest file\"", false)?;
            dest.file = Some(PathBuf::from(path));
        }
        _ => {
            let reason = "expected none, stderr, stdout, syslog, topic, dlt or file";
            return Err(invalid("log_dest", text, Some(reason)));
        }
    }
    if text != "file" {
        args.end("log_dest", text)?;
    }
    d.config.logging.destinations = dest.clone();
    Ok(())
}

/// `log_type TYPE`; mosquitto only warns about an empty value.
fn log_type(d: &mut Draft, args: &mut Args<'_>, at: &Origin) -> Result<(), ErrorKind> {
    let Some(text) = args.word() else {
        d.note("log_type", at, NoteKind::Empty);
        return Ok(());
    };
    let types = d.log_types.get_or_insert_with(LogTypes::none);
    match text {
        "none" => *types = LogTypes::none(),
        "all" => *types = LogTypes::all(),
        "error" => types.error = true,
        "warning" => types.warning = true,
        "notice" => types.notice = true,
        "information" => types.information = true,
        "debug" => types.debug = true,
        "subscribe" => types.subscribe = true,
        "unsubscribe" => types.unsubscribe = true,
        "websockets" => types.websockets = true,
        _ => {
            let reason = "expected debug, error, warning, notice, information, subscribe, \
                          unsubscribe, websockets, none or all";
            return Err(invalid("log_type", text, Some(reason)));
        }
    }
    args.end("log_type", text)?;
    d.config.logging.types = Some(*types);
    Ok(())
}

/// `log_timestamp_format FORMAT`: a strftime format, checked now so that no line fails later.
fn timestamp_format(d: &mut Draft, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let name = "log_timestamp_format";
    let taken = d.config.logging.timestamp_format.is_some();
    let format = lexer::string(args, name, taken)?;
    if check_timestamp_format(&format).is_err() {
        return Err(invalid(name, &format, Some("not a valid strftime format")));
    }
    d.config.logging.timestamp_format = Some(format);
    Ok(())
}

/// `log_facility 0..7`: syslog's LOG_LOCAL0 to LOG_LOCAL7.
fn log_facility(d: &mut Draft, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let n = lexer::integer_in(args, "log_facility", 0, 7, "must be from 0 to 7")?;
    d.config.logging.facility = u8::try_from(n).ok();
    Ok(())
}
