//! What the router applies on each listener: the loaded password and ACL files, whether
//! anonymous clients may connect, and the client id rules. Plain data, built from a
//! [`Config`] and the files the loader (`auth::files`) read for it.

use std::sync::Arc;

use super::{AclFile, PasswordFile};
use crate::config::{Config, ListenerOptions};

/// One listener's security settings, resolved (mosquitto 2.0.12+ rules, `per_listener_settings`).
#[derive(Debug, Clone)]
pub struct ListenerSecurity {
    /// A client without a username may connect.
    pub allow_anonymous: bool,
    /// `None`: no `password_file` (with `allow_anonymous false` nobody gets in, mosquitto #2358).
    pub passwords: Option<Arc<PasswordFile>>,
    /// `None`: no `acl_file`, so everything but the always-refused `$SYS`/`$share` publishes is
    /// allowed.
    pub acl: Option<Arc<AclFile>>,
    /// An empty client id is accepted (and one assigned) where MQTT allows it.
    pub allow_zero_length_clientid: bool,
    /// The prefix of assigned client ids.
    pub auto_id_prefix: Arc<str>,
    /// The CONNECT username replaces the client id.
    pub use_username_as_clientid: bool,
}

/// mosquitto's default `auto_id_prefix`.
pub const DEFAULT_AUTO_ID_PREFIX: &str = "auto-";

impl ListenerSecurity {
    /// The settings of `options` with the files already loaded.
    pub fn new(
        options: &ListenerOptions,
        passwords: Option<Arc<PasswordFile>>,
        acl: Option<Arc<AclFile>>,
    ) -> ListenerSecurity {
        let prefix = options.security.auto_id_prefix.as_deref();
        ListenerSecurity {
            allow_anonymous: options.allow_anonymous,
            passwords,
            acl,
            allow_zero_length_clientid: options.security.allow_zero_length_clientid,
            auto_id_prefix: prefix.unwrap_or(DEFAULT_AUTO_ID_PREFIX).into(),
            use_username_as_clientid: options.use_username_as_clientid,
        }
    }

    /// A listener with nothing to check: what a link gets whose listener is unknown, as in
    /// tests that open links without one.
    pub fn open() -> ListenerSecurity {
        ListenerSecurity::new(&ListenerOptions::default(), None, None)
    }

    /// Whether a CONNECT on this listener is checked at all (and so can fail).
    pub fn authenticates(&self) -> bool {
        !self.allow_anonymous || self.passwords.is_some()
    }
}

/// Every listener's settings, by its position in [`Config::listeners`].
#[derive(Debug, Clone, Default)]
pub struct Security {
    pub listeners: Vec<ListenerSecurity>,
}

impl Security {
    /// The settings `config` gives without any file: what an embedding program gets before
    /// (or without) the loader.
    pub fn without_files(config: &Config) -> Security {
        let listeners = config.listeners.iter();
        Security {
            listeners: listeners
                .map(|l| ListenerSecurity::new(&l.options, None, None))
                .collect(),
        }
    }

    /// Whether any listener has an ACL file (so sessions carry compiled rights).
    pub fn has_acl(&self) -> bool {
        self.listeners.iter().any(|l| l.acl.is_some())
    }
}
