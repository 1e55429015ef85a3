//! The security options (mosquitto's S scope) and `per_listener_settings`, which decides
//! whether they are global or belong to the listener section they are written in.

use std::path::PathBuf;

use crate::config::Origin;

use super::draft::{Draft, Scope};
use super::error::{ErrorKind, NoteKind};
use super::lexer::{self, Args};

/// Applies `name` if it is a security option; `None` if it is not one.
pub(super) fn option(
    d: &mut Draft,
    scope: &Scope,
    name: &str,
    args: &mut Args<'_>,
    at: &Origin,
) -> Option<Result<(), ErrorKind>> {
    let result = match name {
        "per_listener_settings" => per_listener_settings(d, args),
        "allow_anonymous" => allow_anonymous(d, scope, args, at),
        "password_file" | "acl_file" => file(d, scope, name, args, at),
        "allow_zero_length_clientid" => allow_zero_length_clientid(d, scope, args, at),
        "auto_id_prefix" => auto_id_prefix(d, scope, args, at),
        "clientid_prefixes" => clientid_prefixes(d, args, at),
        "psk_file" => refuse(args, name, "native-tls has no TLS-PSK"),
        "auth_plugin" | "plugin" => refuse(args, name, "minibroker cannot load mosquitto plugins"),
        "auth_plugin_deny_special_chars" => {
            Err(ErrorKind::PluginOptionWithoutPlugin(name.to_string()))
        }
        _ if name.starts_with("auth_opt_") || name.starts_with("plugin_opt_") => {
            // A plugin line is always refused, so no plugin option can have one before it.
            Err(ErrorKind::PluginOptionWithoutPlugin(name.to_string()))
        }
        _ => return None,
    };
    Some(result)
}

/// Once true it stays true, and it must come before every security option, because the
/// options read so far went to the global scope.
fn per_listener_settings(d: &mut Draft, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    if d.per_listener_settings {
        args.rest();
        return Ok(());
    }
    let on = lexer::boolean(args, "per_listener_settings")?;
    if on && d.security_seen {
        return Err(ErrorKind::PerListenerTooLate);
    }
    d.per_listener_settings = on;
    d.config.per_listener_settings = on;
    Ok(())
}

/// The last line wins; the value is resolved once every file is read (local-only mode
/// forces it on).
fn allow_anonymous(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let on = lexer::boolean(args, "allow_anonymous")?;
    d.security(scope, at).allow_anonymous = Some((on, at.clone()));
    Ok(())
}

fn file(
    d: &mut Draft,
    scope: &Scope,
    name: &str,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let security = d.security(scope, at);
    let slot = match name {
        "password_file" => &mut security.password_file,
        _ => &mut security.acl_file,
    };
    let path = lexer::string(args, name, slot.is_some())?;
    *slot = Some(PathBuf::from(path));
    Ok(())
}

fn allow_zero_length_clientid(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let on = lexer::boolean(args, "allow_zero_length_clientid")?;
    d.security(scope, at).allow_zero_length_clientid = Some(on);
    Ok(())
}

fn auto_id_prefix(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let security = d.security(scope, at);
    let prefix = lexer::string(args, "auto_id_prefix", security.auto_id_prefix.is_some())?;
    security.auto_id_prefix = Some(prefix);
    Ok(())
}

fn clientid_prefixes(d: &mut Draft, args: &mut Args<'_>, at: &Origin) -> Result<(), ErrorKind> {
    let taken = d.config.clientid_prefixes.is_some();
    d.config.clientid_prefixes = Some(lexer::string(args, "clientid_prefixes", taken)?);
    d.note("clientid_prefixes", at, NoteKind::Deprecated);
    Ok(())
}

/// Reads the value (so a malformed line gets the usual error), then refuses the option.
fn refuse(args: &mut Args<'_>, name: &str, reason: &'static str) -> Result<(), ErrorKind> {
    lexer::string(args, name, false)?;
    Err(ErrorKind::Unsupported {
        option: name.to_string(),
        reason,
    })
}
