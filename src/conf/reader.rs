//! Reading the files: each line of the main file and of the files `include_dir` brings in,
//! handed to the option that owns its name, with every error placed at its file and line.

use std::cmp::Ordering;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::Origin;

use super::Source;
use super::draft::{Draft, Scope};
use super::error::{ConfError, ErrorKind};
use super::lexer::{self, Args};
use super::{bridge, global, listener, logging, security, tls};

/// Options of mosquitto 2.1 that 2.0 refuses as unknown; named in the error so a user who
/// copied them from newer documentation knows why.
const ONLY_IN_2_1: [&str; 23] = [
    "accept_protocol_versions",
    "global_max_clients",
    "global_max_connections",
    "global_plugin",
    "plugin_load",
    "plugin_use",
    "enable_control_api",
    "enable_proxy_protocol",
    "proxy_protocol_v2_require_tls",
    "websockets_origin",
    "max_topic_alias_broker",
    "disable_client_cert_date_checks",
    "bridge_ciphers",
    "bridge_ciphers_tls1.3",
    "bridge_max_topic_alias",
    "bridge_receive_maximum",
    "bridge_reload_type",
    "bridge_session_expiry_interval",
    "bridge_tcp_keepalive",
    "bridge_tcp_user_timeout",
    "bridge_tls_use_os_certs",
    "retained_persistence",
    "quic_log_level",
];

/// Reads one file into `d`: the main file (`included_from` is `None`) or an included one.
pub(super) fn read(
    d: &mut Draft,
    path: &Path,
    included_from: Option<&Origin>,
    source: &dyn Source,
    files: &mut Vec<PathBuf>,
) -> Result<(), ConfError> {
    let error = |line, kind| ConfError {
        file: path.to_path_buf(),
        line,
        kind,
        included_from: included_from.cloned().map(Box::new),
    };
    let contents = source
        .read(path)
        .map_err(|e| error(None, ErrorKind::Unreadable(reason(&e))))?;
    files.push(path.to_path_buf());
    // Every file starts outside any listener or bridge section.
    let mut scope = Scope {
        level: u8::from(included_from.is_some()),
        ..Scope::default()
    };
    for (number, bytes) in lexer::option_lines(&contents) {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| error(Some(number), ErrorKind::MalformedUtf8))?;
        let Some((name, mut args)) = Args::split(text) else {
            continue;
        };
        let at = Origin {
            file: path.to_path_buf(),
            line: number,
        };
        if name == "include_dir" {
            // mosquitto reads include_dir in the main file only, and ignores it elsewhere.
            if scope.level == 0 {
                include_dir(d, &mut args, &at, source, files)?;
            }
            continue;
        }
        apply(d, &mut scope, name, &mut args, &at).map_err(|kind| error(Some(number), kind))?;
    }
    Ok(())
}

/// Hands one line to the option that owns `name`.
fn apply(
    d: &mut Draft,
    scope: &mut Scope,
    name: &str,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let handled = listener::option(d, scope, name, args, at)
        .or_else(|| tls::option(d, scope, name, args, at))
        .or_else(|| security::option(d, scope, name, args, at))
        .or_else(|| bridge::option(d, scope, name, args, at))
        .or_else(|| logging::option(d, name, args, at))
        .or_else(|| global::option(d, name, args, at));
    handled.unwrap_or_else(|| {
        Err(if ONLY_IN_2_1.contains(&name) {
            ErrorKind::OnlyInMosquitto21(name.to_string())
        } else {
            ErrorKind::Unknown(name.to_string())
        })
    })
}

/// `include_dir DIR`: every `*.conf` file in DIR (names longer than 5 bytes, no recursion),
/// in mosquitto's order, each read as if it were the main file's continuation but with fresh
/// section state.
fn include_dir(
    d: &mut Draft,
    args: &mut Args<'_>,
    at: &Origin,
    source: &dyn Source,
    files: &mut Vec<PathBuf>,
) -> Result<(), ConfError> {
    let error = |kind| ConfError {
        file: at.file.clone(),
        line: Some(at.line),
        kind,
        included_from: None,
    };
    let dir = lexer::string(args, "include_dir", false).map_err(error)?;
    let dir = PathBuf::from(dir);
    let mut names: Vec<OsString> = source
        .list_dir(&dir)
        .map_err(|e| {
            error(ErrorKind::IncludeDir {
                dir: dir.clone(),
                reason: reason(&e),
            })
        })?
        .into_iter()
        .filter(|name| {
            let bytes = name.as_encoded_bytes();
            bytes.len() > 5 && bytes.ends_with(b".conf")
        })
        .collect();
    names.sort_by(|a, b| include_order(a.as_encoded_bytes(), b.as_encoded_bytes()));
    for name in names {
        read(d, &dir.join(name), Some(at), source, files)?;
    }
    Ok(())
}

/// mosquitto's `scmp_p`: byte by byte, case-insensitively first and uppercase first where
/// only the case differs, so `00 01 A a B b`; a name sorts before its own extensions.
pub(super) fn include_order(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = x
            .to_ascii_uppercase()
            .cmp(&y.to_ascii_uppercase())
            .then(x.cmp(y));
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// The operating system's text for an error, without std's " (os error N)".
fn reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) if error.raw_os_error().is_some() => text.get(..at).unwrap_or(&text).to_string(),
        _ => text,
    }
}
