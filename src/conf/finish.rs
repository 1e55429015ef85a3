//! The rules mosquitto applies once every file is read: bridges complete and unique, the
//! allow_anonymous value of each listener (the 2.0.12+ rule), and the listeners themselves.

use crate::config::{Config, ListenerOptions, Origin, SecurityOptions};

use super::Source;
use super::draft::{BridgeDraft, Draft, ListenerDraft, SecurityDraft};
use super::error::{ErrorKind, Note, NoteKind};
use super::sockets::{self, Located};

/// Turns everything read into the `Config`, with the notes to log at startup.
pub(super) fn finish(
    mut d: Draft,
    ports: &[u16],
    source: &dyn Source,
) -> Result<(Config, Vec<Note>), Located> {
    check_bridges(&d.bridges)?;
    d.config.bridges = d.bridges.iter().map(|b| b.bridge.clone()).collect();
    if let Some(dest) = &d.log_dest {
        d.config.logging.destinations = dest.clone();
    }
    let global_anonymous = resolve_anonymous(&d, &d.security);
    d.config.allow_anonymous = global_anonymous;
    d.config.security = security_options(&d.security);
    if d.local_only {
        explicit_false(&d).into_iter().for_each(|at| {
            let why = "in local-only mode anonymous clients are allowed on the loopback listeners";
            d.note("allow_anonymous false", &at, NoteKind::Ignored(why));
        });
    }
    let mut resolved = Vec::new();
    for section in sockets::sections(&d, ports) {
        let (anonymous, security) = if d.per_listener_settings {
            (
                resolve_anonymous(&d, &section.security),
                security_options(&section.security),
            )
        } else {
            (global_anonymous, d.config.security.clone())
        };
        let options = listener_options(&section, security, anonymous);
        resolved.push((sockets::resolve(section, source)?, options));
    }
    sockets::install(&mut d.config, resolved, &mut d.notes)?;
    Ok((d.config, d.notes))
}

/// mosquitto 2.0.12+: local-only mode forces anonymous access on (even over an explicit
/// false); otherwise the last `allow_anonymous` line of the scope wins, and none means false.
fn resolve_anonymous(d: &Draft, security: &SecurityDraft) -> bool {
    d.local_only || security.allow_anonymous.as_ref().is_some_and(|(on, _)| *on)
}

/// Where `allow_anonymous false` was written, in any scope.
fn explicit_false(d: &Draft) -> Vec<Origin> {
    let scopes = std::iter::once(&d.security)
        .chain(std::iter::once(&d.default_listener.security))
        .chain(d.listeners.iter().map(|l| &l.security));
    scopes
        .filter_map(|s| match &s.allow_anonymous {
            Some((false, at)) => Some(at.clone()),
            _ => None,
        })
        .collect()
}

fn security_options(s: &SecurityDraft) -> SecurityOptions {
    SecurityOptions {
        password_file: s.password_file.clone(),
        acl_file: s.acl_file.clone(),
        allow_zero_length_clientid: s.allow_zero_length_clientid.unwrap_or(true),
        auto_id_prefix: s.auto_id_prefix.clone(),
    }
}

fn listener_options(
    l: &ListenerDraft,
    security: SecurityOptions,
    allow_anonymous: bool,
) -> ListenerOptions {
    let defaults = ListenerOptions::default();
    ListenerOptions {
        origin: l.origin.clone(),
        bind_interface: l.bind_interface.clone(),
        socket_domain: l.socket_domain,
        // mosquitto: 0 or less is no limit.
        max_connections: l
            .max_connections
            .filter(|&n| n > 0)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        max_qos: l.max_qos.unwrap_or(defaults.max_qos),
        max_topic_alias: l.max_topic_alias,
        mount_point: l.mount_point.clone(),
        use_username_as_clientid: l.use_username_as_clientid.unwrap_or(false),
        protocol: l.protocol.unwrap_or_default(),
        http_dir: l.http_dir.clone(),
        trust_forwarded_for: l.trust_forwarded_for.unwrap_or(false),
        tls: l.tls.clone(),
        allow_anonymous,
        security,
    }
}

/// Every bridge needs an address and a topic, and bridges need distinct local client ids.
/// A default id depends on the host name, unknown here; it is `local.<host>.<name>`, unique
/// per bridge name, so only ids that are written can clash with it.
fn check_bridges(bridges: &[BridgeDraft]) -> Result<(), Located> {
    let mut ids: Vec<String> = Vec::new();
    for draft in bridges {
        let bridge = &draft.bridge;
        let incomplete = |missing| {
            let name = bridge.name.clone();
            Err((
                bridge.origin.clone(),
                ErrorKind::IncompleteBridge { name, missing },
            ))
        };
        if bridge.addresses.is_empty() {
            return incomplete("address");
        }
        if bridge.topics.is_empty() {
            return incomplete("topic");
        }
        let id = match (&bridge.local_clientid, &bridge.remote_clientid) {
            (Some(id), _) => id.clone(),
            (None, Some(remote)) => format!("local.{remote}"),
            (None, None) => format!("local.<host>.{}", bridge.name),
        };
        if ids.contains(&id) {
            return Err((bridge.origin.clone(), ErrorKind::DuplicateLocalClientId(id)));
        }
        ids.push(id);
    }
    Ok(())
}
