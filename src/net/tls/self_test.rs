//! A handshake with ourselves over a local socket pair, run on every certificate loaded.
//!
//! OpenSSL accepts a private key that does not belong to the certificate (it silently drops the
//! key) and fails only at the first real handshake. At start-up that would be a broker that
//! refuses every TLS client; at a reload racing a certificate renewal (new certificate, old key)
//! it would take the TLS listeners down. One handshake here turns both into a clear error.

use std::io;
use std::os::unix::net::UnixStream;

use native_tls::{HandshakeError, MidHandshakeTlsStream, TlsAcceptor, TlsConnector, TlsStream};

/// Each side needs two or three steps; more than this means something is stuck.
const MAX_STEPS: usize = 16;

/// One side of the test handshake.
enum Side {
    Waiting(MidHandshakeTlsStream<UnixStream>),
    /// Kept open until both sides are done, so the peer can read its last messages.
    Done {
        _open: TlsStream<UnixStream>,
    },
}

/// Completes a handshake between `acceptor` and a client that trusts any certificate (this
/// checks the server's key, not who signed it); the error is OpenSSL's reason.
pub(super) fn handshake(acceptor: &TlsAcceptor) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| super::openssl_reason(e);
    let (server_end, client_end) = UnixStream::pair().map_err(|e| failed(&e))?;
    for end in [&server_end, &client_end] {
        end.set_nonblocking(true).map_err(|e| failed(&e))?;
    }
    let connector = TlsConnector::builder()
        .danger_accept_invalid_certs(true)
        .danger_accept_invalid_hostnames(true)
        .disable_built_in_roots(true)
        .build()
        .map_err(|e| failed(&e))?;
    let mut server = side(acceptor.accept(server_end)).map_err(|e| failed(&e))?;
    let mut client = side(connector.connect("localhost", client_end)).map_err(|e| failed(&e))?;
    for _ in 0..MAX_STEPS {
        client = step(client).map_err(|e| failed(&e))?;
        server = step(server).map_err(|e| failed(&e))?;
        if matches!((&server, &client), (Side::Done { .. }, Side::Done { .. })) {
            return Ok(());
        }
    }
    Err("it did not complete".into())
}

fn side(result: Result<TlsStream<UnixStream>, HandshakeError<UnixStream>>) -> io::Result<Side> {
    match result {
        Ok(stream) => Ok(Side::Done { _open: stream }),
        Err(HandshakeError::WouldBlock(mid)) => Ok(Side::Waiting(mid)),
        Err(HandshakeError::Failure(e)) => Err(io::Error::other(e)),
    }
}

fn step(side: Side) -> io::Result<Side> {
    match side {
        Side::Waiting(mid) => self::side(mid.handshake()),
        done => Ok(done),
    }
}
