//! The TLS listeners' certificate: read from the files a [`crate::config::TlsIdentity`] names when the broker
//! starts and again on every reload, checked, and kept as the acceptor that starts each new
//! handshake. A reload replaces the acceptor only when the new files work, so a half-written
//! renewal never takes the TLS listeners down; established connections keep their session.

use std::fmt;
use std::path::PathBuf;

#[cfg(feature = "tls")]
pub(crate) mod client;
#[cfg(feature = "tls")]
mod self_test;
#[cfg(feature = "tls")]
mod server;

#[cfg(feature = "tls")]
pub(crate) use server::TlsServer;

/// A certificate or key that cannot be used, naming the file at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    pub file: PathBuf,
    pub reason: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot use {}: {}", self.file.display(), self.reason)
    }
}

impl std::error::Error for TlsError {}

/// The same methods as the real one, for a build without TLS: there is never a value, because
/// the configuration is refused before any listener is bound.
#[cfg(not(feature = "tls"))]
#[derive(Debug)]
pub(crate) enum TlsServer {}

#[cfg(not(feature = "tls"))]
impl TlsServer {
    pub(crate) fn reload(&mut self) {
        match *self {}
    }

    pub(crate) fn accept(
        &self,
        _stream: mio::net::TcpStream,
    ) -> std::io::Result<super::transport::Transport> {
        match *self {}
    }
}

/// OpenSSL's reason from its error text: `error:0A00010B:SSL routines:ssl3_get_record:wrong
/// version number:../ssl/record/ssl3_record.c:350:` becomes `wrong version number`. Other text
/// is kept whole.
#[cfg(feature = "tls")]
pub(crate) fn openssl_reason(error: &(impl fmt::Display + ?Sized)) -> String {
    let text = error.to_string();
    let fields: Vec<&str> = text.split(':').collect();
    match fields.as_slice() {
        ["error", _code, _library, _function, reason, ..] if !reason.is_empty() => {
            (*reason).to_string()
        }
        _ => text,
    }
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use super::openssl_reason;

    #[test]
    fn openssl_reason_keeps_the_reason_only() {
        let text = "error:0A00010B:SSL routines:ssl3_get_record:wrong version number:\
                    ../ssl/record/ssl3_record.c:350:";
        assert_eq!(openssl_reason(text), "wrong version number");
        assert_eq!(
            openssl_reason("the handshake failed"),
            "the handshake failed"
        );
    }
}
