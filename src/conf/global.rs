//! The global options (mosquitto's G scope) other than logging: limits and delivery settings
//! the router applies, and the persistence and process settings kept for later issues.
//! Integers and booleans may repeat, the last one winning; a repeated string is an error.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{MAX_REMAINING_LENGTH, Origin, SyncPolicy};

use super::draft::Draft;
use super::error::{ErrorKind, NoteKind};
use super::lexer::{self, Args, invalid};

/// Applies `name` if it is a global option; `None` if it is not one.
pub(super) fn option(
    d: &mut Draft,
    name: &str,
    args: &mut Args<'_>,
    at: &Origin,
) -> Option<Result<(), ErrorKind>> {
    let result = match name {
        "max_inflight_messages"
        | "max_keepalive"
        | "max_packet_size"
        | "max_queued_bytes"
        | "max_queued_messages"
        | "max_inflight_bytes"
        | "message_size_limit"
        | "queue_qos0_messages" => limit(d, name, args),
        "retain_available"
        | "upgrade_outgoing_qos"
        | "allow_duplicate_messages"
        | "check_retain_source"
        | "set_tcp_nodelay" => delivery(d, name, args, at),
        "memory_limit" | "sys_interval" => size(d, name, args),
        "publish_rate_limit" | "publish_byte_rate_limit" => rate(d, name, args),
        "slow_consumer_timeout" => lexer::integer(args, name).map(|n| {
            // Seconds; 0 or below turns it off.
            let seconds = u64::try_from(n).ok().filter(|&n| n > 0);
            d.config.slow_consumer_timeout = seconds.map(Duration::from_secs);
        }),
        "max_connections_total" => lexer::integer(args, name).map(|n| {
            // As `max_connections`: 0 or below is no limit.
            d.config.max_connections_total = u32::try_from(n).ok().filter(|&n| n > 0);
        }),
        "persistence"
        | "persistence_file"
        | "persistence_location"
        | "autosave_interval"
        | "autosave_on_changes"
        | "persistence_sync"
        | "persistence_sync_period" => persistence(d, name, args),
        "persistent_client_expiration" => expiration(d, args, at),
        "pid_file" => pid_file(d, args),
        "user" => user(d, args),
        "retry_interval" => {
            args.rest();
            let why = "mosquitto 2.0 no longer has it";
            d.note("retry_interval", at, NoteKind::Ignored(why));
            Ok(())
        }
        "websockets_log_level" => lexer::integer(args, name).map(|level| {
            d.config.websockets.log_level = i32::try_from(level).unwrap_or(i32::MAX);
            let why = "it sets libwebsockets' own logging; use log_type websockets";
            d.note(name, at, NoteKind::Ignored(why));
        }),
        "websockets_headers_size" => {
            let range = "must be from 0 to 65535";
            lexer::integer_in(args, name, 0, 65535, range).map(|size| {
                d.config.websockets.headers_size = u16::try_from(size).unwrap_or(u16::MAX);
            })
        }
        _ => return None,
    };
    Some(result)
}

/// The limits the router applies, translated from mosquitto's conventions (0 = no limit).
fn limit(d: &mut Draft, name: &str, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let config = &mut d.config;
    match name {
        "max_inflight_messages" => {
            let n = lexer::integer(args, name)?;
            if n > 65535 {
                return Err(invalid(name, &n.to_string(), Some("must be at most 65535")));
            }
            // mosquitto's "no limit" (0, negative or 65535) is the largest window MQTT has.
            config.max_inflight_messages = match u16::try_from(n) {
                Ok(0) | Err(_) => u16::MAX,
                Ok(n) => n,
            };
        }
        "max_keepalive" => {
            let range = "must be from 0 to 65535";
            let n = lexer::integer_in(args, name, 0, 65535, range)?;
            config.max_keepalive = u16::try_from(n).unwrap_or(u16::MAX);
        }
        "max_packet_size" => {
            let n = lexer::integer(args, name)?;
            if n < 20 {
                return Err(invalid(name, &n.to_string(), Some("must be at least 20")));
            }
            // Beyond the largest packet MQTT can frame a limit changes nothing.
            let largest = i64::from(MAX_REMAINING_LENGTH) + 5;
            config.max_packet_size = u32::try_from(n.min(largest)).unwrap_or(u32::MAX);
        }
        "max_queued_bytes" => {
            let n = lexer::integer(args, name)?.max(0);
            config.max_queued_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        "max_queued_messages" => {
            config.max_queued_messages = match lexer::integer(args, name)? {
                n if n <= 0 => usize::MAX,
                n => usize::try_from(n).unwrap_or(usize::MAX),
            };
        }
        "max_inflight_bytes" => {
            let n = lexer::integer(args, name)?.max(0);
            config.max_inflight_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        "message_size_limit" => {
            let range = "must be from 0 to 268435455";
            let max = i64::from(MAX_REMAINING_LENGTH);
            let n = lexer::integer_in(args, name, 0, max, range)?;
            config.message_size_limit = u32::try_from(n).unwrap_or(u32::MAX);
        }
        _ => config.queue_qos0_offline = lexer::boolean(args, name)?,
    }
    Ok(())
}

/// Delivery switches.
fn delivery(d: &mut Draft, name: &str, args: &mut Args<'_>, at: &Origin) -> Result<(), ErrorKind> {
    let on = lexer::boolean(args, name)?;
    let config = &mut d.config;
    match name {
        "retain_available" => config.retain_available = on,
        "upgrade_outgoing_qos" => config.upgrade_outgoing_qos = on,
        "allow_duplicate_messages" => {
            config.allow_duplicate_messages = on;
            d.note(name, at, NoteKind::Deprecated);
        }
        "check_retain_source" => config.check_retain_source = on,
        _ => {
            if !on {
                let why = "minibroker always disables Nagle's algorithm";
                d.note("set_tcp_nodelay false", at, NoteKind::Ignored(why));
            }
        }
    }
    Ok(())
}

/// The memory budget (`memory_limit`, bytes, 0 for none; see `router::memory`) and the `$SYS`
/// interval (0 turns the tree off).
fn size(d: &mut Draft, name: &str, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let config = &mut d.config;
    if name == "memory_limit" {
        let n = lexer::integer(args, name)?;
        config.memory_limit =
            usize::try_from(n).map_err(|_| invalid(name, &n.to_string(), None))?;
        return Ok(());
    }
    let range = "must be from 0 to 65535";
    let n = lexer::integer_in(args, name, 0, 65535, range)?;
    config.sys_interval = u16::try_from(n).unwrap_or(u16::MAX);
    Ok(())
}

/// `publish_rate_limit RATE [BURST]` and `publish_byte_rate_limit RATE [BURST]`, minibroker's
/// own: per second, with the burst one second's worth unless given; a rate of 0 is no limit.
fn rate(d: &mut Draft, name: &str, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let number = |text: &str| {
        lexer::parse_integer(text)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| invalid(name, text, Some("must be a whole number, 0 or more")))
    };
    let rate = number(lexer::word(args, name)?)?;
    let burst = match args.word() {
        Some(text) => Some(number(text)?),
        None => None,
    };
    args.end(name, &rate.to_string())?;
    let limit = crate::router::RateLimit::new(rate, burst);
    match name {
        "publish_rate_limit" => d.config.publish_rate = limit,
        _ => d.config.publish_byte_rate = limit,
    }
    Ok(())
}

/// mosquitto's persistence options, and minibroker's own `persistence_sync` and
/// `persistence_sync_period` (how often the store reaches the disk itself, not only the
/// operating system).
fn persistence(d: &mut Draft, name: &str, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let p = &mut d.config.persistence;
    match name {
        "persistence" => p.enabled = lexer::boolean(args, name)?,
        "persistence_file" => {
            p.file = Some(PathBuf::from(lexer::string(args, name, p.file.is_some())?));
        }
        "persistence_location" => {
            let dir = lexer::string(args, name, p.location.is_some())?;
            p.location = Some(PathBuf::from(dir));
        }
        "autosave_interval" => {
            let n = lexer::integer(args, name)?.max(0);
            p.autosave_interval = u32::try_from(n).unwrap_or(u32::MAX);
        }
        "autosave_on_changes" => p.autosave_on_changes = lexer::boolean(args, name)?,
        "persistence_sync" => {
            let text = lexer::word(args, name)?;
            let choices = [
                ("batch", SyncPolicy::Batch),
                ("periodic", SyncPolicy::Periodic),
            ];
            p.sync = lexer::keyword(name, text, &choices, "expected batch or periodic")?;
            args.end(name, text)?;
        }
        _ => {
            let range = "must be from 1 to 3600 seconds";
            let n = lexer::integer_in(args, name, 1, 3600, range)?;
            p.sync_period = Duration::from_secs(u64::try_from(n).unwrap_or(1));
        }
    }
    Ok(())
}

/// `persistent_client_expiration N<h|d|w|m|y>`; mosquitto only warns about an empty value.
fn expiration(d: &mut Draft, args: &mut Args<'_>, at: &Origin) -> Result<(), ErrorKind> {
    let name = "persistent_client_expiration";
    let Some(text) = args.word() else {
        d.note(name, at, NoteKind::Empty);
        return Ok(());
    };
    let reason = Some("expected a positive number followed by h, d, w, m or y");
    let bad = || invalid(name, text, reason);
    let unit = text.chars().last().ok_or_else(bad)?;
    let seconds: u64 = match unit {
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'm' => 30 * 86_400,
        'y' => 365 * 86_400,
        _ => return Err(bad()),
    };
    let count = text
        .strip_suffix(unit)
        .and_then(lexer::parse_integer)
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n > 0)
        .ok_or_else(bad)?;
    let total = count.checked_mul(seconds).ok_or_else(bad)?;
    args.end(name, text)?;
    d.config.persistent_client_expiration = Some(Duration::from_secs(total));
    Ok(())
}

fn pid_file(d: &mut Draft, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let process = &mut d.config.process;
    let path = lexer::string(args, "pid_file", process.pid_file.is_some())?;
    process.pid_file = Some(PathBuf::from(path));
    Ok(())
}

/// `user NAME`: unlike other strings, the last one wins (mosquitto frees the previous one).
fn user(d: &mut Draft, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    d.config.process.user = Some(lexer::string(args, "user", false)?);
    Ok(())
}
