//! From listener sections to the sockets the broker binds: the default listener rule,
//! local-only mode, bind addresses resolved and filtered by socket_domain, TLS, Unix domain
//! sockets, and WebSockets listeners (which bind an IP address only, as mosquitto's do).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use crate::config::{
    Config, DEFAULT_PORT, ListenerConfig, ListenerKind, ListenerOptions, ListenerProtocol, Origin,
    PendingAddress, SocketDomain, TlsIdentity, UnixListenerConfig,
};

use super::Source;
use super::draft::{Draft, ListenerDraft};
use super::error::{ErrorKind, Note, NoteKind};

/// One listener section resolved to addresses, before its security is settled.
pub(super) struct Resolved {
    pub(super) draft: ListenerDraft,
    pub(super) address: PendingAddress,
    pub(super) kind: ListenerKind,
}

/// The listener sections in force: every `listener`, then the default listener when its
/// options call for it (even beside other listeners, as mosquitto does, #2285). In local-only
/// mode (no `listener`, `port` or `bind_address` line) the default listener's options, if
/// any, go to the loopback listeners instead: mosquitto 2.0.11 opened 0.0.0.0:1883 for them
/// with anonymous access still forced on (#2283), and 2.0.12 stays local-only.
pub(super) fn sections(d: &Draft, ports: &[u16]) -> Vec<ListenerDraft> {
    let default = &d.default_listener;
    let configured = default.creates_default_listener(d.per_listener_settings);
    let mut sections = d.listeners.clone();
    if d.local_only {
        let mut template = default.clone();
        if !configured {
            // Nothing in the file configures these listeners, so no line is theirs.
            template.origin = None;
        }
        let ports = if ports.is_empty() {
            &[DEFAULT_PORT][..]
        } else {
            ports
        };
        let hosts = match default.socket_domain {
            None => &["127.0.0.1", "::1"][..],
            Some(SocketDomain::Ipv4) => &["127.0.0.1"][..],
            Some(SocketDomain::Ipv6) => &["::1"][..],
        };
        for &port in ports {
            for host in hosts {
                sections.push(ListenerDraft {
                    port: Some(port),
                    host: Some(host.to_string()),
                    ..template.clone()
                });
            }
        }
    } else if configured {
        sections.push(ListenerDraft {
            port: Some(default.port.unwrap_or(DEFAULT_PORT)),
            ..default.clone()
        });
    }
    sections
}

/// An error and the line it is about, when there is one.
pub(super) type Located = (Option<Origin>, ErrorKind);

/// Resolves one section's addresses and decides whether it is plain or TLS.
pub(super) fn resolve(draft: ListenerDraft, source: &dyn Source) -> Result<Resolved, Located> {
    let kind = match (&draft.tls.certfile, &draft.tls.keyfile) {
        (Some(_), Some(_)) => ListenerKind::Tls,
        (None, None) => ListenerKind::Plain,
        (Some(_), None) => return Err((tls_at(&draft), ErrorKind::HalfTlsIdentity("keyfile"))),
        (None, Some(_)) => return Err((tls_at(&draft), ErrorKind::HalfTlsIdentity("certfile"))),
    };
    if draft.protocol == Some(ListenerProtocol::WebSockets)
        && let Some(host) = draft
            .host
            .as_deref()
            .filter(|h| IpAddr::from_str(h).is_err())
    {
        let reason = Some("a WebSockets listener binds to an IP address only");
        return Err((
            draft.origin.clone(),
            super::lexer::invalid("listener", host, reason),
        ));
    }
    let address = match &draft.unix_path {
        Some(path) => PendingAddress::Unix(path.clone()),
        None => {
            let port = draft.port.unwrap_or(DEFAULT_PORT);
            let ips = addresses(draft.host.as_deref(), draft.socket_domain, source)
                .map_err(|e| (draft.origin.clone(), e))?;
            PendingAddress::Sockets(
                ips.into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect(),
            )
        }
    };
    Ok(Resolved {
        draft,
        address,
        kind,
    })
}

/// The line to blame for a listener's TLS files: the first TLS option, else the listener.
fn tls_at(draft: &ListenerDraft) -> Option<Origin> {
    draft.tls_origin.clone().or_else(|| draft.origin.clone())
}

/// The IP addresses of a bind address: every IPv4 and IPv6 address without one, an IP
/// literal as written, a host name as the resolver answers; then only `domain`'s family.
fn addresses(
    host: Option<&str>,
    domain: Option<SocketDomain>,
    source: &dyn Source,
) -> Result<Vec<IpAddr>, ErrorKind> {
    let all = match host {
        None => vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ],
        Some(text) => match IpAddr::from_str(text) {
            Ok(ip) => vec![ip],
            Err(_) => lookup(text, source)?,
        },
    };
    let wanted: Vec<IpAddr> = all
        .into_iter()
        .filter(|ip| match domain {
            None => true,
            Some(SocketDomain::Ipv4) => ip.is_ipv4(),
            Some(SocketDomain::Ipv6) => ip.is_ipv6(),
        })
        .collect();
    if wanted.is_empty() {
        let reason = match domain {
            Some(SocketDomain::Ipv6) => "no IPv6 address, and socket_domain is ipv6",
            _ => "no IPv4 address, and socket_domain is ipv4",
        };
        return Err(ErrorKind::Unresolvable {
            host: host.unwrap_or("*").to_string(),
            reason: reason.to_string(),
        });
    }
    Ok(wanted)
}

/// A host name's addresses, each once, in the resolver's order.
fn lookup(host: &str, source: &dyn Source) -> Result<Vec<IpAddr>, ErrorKind> {
    let unresolvable = |reason: String| ErrorKind::Unresolvable {
        host: host.to_string(),
        reason,
    };
    let mut ips: Vec<IpAddr> = Vec::new();
    for ip in source
        .resolve(host)
        .map_err(|e| unresolvable(e.to_string()))?
    {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    if ips.is_empty() {
        return Err(unresolvable("no address".into()));
    }
    Ok(ips)
}

/// Puts the resolved listeners into `config`: the TCP and Unix socket ones the broker opens,
/// the pending ones, and the one certificate of every TLS listener.
pub(super) fn install(
    config: &mut Config,
    listeners: Vec<(Resolved, ListenerOptions)>,
    notes: &mut Vec<Note>,
) -> Result<(), Located> {
    config.listeners.clear();
    let mut identity: Option<(PathBuf, PathBuf)> = None;
    for (resolved, options) in listeners {
        let Resolved {
            draft,
            address,
            kind,
        } = resolved;
        if kind == ListenerKind::Plain
            && let Some(at) = &draft.tls_origin
        {
            let why = "this listener has no certfile and keyfile, so it does not use TLS";
            notes.push(note("TLS option", at, NoteKind::Ignored(why)));
        }
        websocket_notes(&draft, &options, notes);
        let sockets = match address {
            PendingAddress::Sockets(addrs) => addrs,
            PendingAddress::Unix(path) => {
                unix_listener(config, &draft, kind, path, options)?;
                continue;
            }
        };
        if kind == ListenerKind::Tls {
            one_identity(&mut identity, &draft)?;
        }
        config
            .listeners
            .extend(sockets.into_iter().map(|addr| ListenerConfig {
                addr,
                kind,
                options: options.clone(),
            }));
    }
    if let Some((cert, key)) = identity {
        config.tls = Some(TlsIdentity::Pem { cert, key });
    }
    Ok(())
}

/// `http_dir` and `websockets_trust_forwarded_for` mean something on a WebSockets listener
/// only; elsewhere they are noted as ignored rather than silently kept.
fn websocket_notes(draft: &ListenerDraft, options: &ListenerOptions, notes: &mut Vec<Note>) {
    if options.protocol == ListenerProtocol::WebSockets {
        return;
    }
    let Some(at) = &draft.origin else {
        return;
    };
    let why = "this listener does not speak WebSockets";
    if options.http_dir.is_some() {
        notes.push(note("http_dir", at, NoteKind::Ignored(why)));
    }
    if draft.trust_forwarded_for.is_some() {
        let option = "websockets_trust_forwarded_for";
        notes.push(note(option, at, NoteKind::Ignored(why)));
    }
}

/// A `listener 0 PATH` section: plain MQTT over a Unix domain socket. Local clients reach it
/// through the file system's permissions, which is what a Unix socket is for; TLS on it would
/// protect nothing, and minibroker's Unix sockets do not offer it.
fn unix_listener(
    config: &mut Config,
    draft: &ListenerDraft,
    kind: ListenerKind,
    path: PathBuf,
    options: ListenerOptions,
) -> Result<(), Located> {
    if kind == ListenerKind::Tls {
        let option = format!("listener 0 {}", path.display());
        let reason = "minibroker's Unix socket listeners do not use TLS";
        return Err((tls_at(draft), ErrorKind::Unsupported { option, reason }));
    }
    if options.protocol == ListenerProtocol::WebSockets {
        let option = format!("listener 0 {}", path.display());
        let reason = "minibroker's WebSockets listeners need a TCP port";
        return Err((
            draft.origin.clone(),
            ErrorKind::Unsupported { option, reason },
        ));
    }
    config
        .unix_listeners
        .push(UnixListenerConfig { path, options });
    Ok(())
}

/// Every TLS listener presents the one certificate in `Config::tls`, so they must agree.
fn one_identity(
    identity: &mut Option<(PathBuf, PathBuf)>,
    draft: &ListenerDraft,
) -> Result<(), Located> {
    let (Some(cert), Some(key)) = (&draft.tls.certfile, &draft.tls.keyfile) else {
        return Ok(());
    };
    let pair = (cert.clone(), key.clone());
    match identity {
        Some(first) if *first != pair => {
            let reason = "minibroker presents one certificate and key on every TLS listener";
            let option = "certfile/keyfile";
            Err((
                tls_at(draft),
                ErrorKind::DiffersBetweenListeners { option, reason },
            ))
        }
        _ => {
            *identity = Some(pair);
            Ok(())
        }
    }
}

fn note(option: &str, at: &Origin, kind: NoteKind) -> Note {
    Note {
        option: option.to_string(),
        at: at.clone(),
        kind,
    }
}
