//! The TLS part of the command line: `--tls-port`/`--tls-bind` add TLS listeners, `--cert` and
//! `--key` or `--pkcs12` say what certificate they present.

use getopts::Matches;

use super::{UsageError, addresses, dashed, number};
use crate::config::{Config, DEFAULT_TLS_PORT, ListenerConfig, TlsIdentity};

/// The TLS listeners and their certificate: present when `--tls-port` or `--tls-bind` is given.
pub(super) fn tls_from(m: &Matches, config: &mut Config) -> Result<(), UsageError> {
    let wanted = m.opt_present("tls-port") || m.opt_present("tls-bind");
    let identity = tls_identity(m)?;
    if !cfg!(feature = "tls")
        && let Some(option) = TLS_OPTIONS.iter().find(|o| m.opt_present(o))
    {
        let message = "this minibroker was built without TLS support (the `tls` feature)";
        return Err(UsageError::new(dashed(option), message));
    }
    match (wanted, identity) {
        (false, None) => return Ok(()),
        (false, Some(_)) => {
            let option = if m.opt_present("pkcs12") {
                "--pkcs12"
            } else {
                "--cert"
            };
            return Err(UsageError::new(option, "needs --tls-port"));
        }
        (true, None) => {
            let message = "needs --cert and --key, or --pkcs12";
            return Err(UsageError::new("--tls-port", message));
        }
        (true, Some(identity)) => config.tls = Some(identity),
    }
    let port = number(m, "tls-port", "--tls-port")?.unwrap_or(DEFAULT_TLS_PORT);
    let addrs = addresses(&m.opt_strs("tls-bind"), port, "--tls-bind")?;
    config
        .listeners
        .extend(addrs.into_iter().map(ListenerConfig::tls));
    Ok(())
}

/// The options that only make sense with TLS support compiled in.
const TLS_OPTIONS: [&str; 6] = [
    "tls-port",
    "tls-bind",
    "cert",
    "key",
    "pkcs12",
    "pkcs12-password-env",
];

/// `--cert` with `--key`, or `--pkcs12` with its password from the environment.
fn tls_identity(m: &Matches) -> Result<Option<TlsIdentity>, UsageError> {
    let (cert, key, pkcs12) = (m.opt_str("cert"), m.opt_str("key"), m.opt_str("pkcs12"));
    let password_env = m.opt_str("pkcs12-password-env");
    if password_env.is_some() && pkcs12.is_none() {
        return Err(UsageError::new("--pkcs12-password-env", "needs --pkcs12"));
    }
    match (cert, key, pkcs12) {
        (None, None, None) => Ok(None),
        (Some(cert), Some(key), None) => Ok(Some(TlsIdentity::Pem {
            cert: cert.into(),
            key: key.into(),
        })),
        (Some(_), None, None) => Err(UsageError::new("--cert", "needs --key")),
        (None, Some(_), None) => Err(UsageError::new("--key", "needs --cert")),
        (None, None, Some(file)) => {
            let password = match password_env {
                None => String::new(),
                Some(var) => std::env::var(&var).map_err(|_| {
                    let message = format!("the environment variable {var} is not set");
                    UsageError::new("--pkcs12-password-env", message)
                })?,
            };
            Ok(Some(TlsIdentity::Pkcs12 {
                file: file.into(),
                password,
            }))
        }
        (_, _, Some(_)) => Err(UsageError::new(
            "--pkcs12",
            "cannot be combined with --cert and --key",
        )),
    }
}
