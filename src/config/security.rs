//! Who may connect and what they may do: the security settings of a mosquitto.conf.

use std::path::PathBuf;

/// mosquitto's security options (password file, ACL file, client id rules). Global, or per
/// listener with `per_listener_settings true`; the broker applies them per listener (the
/// files are read by `auth::files`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityOptions {
    pub password_file: Option<PathBuf>,
    pub acl_file: Option<PathBuf>,
    /// Accept an empty client id (and assign one) where MQTT allows it.
    pub allow_zero_length_clientid: bool,
    /// The prefix of assigned client ids; mosquitto's default is `auto-`.
    pub auto_id_prefix: Option<String>,
}

impl Default for SecurityOptions {
    fn default() -> SecurityOptions {
        SecurityOptions {
            password_file: None,
            acl_file: None,
            allow_zero_length_clientid: true,
            auto_id_prefix: None,
        }
    }
}
