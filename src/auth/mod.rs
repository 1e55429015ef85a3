//! Authentication and access control: mosquitto password files, ACL files and the checks the
//! router makes with them. The core is pure (the files come in as bytes); `files` is the thin
//! loader that reads them for the broker, at startup and on SIGHUP.
//!
//! # Modules
//! - `hash`: the `$6$` and `$7$` password hash forms: parse, compute, verify.
//! - `password_file`: a password file's lines → users and hashes, with warnings for the lines
//!   it drops; the CONNECT check.
//! - `acl`: an ACL file's lines → per-user rules and `%c`/`%u` patterns, or a fatal `file:line`
//!   error.
//! - `acl_check`: a client's rights compiled at CONNECT; the per-message check and the
//!   SUBSCRIBE-time question "can this filter ever deliver anything?".
//! - `security`: what the router applies per listener (files, anonymous access, client id
//!   rules); `files`: reading the files a configuration names into it.
//! - `passwd_edit` and `passwd_tool`: `minibroker passwd`, mosquitto_passwd's counterpart. The
//!   edits are pure (text in, text out); the tool around them is this module's only I/O, and
//!   only the binary calls it.
//!
//! # What the router is to call
//! At startup and on SIGHUP: [`PasswordFile::parse`] (log each warning) and
//! [`AclFile::parse`] (an error is fatal, as in mosquitto). At CONNECT:
//! [`PasswordFile::check`] for a client with a username (a refusal is CONNACK 5 in MQTT 3.x and
//! 0x87 in MQTT 5, never 4/0x86), then [`AclFile::compile`], or [`ClientAcl::unrestricted`]
//! without an ACL file, kept with the session's connection. For each PUBLISH and Will,
//! [`ClientAcl::check`] with [`Access::Write`]; for each delivery and retained message,
//! [`Access::Read`]; for each SUBSCRIBE filter, [`ClientAcl::can_ever_read`].
//!
//! # Decisions
//! Each module's documentation gives its own; in short: mosquitto 2.0's formats and order of
//! checks, an iteration ceiling on `$7$` entries so a login cannot stall the event loop, pattern
//! grants that reach `$` topics only when written with a leading `$`, and a `passwd -U` that
//! leaves hashed lines alone.
// Everything here reads files an operator wrote, or a client's CONNECT: nothing may panic on it.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod acl;
pub mod acl_check;
pub mod files;
pub mod hash;
pub mod passwd_edit;
pub mod passwd_tool;
pub mod password_file;
pub mod security;

pub use acl::{AclError, AclErrorKind, AclFile};
pub use acl_check::{Access, ClientAcl, ClientIdentity};
pub use files::LoadError;
pub use hash::{HashError, HashKind, PasswordHash};
pub use password_file::{
    DEFAULT_MAX_ITERATIONS, ParsedPasswordFile, PasswordFile, PasswordLimits, PasswordProblem,
    PasswordWarning,
};
pub use security::{ListenerSecurity, Security};

/// What C's `isspace` calls blank, which both of mosquitto's readers trim (`u8::is_ascii_whitespace`
/// leaves out the vertical tab).
fn is_blank(byte: &u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn trim_blanks(bytes: &[u8]) -> &[u8] {
    trim_end_blanks(bytes)
        .iter()
        .position(|b| !is_blank(b))
        .and_then(|start| bytes.get(start..))
        .map_or(&[], trim_end_blanks)
}

fn trim_end_blanks(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !is_blank(b))
        .map_or(0, |i| i + 1);
    bytes.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_matches_c_isspace() {
        assert_eq!(trim_blanks(b" \t\x0b\x0c\r\nab c\r\n"), b"ab c");
        assert_eq!(trim_blanks(b"   "), b"");
        assert_eq!(trim_blanks(b""), b"");
        assert_eq!(trim_end_blanks(b"  a b \r"), b"  a b");
    }
}
