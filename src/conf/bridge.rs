//! Bridge sections: `connection NAME` and the options after it, read and checked as mosquitto
//! 2.0 reads them and kept for the bridging issue. A bridge option needs a `connection` in the
//! same file before it; TLS-PSK and OCSP are refused (native-tls has neither).

use crate::config::{
    Bridge, BridgeAddress, BridgeDirection, BridgeProtocol, BridgeTopic, Origin, RestartTimeout,
    Secret, StartType,
};
use crate::topic::{TopicFilter, TopicName};

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
        "topic" => topic(&mut draft.bridge, args),
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

fn is_bridge_option(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "addresses"
            | "topic"
            | "restart_timeout"
            | "keepalive_interval"
            | "bridge_attempt_unsubscribe"
            | "bridge_bind_address"
            | "bridge_cafile"
            | "bridge_alpn"
            | "bridge_capath"
            | "bridge_certfile"
            | "bridge_identity"
            | "bridge_insecure"
            | "bridge_require_ocsp"
            | "bridge_keyfile"
            | "bridge_max_packet_size"
            | "bridge_outgoing_retain"
            | "bridge_protocol_version"
            | "bridge_psk"
            | "bridge_tls_version"
            | "clientid"
            | "remote_clientid"
            | "cleansession"
            | "local_cleansession"
            | "idle_timeout"
            | "local_clientid"
            | "local_password"
            | "local_username"
            | "notifications"
            | "notifications_local_only"
            | "notification_topic"
            | "password"
            | "remote_password"
            | "round_robin"
            | "start_type"
            | "threshold"
            | "try_private"
            | "username"
            | "remote_username"
    )
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
    d.not_yet(format!("connection {name}"), at);
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

/// `topic PATTERN [[[out|in|both] QOS] LOCAL_PREFIX REMOTE_PREFIX]`.
fn topic(bridge: &mut Bridge, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let pattern = lexer::word(args, "topic")?;
    let pattern = if pattern == "\"\"" { "" } else { pattern };
    let mut topic = BridgeTopic {
        pattern: pattern.to_string(),
        direction: BridgeDirection::Out,
        qos: 0,
        local_prefix: None,
        remote_prefix: None,
    };
    if let Some(word) = args.word() {
        topic.direction = match word.to_ascii_lowercase().as_str() {
            "out" => BridgeDirection::Out,
            "in" => BridgeDirection::In,
            "both" => BridgeDirection::Both,
            _ => {
                return Err(invalid(
                    "bridge topic direction",
                    word,
                    Some("expected out, in or both"),
                ));
            }
        };
        let mut rest = std::iter::from_fn(|| args.word()).take_while(|w| !w.starts_with('#'));
        if let Some(qos) = rest.next() {
            topic.qos = lexer::parse_integer(qos)
                .and_then(|q| u8::try_from(q).ok())
                .filter(|&q| q <= 2)
                .ok_or_else(|| invalid("bridge QoS", qos, Some("must be 0, 1 or 2")))?;
        }
        let prefix = |word: Option<&str>| word.filter(|w| *w != "\"\"").map(str::to_string);
        topic.local_prefix = prefix(rest.next());
        topic.remote_prefix = prefix(rest.next());
    }
    check_topic(&topic)?;
    bridge.topics.push(topic);
    Ok(())
}

/// Prefixes are topics without wildcards; each side's full filter must be a valid filter.
fn check_topic(topic: &BridgeTopic) -> Result<(), ErrorKind> {
    for (side, prefix) in [
        ("local", &topic.local_prefix),
        ("remote", &topic.remote_prefix),
    ] {
        if let Some(prefix) = prefix
            && TopicName::parse(prefix).is_err()
        {
            let option = format!("bridge topic {side} prefix");
            return Err(invalid(
                &option,
                prefix,
                Some("it must be a topic without wildcards"),
            ));
        }
        let full = format!("{}{}", prefix.as_deref().unwrap_or(""), topic.pattern);
        if TopicFilter::parse(&full).is_err() {
            return Err(invalid(
                "bridge topic",
                &full,
                Some("not a valid topic filter"),
            ));
        }
    }
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

/// The remaining bridge options: strings, booleans and small integers.
fn settings(b: &mut Bridge, name: &str, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let string =
        |args: &mut Args<'_>, slot: &Option<String>| lexer::string(args, name, slot.is_some());
    match name {
        "bridge_identity" | "bridge_psk" => {
            lexer::string(args, name, false)?;
            return Err(unsupported(name, "native-tls has no TLS-PSK"));
        }
        "bridge_require_ocsp" => {
            if lexer::boolean(args, name)? {
                return Err(unsupported(
                    "bridge_require_ocsp true",
                    "native-tls cannot check OCSP",
                ));
            }
        }
        "bridge_protocol_version" => {
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
        }
        "start_type" => {
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
            args.end(name, text)?;
        }
        "idle_timeout" => b.idle_timeout = positive(args, name)?,
        "threshold" => b.threshold = positive(args, name)?,
        "bridge_max_packet_size" => {
            let n = lexer::integer(args, name)?.max(0);
            b.max_packet_size = u32::try_from(n).unwrap_or(u32::MAX);
        }
        "bridge_attempt_unsubscribe" => b.attempt_unsubscribe = lexer::boolean(args, name)?,
        "bridge_outgoing_retain" => b.outgoing_retain = lexer::boolean(args, name)?,
        "bridge_insecure" => b.tls.insecure = lexer::boolean(args, name)?,
        "cleansession" => b.cleansession = lexer::boolean(args, name)?,
        "local_cleansession" => b.local_cleansession = Some(lexer::boolean(args, name)?),
        "notifications" => b.notifications = lexer::boolean(args, name)?,
        "notifications_local_only" => b.notifications_local_only = lexer::boolean(args, name)?,
        "round_robin" => b.round_robin = lexer::boolean(args, name)?,
        "try_private" => b.try_private = lexer::boolean(args, name)?,
        "bridge_tls_version" => {
            let text = string(args, &b.tls.version)?;
            if !matches!(text.as_str(), "tlsv1.3" | "tlsv1.2" | "tlsv1.1") {
                return Err(invalid(
                    name,
                    &text,
                    Some("expected tlsv1.3, tlsv1.2 or tlsv1.1"),
                ));
            }
            b.tls.version = Some(text);
        }
        "password" | "remote_password" => {
            let taken = b.remote_password.is_some();
            b.remote_password = Some(Secret(lexer::string(args, name, taken)?));
        }
        "local_password" => {
            let taken = b.local_password.is_some();
            b.local_password = Some(Secret(lexer::string(args, name, taken)?));
        }
        _ => {
            let slot = match name {
                "bridge_bind_address" => &mut b.bind_address,
                "bridge_cafile" => &mut b.tls.cafile,
                "bridge_alpn" => &mut b.tls.alpn,
                "bridge_capath" => &mut b.tls.capath,
                "bridge_certfile" => &mut b.tls.certfile,
                "bridge_keyfile" => &mut b.tls.keyfile,
                "clientid" | "remote_clientid" => &mut b.remote_clientid,
                "local_clientid" => &mut b.local_clientid,
                "local_username" => &mut b.local_username,
                "notification_topic" => &mut b.notification_topic,
                _ => &mut b.remote_username,
            };
            *slot = Some(string(args, slot)?);
        }
    }
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
