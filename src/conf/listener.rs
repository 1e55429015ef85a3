//! The listener options (mosquitto's L scope): `listener` sections, the deprecated `port` and
//! `bind_address` of the default listener, and each listener's own settings except TLS.

use std::path::PathBuf;

use crate::config::{ListenerProtocol, Origin, SocketDomain};
use crate::topic::TopicName;

use super::draft::{Draft, ListenerDraft, Scope};
use super::error::{ErrorKind, NoteKind};
use super::lexer::{self, Args, invalid};

/// Applies `name` if it is a listener option; `None` if it is not one.
pub(super) fn option(
    d: &mut Draft,
    scope: &mut Scope,
    name: &str,
    args: &mut Args<'_>,
    at: &Origin,
) -> Option<Result<(), ErrorKind>> {
    let result = match name {
        "listener" => listener(d, scope, args, at),
        "port" => port(d, args, at),
        "bind_address" => bind_address(d, args, at),
        "bind_interface" => bind_interface(d, scope, args, at),
        "http_dir" => http_dir(d, scope, args, at),
        "max_connections" => max_connections(d, scope, args, at),
        "max_qos" => max_qos(d, scope, args, at),
        "max_topic_alias" => max_topic_alias(d, scope, args, at),
        "mount_point" => mount_point(d, scope, args, at),
        "protocol" => protocol(d, scope, args, at),
        "socket_domain" => socket_domain(d, scope, args, at),
        "use_username_as_clientid" => use_username_as_clientid(d, scope, args, at),
        "websockets_trust_forwarded_for" => trust_forwarded_for(d, scope, args, at),
        _ => return None,
    };
    Some(result)
}

/// The listener the scope points at; the default listener remembers the first line that
/// configured it, which is the line its notes and errors name.
pub(super) fn current<'d>(d: &'d mut Draft, scope: &Scope, at: &Origin) -> &'d mut ListenerDraft {
    let listener = d.listener(scope);
    if listener.origin.is_none() {
        listener.origin = Some(at.clone());
    }
    listener
}

/// `listener PORT [BIND ADDRESS | UNIX SOCKET PATH]`.
fn listener(
    d: &mut Draft,
    scope: &mut Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    d.local_only = false;
    let text = lexer::word(args, "listener")?;
    let port = lexer::parse_integer(text)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| invalid("port", text, Some("must be from 0 to 65535")))?;
    // A second word starting with `#` is a comment, not an address (mosquitto's rule).
    let bind = args.word().filter(|w| !w.starts_with('#'));
    if let Some(bind) = bind {
        args.end("listener", bind)?;
    }
    let mut draft = ListenerDraft {
        origin: Some(at.clone()),
        port: Some(port),
        ..ListenerDraft::default()
    };
    match (port, bind) {
        (0, None) => return Err(ErrorKind::UnixSocketWithoutPath),
        (0, Some(path)) => draft.unix_path = Some(PathBuf::from(path)),
        (_, bind) => draft.host = bind.map(str::to_string),
    }
    d.listeners.push(draft);
    scope.listener = Some(d.listeners.len() - 1);
    Ok(())
}

/// `port N`: the default listener's port (deprecated, still honoured).
fn port(d: &mut Draft, args: &mut Args<'_>, at: &Origin) -> Result<(), ErrorKind> {
    d.local_only = false;
    let port = lexer::integer_in(args, "port", 1, 65535, "must be from 1 to 65535")?;
    d.note("port", at, NoteKind::Deprecated);
    if d.default_listener.port.is_some() {
        let why = "the default listener's port was already given; the last one is used";
        d.note("port", at, NoteKind::Ignored(why));
    }
    let listener = &mut d.default_listener;
    listener.origin.get_or_insert_with(|| at.clone());
    listener.port = u16::try_from(port).ok();
    Ok(())
}

/// `bind_address HOST`: the default listener's address (deprecated, still honoured).
fn bind_address(d: &mut Draft, args: &mut Args<'_>, at: &Origin) -> Result<(), ErrorKind> {
    d.local_only = false;
    let listener = &mut d.default_listener;
    let host = lexer::string(args, "bind_address", listener.host.is_some())?;
    listener.origin.get_or_insert_with(|| at.clone());
    listener.host = Some(host);
    d.note("bind_address", at, NoteKind::Deprecated);
    Ok(())
}

fn bind_interface(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let listener = current(d, scope, at);
    let name = lexer::string(args, "bind_interface", listener.bind_interface.is_some())?;
    if !cfg!(any(
        target_os = "linux",
        target_os = "android",
        target_os = "fuchsia"
    )) {
        return Err(ErrorKind::Unsupported {
            option: "bind_interface".into(),
            reason: "binding to an interface needs SO_BINDTODEVICE, which only Linux has",
        });
    }
    listener.bind_interface = Some(name);
    Ok(())
}

fn http_dir(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let listener = current(d, scope, at);
    let dir = lexer::string(args, "http_dir", listener.http_dir.is_some())?;
    listener.http_dir = Some(PathBuf::from(dir));
    Ok(())
}

/// `max_connections N`; mosquitto only warns about an empty value, and ≤ 0 means no limit.
fn max_connections(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    if args.clone().word().is_none() {
        d.note("max_connections", at, NoteKind::Empty);
        return Ok(());
    }
    let value = lexer::integer(args, "max_connections")?.max(-1);
    current(d, scope, at).max_connections = Some(value);
    Ok(())
}

fn max_qos(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let qos = lexer::integer_in(args, "max_qos", 0, 2, "must be 0, 1 or 2")?;
    current(d, scope, at).max_qos = u8::try_from(qos).ok();
    Ok(())
}

fn max_topic_alias(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let range = "must be from 0 to 65535";
    let value = lexer::integer_in(args, "max_topic_alias", 0, 65535, range)?;
    current(d, scope, at).max_topic_alias = u16::try_from(value).ok();
    Ok(())
}

/// `mount_point PREFIX`: only once a `listener` line exists, and a topic without wildcards.
fn mount_point(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    if d.listeners.is_empty() {
        return Err(ErrorKind::MountPointWithoutListener);
    }
    let listener = current(d, scope, at);
    let prefix = lexer::string(args, "mount_point", listener.mount_point.is_some())?;
    if TopicName::parse(&prefix).is_err() {
        return Err(invalid(
            "mount_point",
            &prefix,
            Some("it must be a topic without wildcards"),
        ));
    }
    listener.mount_point = Some(prefix);
    Ok(())
}

/// `protocol mqtt|websockets`; mosquitto 2.0 only warns about an empty value.
fn protocol(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let Some(text) = args.word() else {
        d.note("protocol", at, NoteKind::Empty);
        return Ok(());
    };
    let choices = [
        ("mqtt", ListenerProtocol::Mqtt),
        ("websockets", ListenerProtocol::WebSockets),
    ];
    let protocol = lexer::keyword("protocol", text, &choices, "expected mqtt or websockets")?;
    args.end("protocol", text)?;
    if protocol == ListenerProtocol::WebSockets && !cfg!(feature = "websockets") {
        return Err(ErrorKind::Unsupported {
            option: "protocol websockets".into(),
            reason: "this minibroker was built without WebSockets support",
        });
    }
    current(d, scope, at).protocol = Some(protocol);
    Ok(())
}

/// `websockets_trust_forwarded_for true|false` (minibroker's own): on a WebSockets listener
/// behind a reverse proxy, the client's address comes from X-Forwarded-For.
fn trust_forwarded_for(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let on = lexer::boolean(args, "websockets_trust_forwarded_for")?;
    current(d, scope, at).trust_forwarded_for = Some(on);
    Ok(())
}

fn socket_domain(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let text = lexer::word(args, "socket_domain")?;
    let choices = [("ipv4", SocketDomain::Ipv4), ("ipv6", SocketDomain::Ipv6)];
    let domain = lexer::keyword("socket_domain", text, &choices, "expected ipv4 or ipv6")?;
    args.end("socket_domain", text)?;
    current(d, scope, at).socket_domain = Some(domain);
    Ok(())
}

fn use_username_as_clientid(
    d: &mut Draft,
    scope: &Scope,
    args: &mut Args<'_>,
    at: &Origin,
) -> Result<(), ErrorKind> {
    let on = lexer::boolean(args, "use_username_as_clientid")?;
    current(d, scope, at).use_username_as_clientid = Some(on);
    Ok(())
}
