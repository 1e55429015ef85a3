//! The configuration while it is being read: global settings go straight into a [`Config`];
//! listeners, security scopes and bridges are drafts that keep what `finish` needs (which
//! options were given, and where) to apply mosquitto's rules once every file is read.

use std::path::PathBuf;

use crate::config::{
    Bridge, Config, ListenerProtocol, LogDestinations, LogTypes, Origin, SocketDomain, TlsFiles,
};

use super::error::{Note, NoteKind};

/// The S options of one scope (global, or one listener with `per_listener_settings`).
#[derive(Debug, Clone, Default)]
pub(super) struct SecurityDraft {
    /// The last `allow_anonymous` line and where it is.
    pub(super) allow_anonymous: Option<(bool, Origin)>,
    pub(super) password_file: Option<PathBuf>,
    pub(super) acl_file: Option<PathBuf>,
    /// `None` until given; true is mosquitto's default.
    pub(super) allow_zero_length_clientid: Option<bool>,
    pub(super) auto_id_prefix: Option<String>,
}

/// One listener section, or mosquitto's default listener (options before any `listener`).
#[derive(Debug, Clone, Default)]
pub(super) struct ListenerDraft {
    /// The `listener` line; for the default listener, the first option that creates it.
    pub(super) origin: Option<Origin>,
    pub(super) port: Option<u16>,
    /// The bind address as written (an IP address or a host name).
    pub(super) host: Option<String>,
    pub(super) unix_path: Option<PathBuf>,
    pub(super) bind_interface: Option<String>,
    pub(super) socket_domain: Option<SocketDomain>,
    /// As mosquitto keeps it: -1 for none.
    pub(super) max_connections: Option<i64>,
    pub(super) max_qos: Option<u8>,
    pub(super) max_topic_alias: Option<u16>,
    pub(super) mount_point: Option<String>,
    pub(super) use_username_as_clientid: Option<bool>,
    pub(super) protocol: Option<ListenerProtocol>,
    pub(super) http_dir: Option<PathBuf>,
    pub(super) trust_forwarded_for: Option<bool>,
    pub(super) tls: TlsFiles,
    /// The first TLS option's line, for errors about the TLS files as a whole.
    pub(super) tls_origin: Option<Origin>,
    pub(super) security: SecurityDraft,
}

impl ListenerDraft {
    /// Whether options before any `listener` line make mosquitto open its default listener
    /// (`config__parse_args`): port, bind_address, bind_interface, a TLS option,
    /// use_username_as_clientid, max_connections, max_qos, mount_point, protocol websockets,
    /// socket_domain; with per_listener_settings also password_file, psk_file, plugins and
    /// `allow_zero_length_clientid false` (psk_file and plugins are refused earlier).
    pub(super) fn creates_default_listener(&self, per_listener_settings: bool) -> bool {
        let security = &self.security;
        self.port.is_some()
            || self.host.is_some()
            || self.bind_interface.is_some()
            || self.tls_origin.is_some()
            || self.use_username_as_clientid == Some(true)
            || self.max_connections.is_some_and(|n| n != -1)
            || self.max_qos.is_some_and(|q| q != 2)
            || self.mount_point.is_some()
            || self.protocol == Some(ListenerProtocol::WebSockets)
            || self.socket_domain.is_some()
            || (per_listener_settings
                && (security.password_file.is_some()
                    || security.allow_zero_length_clientid == Some(false)))
    }
}

/// Which sections the lines being read belong to; every file starts with a fresh one.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Scope {
    /// Index into [`Draft::listeners`]; `None` is the default listener.
    pub(super) listener: Option<usize>,
    /// Index into [`Draft::bridges`].
    pub(super) bridge: Option<usize>,
    /// 0 for the main file, 1 for a file from `include_dir`.
    pub(super) level: u8,
}

/// A bridge and the line of its `address`, so a second one can be refused.
#[derive(Debug, Clone)]
pub(super) struct BridgeDraft {
    pub(super) bridge: Bridge,
    pub(super) address_seen: bool,
}

/// Everything read so far.
#[derive(Debug, Clone)]
pub(super) struct Draft {
    /// Global settings, written as they are read.
    pub(super) config: Config,
    pub(super) security: SecurityDraft,
    pub(super) default_listener: ListenerDraft,
    pub(super) listeners: Vec<ListenerDraft>,
    pub(super) bridges: Vec<BridgeDraft>,
    pub(super) per_listener_settings: bool,
    /// Whether any S option was seen (for the per_listener_settings rule).
    pub(super) security_seen: bool,
    /// No `listener`, `port` or `bind_address` line so far.
    pub(super) local_only: bool,
    /// `log_dest` lines accumulate into this; `None` until the first one.
    pub(super) log_dest: Option<LogDestinations>,
    /// `log_type` lines accumulate into this; `None` until the first one.
    pub(super) log_types: Option<LogTypes>,
    pub(super) notes: Vec<Note>,
}

impl Draft {
    pub(super) fn new() -> Draft {
        Draft {
            config: Config::default(),
            security: SecurityDraft::default(),
            default_listener: ListenerDraft::default(),
            listeners: Vec::new(),
            bridges: Vec::new(),
            per_listener_settings: false,
            security_seen: false,
            local_only: true,
            log_dest: None,
            log_types: None,
            notes: Vec::new(),
        }
    }

    /// The listener section the scope points at.
    pub(super) fn listener(&mut self, scope: &Scope) -> &mut ListenerDraft {
        match scope.listener.and_then(|i| self.listeners.get_mut(i)) {
            Some(listener) => listener,
            None => &mut self.default_listener,
        }
    }

    /// The scope of S options: the current listener's with per_listener_settings, else the
    /// global one. Marks that a security option was seen.
    pub(super) fn security(&mut self, scope: &Scope, at: &Origin) -> &mut SecurityDraft {
        self.security_seen = true;
        if self.per_listener_settings {
            let listener = self.listener(scope);
            listener.origin.get_or_insert_with(|| at.clone());
            &mut listener.security
        } else {
            &mut self.security
        }
    }

    pub(super) fn note(&mut self, option: impl Into<String>, at: &Origin, kind: NoteKind) {
        self.notes.push(Note {
            option: option.into(),
            at: at.clone(),
            kind,
        });
    }
}
