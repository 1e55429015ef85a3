//! Bridge sections: `connection NAME` and the options after it, read and checked as mosquitto
//! 2.0 reads them, for [`crate::bridge`]. A bridge option needs a `connection` in the
//! same file before it; TLS-PSK and OCSP are refused (native-tls has neither).

use crate::config::{
    Bridge, BridgeAddress, BridgeProtocol, Origin, RestartTimeout, Secret, StartType,
};

use super::bridge_topic;
use super::draft::{BridgeDraft, Draft, Scope};
use super::error::{ErrorKind, NoteKind};
use super::lexer::{self, Args, invalid};

/// Applies `name` if it is a bridge option; `None` if it is not one.
pub(super) fn option(
    d: &mut Draft,
    scope: &mut Scope,
    name: &str,
    args: &mut Args<'_>,
    at: &Origin,
) -> Option<Result<(), ErrorKind>> {
    if name == "connection" {
        return Some(connection(d, scope, args, at));
    }
    if !is_bridge_option(name) {
        return None;
    }
    let Some(draft) = scope.bridge.and_then(|i| d.bridges.get_mut(i)) else {
        return Some(Err(ErrorKind::BridgeOptionWithoutConnection(
            name.to_string(),
        )));
    };
    let result = match name {
        "address" | "addresses" => address(draft, args),
        "topic" => bridge_topic::topic(&mut draft.bridge, args),
        "restart_timeout" => restart_timeout(&mut draft.bridge, args),
        "keepalive_interval" => keepalive(&mut draft.bridge, args).map(|clamped| {
            if clamped {
                let why = "below 5 seconds; 5 is used";
                d.note("keepalive_interval", at, NoteKind::Ignored(why));
            }
        }),
        _ => settings(&mut draft.bridge, name, args),
    };
    Some(result)
}

/// The options of a `connection` section (each needs one before it).
const BRIDGE_OPTIONS: [&str; 38] = [
    "address",
    "addresses",
    "topic",
    "restart_timeout",
    "keepalive_interval",
    "bridge_attempt_unsubscribe",
    "bridge_bind_address",
    "bridge_cafile",
    "bridge_alpn",
    "bridge_capath",
    "bridge_certfile",
    "bridge_identity",
    "bridge_insecure",
    "bridge_require_ocsp",
    "bridge_keyfile",
    "bridge_max_packet_size",
    "bridge_outgoing_retain",
    "bridge_protocol_version",
    "bridge_psk",
    "bridge_tls_version",
    "clientid",
    "remote_clientid",
    "cleansession",
    "local_cleansession",
    "idle_timeout",
    "local_clientid",
    "local_password",
    "local_username",
    "notifications",
    "notifications_local_only",
    "notification_topic",
    "password",
    "remote_password",
    "round_robin",
    "start_type",
    "threshold",
    "try_private",
    "username",
];

fn is_bridge_option(name: &str) -> bool {
    BRIDGE_OPTIONS.contains(&name) || name == "remote_username"
}

/// `connection NAME` opens a bridge section; names are unique across all files.
fn connection(
    d: &mut Draft,
    scope: &mut Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let name = lexer::word(args, "connection")?;
    args.end("connection", name)?;
    if d.bridges.iter().any(|b| b.bridge.name == name) {
        return Err(ErrorKind::DuplicateBridge(name.to_string()));
    }
    let mut bridge = Bridge::new(name);
    bridge.origin = Some(at.clone());
    d.bridges.push(BridgeDraft {
        bridge,
        address_seen: false,
    });
    scope.bridge = Some(d.bridges.len() - 1);
    Ok(())
}

/// `address HOST[:PORT] …` on one line; the last `:` splits, so IPv6 needs a port.
fn address(draft: &mut BridgeDraft, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    if draft.address_seen {
        return Err(ErrorKind::BridgeAddressTwice);
    }
    let mut addresses = Vec::new();
    while let Some(word) = args.word() {
        if word.starts_with('#') {
            args.rest();
            break;
        }
        let (host, port) = match word.rsplit_once(':') {
            Some((host, port)) => {
                let port = lexer::parse_integer(port)
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|&p| p > 0)
                    .ok_or_else(|| invalid("port", port, Some("must be from 1 to 65535")))?;
                (host, port)
            }
            None => (word, 1883),
        };
        addresses.push(BridgeAddress {
            host: host.to_string(),
            port,
        });
    }
    if addresses.is_empty() {
        return Err(ErrorKind::Empty("address".into()));
    }
    draft.address_seen = true;
    draft.bridge.addresses = addresses;
    Ok(())
}

/// `restart_timeout N` (a constant delay) or `restart_timeout BASE CAP` (a backoff).
fn restart_timeout(bridge: &mut Bridge, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let name = "restart_timeout";
    let first = lexer::word(args, name)?;
    let base = seconds(first, name)?.max(1);
    bridge.restart_timeout = match args.word().filter(|w| !w.starts_with('#')) {
        None => RestartTimeout::Constant(base),
        Some(second) => {
            let cap = seconds(second, name)?;
            if cap < base {
                let value = format!("{first} {second}");
                return Err(invalid(
                    name,
                    &value,
                    Some("the cap is lower than the base"),
                ));
            }
            args.end(name, second)?;
            RestartTimeout::Backoff { base, cap }
        }
    };
    Ok(())
}

fn seconds(text: &str, option: &str) -> Result<u32, ErrorKind> {
    lexer::parse_integer(text)
        .map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
        .ok_or_else(|| invalid(option, text, None))
}

/// Returns whether the value was raised to mosquitto's minimum of 5 seconds.
fn keepalive(bridge: &mut Bridge, args: &mut Args<'_>) -> Result<bool, ErrorKind> {
    let n = lexer::integer(args, "keepalive_interval")?;
    if n > 65535 {
        return Err(invalid(
            "keepalive_interval",
            &n.to_string(),
            Some("must be at most 65535"),
        ));
    }
    bridge.keepalive_interval = u16::try_from(n.max(5)).unwrap_or(5);
    Ok(n < 5)
}

/// The remaining bridge options: the refused ones, choices, switches, numbers and strings.
fn settings(b: &mut Bridge, name: &str, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    match name {
        "bridge_identity" | "bridge_psk" => {
            lexer::string(args, name, false)?;
            Err(unsupported(name, "native-tls has no TLS-PSK"))
        }
        "bridge_require_ocsp" => match lexer::boolean(args, name)? {
            true => Err(unsupported(
                "bridge_require_ocsp true",
                "native-tls cannot check OCSP",
            )),
            false => Ok(()),
        },
        "bridge_protocol_version" | "start_type" => choice(b, name, args),
        "idle_timeout" => positive(args, name).map(|n| b.idle_timeout = n),
        "threshold" => positive(args, name).map(|n| b.threshold = n),
        "bridge_max_packet_size" => lexer::integer(args, name).map(|n| {
            b.max_packet_size = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        }),
        "bridge_attempt_unsubscribe"
        | "bridge_outgoing_retain"
        | "bridge_insecure"
        | "cleansession"
        | "local_cleansession"
        | "notifications"
        | "notifications_local_only"
        | "round_robin"
        | "try_private" => switch(b, name, args),
        _ => string(b, name, args),
    }
}

/// `bridge_protocol_version` and `start_type`: one of a few words.
fn choice(b: &mut Bridge, name: &str, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    if name == "bridge_protocol_version" {
        // The rest of the line, untrimmed: mosquitto compares it whole.
        let text = args.rest().ok_or_else(|| ErrorKind::Empty(name.into()))?;
        b.protocol_version = match text {
            "mqttv31" => BridgeProtocol::V31,
            "mqttv311" => BridgeProtocol::V311,
            "mqttv50" => BridgeProtocol::V5,
            _ => {
                return Err(invalid(
                    name,
                    text,
                    Some("expected mqttv31, mqttv311 or mqttv50"),
                ));
            }
        };
        return Ok(());
    }
    let text = lexer::word(args, name)?;
    b.start_type = match text {
        "automatic" => StartType::Automatic,
        "lazy" => StartType::Lazy,
        "once" => StartType::Once,
        "manual" => {
            return Err(unsupported(
                "start_type manual",
                "mosquitto has no manual start",
            ));
        }
        _ => {
            return Err(invalid(
                name,
                text,
                Some("expected automatic, lazy or once"),
            ));
        }
    };
    args.end(name, text)
}

fn switch(b: &mut Bridge, name: &str, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let on = lexer::boolean(args, name)?;
    match name {
        "bridge_attempt_unsubscribe" => b.attempt_unsubscribe = on,
        "bridge_outgoing_retain" => b.outgoing_retain = on,
        "bridge_insecure" => b.tls.insecure = on,
        "cleansession" => b.cleansession = on,
        "local_cleansession" => b.local_cleansession = Some(on),
        "notifications" => b.notifications = on,
        "notifications_local_only" => b.notifications_local_only = on,
        "round_robin" => b.round_robin = on,
        _ => b.try_private = on,
    }
    Ok(())
}

/// The string options; each may be given once per bridge.
fn string(b: &mut Bridge, name: &str, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let secret = match name {
        "password" | "remote_password" => Some(&mut b.remote_password),
        "local_password" => Some(&mut b.local_password),
        _ => None,
    };
    if let Some(slot) = secret {
        *slot = Some(Secret(lexer::string(args, name, slot.is_some())?));
        return Ok(());
    }
    let slot = match name {
        "bridge_bind_address" => &mut b.bind_address,
        "bridge_cafile" => &mut b.tls.cafile,
        "bridge_alpn" => &mut b.tls.alpn,
        "bridge_capath" => &mut b.tls.capath,
        "bridge_certfile" => &mut b.tls.certfile,
        "bridge_keyfile" => &mut b.tls.keyfile,
        "bridge_tls_version" => &mut b.tls.version,
        "clientid" | "remote_clientid" => &mut b.remote_clientid,
        "local_clientid" => &mut b.local_clientid,
        "local_username" => &mut b.local_username,
        "notification_topic" => &mut b.notification_topic,
        _ => &mut b.remote_username,
    };
    let value = lexer::string(args, name, slot.is_some())?;
    if name == "bridge_tls_version" && !matches!(value.as_str(), "tlsv1.3" | "tlsv1.2" | "tlsv1.1")
    {
        return Err(invalid(
            name,
            &value,
            Some("expected tlsv1.3, tlsv1.2 or tlsv1.1"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// Seconds or messages of at least 1 (mosquitto raises lower values to 1).
fn positive(args: &mut Args<'_>, name: &str) -> Result<u32, ErrorKind> {
    let n = lexer::integer(args, name)?.max(1);
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

fn unsupported(option: &str, reason: &'static str) -> ErrorKind {
    ErrorKind::Unsupported {
        option: option.to_string(),
        reason,
    }
}
