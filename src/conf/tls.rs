//! A listener's TLS options. certfile and keyfile make a listener speak TLS; the options
//! native-tls cannot honour (client certificates, cipher lists, PSK, engines, DH parameters)
//! are refused with the reason rather than accepted and ignored, because ignoring them would
//! give a weaker TLS listener than the file asks for.

use std::path::PathBuf;

use crate::config::{Origin, TlsVersion};

use super::draft::{Draft, Scope};
use super::error::{ErrorKind, NoteKind};
use super::lexer::{self, Args, invalid};
use super::listener::current;

const NO_TLS_BUILD: &str = "this minibroker was built without TLS support (the `tls` feature)";

/// Applies `name` if it is a TLS option of a listener; `None` if it is not one.
pub(super) fn option(
    d: &mut Draft,
    scope: &Scope,
    name: &str,
    args: &mut Args<'_>,
    at: &Origin,
) -> Option<Result<(), ErrorKind>> {
    let refused = match name {
        "cafile" | "capath" | "certfile" | "keyfile" | "crlfile" | "tls_version" => None,
        "require_certificate" => Some("native-tls cannot ask clients for certificates"),
        "use_identity_as_username" | "use_subject_as_username" => {
            Some("native-tls cannot ask clients for certificates")
        }
        "ciphers" | "ciphers_tls1.3" => Some("native-tls cannot restrict the cipher list"),
        "dhparamfile" => Some("native-tls cannot load Diffie-Hellman parameters"),
        "psk_hint" => Some("native-tls has no TLS-PSK"),
        "tls_engine" | "tls_engine_kpass_sha1" | "tls_keyform" => {
            Some("native-tls cannot use OpenSSL engines")
        }
        _ => return None,
    };
    Some(apply(d, scope, name, args, at, refused))
}

fn apply(
    d: &mut Draft,
    scope: &Scope,
    name: &str,
    args: &mut Args<'_>,
    at: &Origin,
    refused: Option<&'static str>,
) -> Result<(), ErrorKind> {
    let listener = current(d, scope, at);
    if let Some(reason) = refused {
        return refuse(name, args, reason);
    }
    let files = &mut listener.tls;
    let slot = match name {
        "cafile" => &mut files.cafile,
        "capath" => &mut files.capath,
        "certfile" => &mut files.certfile,
        "keyfile" => &mut files.keyfile,
        "crlfile" => &mut files.crlfile,
        _ => {
            let version = tls_version(args, files.min_version.is_some())?;
            // Unlike the TLS files, tls_version alone does not create mosquitto's default
            // listener, so it leaves tls_origin alone.
            files.min_version = Some(version);
            if version == TlsVersion::Tls11 {
                let why = "minibroker accepts TLS 1.2 and later only";
                d.note("tls_version tlsv1.1", at, NoteKind::Ignored(why));
            }
            return without_tls_build(name);
        }
    };
    let value = lexer::string(args, name, slot.is_some())?;
    *slot = Some(PathBuf::from(value));
    listener.tls_origin.get_or_insert_with(|| at.clone());
    without_tls_build(name)
}

/// Reads the value first, so a malformed line gets the usual error; then refuses what asks
/// for something native-tls cannot do, and accepts the values that ask for nothing.
fn refuse(name: &str, args: &mut Args<'_>, reason: &'static str) -> Result<(), ErrorKind> {
    match name {
        "require_certificate" | "use_identity_as_username" | "use_subject_as_username" => {
            match lexer::boolean(args, name)? {
                true => Err(unsupported(&format!("{name} true"), reason)),
                false => Ok(()),
            }
        }
        "tls_keyform" => match lexer::string(args, name, false)?.as_str() {
            "pem" => Ok(()),
            "engine" => Err(unsupported("tls_keyform engine", reason)),
            other => Err(invalid(name, other, Some("expected pem or engine"))),
        },
        _ => {
            lexer::string(args, name, false)?;
            Err(unsupported(name, reason))
        }
    }
}

/// `tls_version tlsv1.3|tlsv1.2|tlsv1.1`: the oldest version accepted.
fn tls_version(args: &mut Args<'_>, taken: bool) -> Result<TlsVersion, ErrorKind> {
    let text = lexer::string(args, "tls_version", taken)?;
    match text.as_str() {
        "tlsv1.1" => Ok(TlsVersion::Tls11),
        "tlsv1.2" => Ok(TlsVersion::Tls12),
        "tlsv1.3" => Err(unsupported(
            "tls_version tlsv1.3",
            "native-tls cannot refuse TLS 1.2",
        )),
        _ => Err(invalid(
            "tls_version",
            &text,
            Some("expected tlsv1.3, tlsv1.2 or tlsv1.1"),
        )),
    }
}

fn unsupported(option: &str, reason: &'static str) -> ErrorKind {
    ErrorKind::Unsupported {
        option: option.to_string(),
        reason,
    }
}

/// A TLS option in a build without TLS is refused. mosquitto only warns, which leaves a
/// listener the file means to encrypt in plain text.
fn without_tls_build(name: &str) -> Result<(), ErrorKind> {
    if cfg!(feature = "tls") {
        Ok(())
    } else {
        Err(unsupported(name, NO_TLS_BUILD))
    }
}
