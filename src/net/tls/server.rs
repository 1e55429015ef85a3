//! The certificate of the TLS listeners, loaded, checked and reloadable; see the parent module.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use log::{error, info};
use mio::net::TcpStream;
use native_tls::{Certificate, Identity, Protocol, TlsAcceptor};

use super::{TlsError, openssl_reason, self_test};
use crate::config::TlsIdentity;
use crate::net::transport::Transport;

/// The current certificate of every TLS listener in the broker.
pub(crate) struct TlsServer {
    identity: TlsIdentity,
    acceptor: TlsAcceptor,
}

impl fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServer")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl TlsServer {
    /// Reads and checks the certificate and key; the error names the file at fault.
    pub(crate) fn load(identity: &TlsIdentity) -> Result<TlsServer, TlsError> {
        Ok(TlsServer {
            identity: identity.clone(),
            acceptor: acceptor(identity)?,
        })
    }

    /// Reads the files again (SIGHUP). New connections get the new certificate; on any
    /// error the current one stays in use and the error is logged.
    pub(crate) fn reload(&mut self) {
        match acceptor(&self.identity) {
            Ok(acceptor) => {
                self.acceptor = acceptor;
                info!("TLS certificate reloaded from {}", describe(&self.identity));
            }
            Err(e) => error!("TLS certificate not reloaded: {e}; keeping the current one"),
        }
    }

    /// Starts the handshake on an accepted socket.
    pub(crate) fn accept(&self, stream: TcpStream) -> io::Result<Transport> {
        Transport::accept_tls(&self.acceptor, stream)
    }
}

fn describe(identity: &TlsIdentity) -> String {
    match identity {
        TlsIdentity::Pem { cert, key } => format!("{} and {}", cert.display(), key.display()),
        TlsIdentity::Pkcs12 { file, .. } => file.display().to_string(),
    }
}

fn acceptor(source: &TlsIdentity) -> Result<TlsAcceptor, TlsError> {
    let (identity, file) = match source {
        TlsIdentity::Pem { cert, key } => (pem_identity(cert, key)?, cert),
        TlsIdentity::Pkcs12 { file, password } => {
            let der = read(file)?;
            let identity = Identity::from_pkcs12(&der, password).map_err(|e| {
                let reason = format!(
                    "not a PKCS#12 bundle, or the wrong password ({})",
                    openssl_reason(&e)
                );
                error_in(file, reason)
            })?;
            (identity, file)
        }
    };
    // No maximum: asking for TLS 1.3 would change nothing. native-tls starts from Mozilla's
    // pre-1.3 settings, whose SSL_OP_NO_TLSv1_3 it never clears (README, "TLS versions").
    let acceptor = TlsAcceptor::builder(identity)
        .min_protocol_version(Some(Protocol::Tlsv12))
        .build()
        .map_err(|e| error_in(file, openssl_reason(&e)))?;
    self_test::handshake(&acceptor).map_err(|e| match source {
        TlsIdentity::Pem { cert, key } => error_in(
            key,
            format!(
                "the key does not work with the certificate in {} (a test handshake failed: {e})",
                cert.display()
            ),
        ),
        TlsIdentity::Pkcs12 { file, .. } => error_in(file, format!("a test handshake failed: {e}")),
    })?;
    Ok(acceptor)
}

/// A PEM chain and a PKCS#8 key, each checked on its own so the error names the right file.
fn pem_identity(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let chain = read(cert)?;
    match Certificate::stack_from_pem(&chain) {
        Ok(certs) if !certs.is_empty() => {}
        Ok(_) => return Err(error_in(cert, "no PEM certificate in it")),
        Err(e) => {
            let reason = format!("not a PEM certificate ({})", openssl_reason(&e));
            return Err(error_in(cert, reason));
        }
    }
    let key_pem = read(key)?;
    let key_pem = pkcs8_block(&key_pem).map_err(|reason| error_in(key, reason))?;
    Identity::from_pkcs8(&chain, key_pem).map_err(|e| {
        let reason = format!("not a usable PEM private key ({})", openssl_reason(&e));
        error_in(key, reason)
    })
}

/// The key from its `BEGIN PRIVATE KEY` line on (native-tls wants nothing before it), or
/// why it is not an unencrypted PKCS#8 key.
fn pkcs8_block(pem: &[u8]) -> Result<&[u8], String> {
    const PKCS8: &[u8] = b"-----BEGIN PRIVATE KEY-----";
    if let Some(at) = pem.windows(PKCS8.len()).position(|w| w == PKCS8) {
        return Ok(&pem[at..]);
    }
    let text = String::from_utf8_lossy(pem);
    if text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        return Err("the key is encrypted; decrypt it with \
                    `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.new`"
            .into());
    }
    if text.contains("PRIVATE KEY-----") {
        return Err("not a PKCS#8 key; convert it with \
                    `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.new`"
            .into());
    }
    Err("no PEM private key (-----BEGIN PRIVATE KEY-----) in it".into())
}

fn read(file: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(file).map_err(|e| error_in(file, crate::net::listener::os_message(&e)))
}

fn error_in(file: &Path, reason: impl Into<String>) -> TlsError {
    TlsError {
        file: file.to_path_buf(),
        reason: reason.into(),
    }
}
