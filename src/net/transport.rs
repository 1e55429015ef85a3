//! The byte stream under a connection: plain TCP, TLS over TCP, or a Unix domain socket, with
//! a WebSocket layer on top of the TCP ones on a `protocol websockets` listener
//! ([`super::websocket`]). The reactor and the router see only `read`, `write` and the ways to close (at once, or the sending side first); whether
//! the bytes are encrypted, and whether a TLS handshake is still under way, stays in here.
//!
//! A TLS connection starts [`Transport::Handshaking`]: each `read` or `write` continues the
//! handshake until it completes, and reports `WouldBlock` meanwhile, which the reactor already
//! treats as "wait for the next readiness event". Once established, OpenSSL's `WouldBlock`
//! (it wants to read or write on the socket) means the same thing.
//!
//! Writes after `WouldBlock`: OpenSSL requires `SSL_write` to be retried with at least the
//! bytes it was first given (it may already have encrypted some of them into a record). The
//! router keeps its output buffer in place until the reactor reports bytes written, and only
//! appends to it, so every retry passes the same bytes and maybe more, never fewer. The
//! acceptor's context enables partial writes and moving write buffers (the `openssl` crate sets
//! `SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER`), so a retry from a
//! reallocated buffer, or with more bytes behind, is accepted.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::event::Source;
use mio::net::{TcpStream, UnixStream};
#[cfg(feature = "tls")]
use native_tls::{HandshakeError, MidHandshakeTlsStream, TlsAcceptor, TlsConnector, TlsStream};

/// OpenSSL's state for one connection with its read and write record buffers (16 KiB each
/// and more), rounded up.
#[cfg(feature = "tls")]
const TLS_CONNECTION_COST: usize = 48 * 1024;

#[derive(Debug)]
pub(crate) enum Transport {
    Plain(TcpStream),
    /// Plain MQTT over a Unix domain socket.
    Unix(UnixStream),
    /// A TLS handshake in progress, continued on each readiness event.
    #[cfg(feature = "tls")]
    Handshaking(Box<MidHandshakeTlsStream<TcpStream>>),
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream<TcpStream>>),
    /// The handshake failed; the socket was closed with it.
    #[cfg(feature = "tls")]
    Failed,
    /// MQTT over WebSockets, over one of the others.
    #[cfg(feature = "websockets")]
    WebSocket(Box<super::websocket::WebSocket>),
}

impl Transport {
    /// Starts a TLS handshake on an accepted socket. The client's first bytes may already be
    /// there, so this can complete or fail at once; usually it is left waiting for them.
    #[cfg(feature = "tls")]
    pub(crate) fn accept_tls(acceptor: &TlsAcceptor, stream: TcpStream) -> io::Result<Transport> {
        match acceptor.accept(stream) {
            Ok(tls) => Ok(Transport::Tls(Box::new(tls))),
            Err(HandshakeError::WouldBlock(mid)) => Ok(Transport::Handshaking(Box::new(mid))),
            Err(HandshakeError::Failure(e)) => Err(handshake_failed(&e)),
        }
    }

    /// Starts a TLS handshake as the client, on a connected socket (a bridge's), checking the
    /// certificate against `domain`.
    #[cfg(feature = "tls")]
    pub(crate) fn connect_tls(
        connector: &TlsConnector,
        domain: &str,
        stream: TcpStream,
    ) -> io::Result<Transport> {
        match connector.connect(domain, stream) {
            Ok(tls) => Ok(Transport::Tls(Box::new(tls))),
            Err(HandshakeError::WouldBlock(mid)) => Ok(Transport::Handshaking(Box::new(mid))),
            Err(HandshakeError::Failure(e)) => Err(handshake_failed(&e)),
        }
    }

    /// What this transport holds in memory beyond its record, for the memory budget: for TLS
    /// the library's connection state and record buffers, for WebSockets the frame buffers.
    pub(crate) fn footprint(&self) -> usize {
        match self {
            #[cfg(feature = "tls")]
            Transport::Handshaking(_) | Transport::Tls(_) => TLS_CONNECTION_COST,
            #[cfg(feature = "websockets")]
            Transport::WebSocket(ws) => ws.footprint(),
            _ => 0,
        }
    }

    /// The socket, to register with the poll; `None` once a failed handshake closed it.
    pub(crate) fn source(&mut self) -> Option<&mut dyn Source> {
        match self {
            Transport::Unix(stream) => Some(stream),
            #[cfg(feature = "websockets")]
            Transport::WebSocket(ws) => ws.source(),
            _ => self.tcp().map(|stream| stream as &mut dyn Source),
        }
    }

    /// The TCP socket under a TCP transport, plain or TLS.
    fn tcp(&mut self) -> Option<&mut TcpStream> {
        match self {
            Transport::Plain(stream) => Some(stream),
            Transport::Unix(_) => None,
            #[cfg(feature = "tls")]
            Transport::Handshaking(mid) => Some(mid.get_mut()),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => Some(tls.get_mut()),
            #[cfg(feature = "tls")]
            Transport::Failed => None,
            #[cfg(feature = "websockets")]
            Transport::WebSocket(_) => None,
        }
    }

    /// True while the transport is being set up (a TLS handshake). It then needs both read and
    /// write readiness, whether or not the router has anything to send.
    pub(crate) fn establishing(&self) -> bool {
        #[cfg(feature = "websockets")]
        if let Transport::WebSocket(ws) = self {
            return ws.establishing();
        }
        #[cfg(feature = "tls")]
        if let Transport::Handshaking(_) = self {
            return true;
        }
        false
    }

    /// The broker's maximum packet size, which bounds a WebSocket's messages too; the other
    /// transports carry a byte stream, bounded by the MQTT decoder alone.
    pub(crate) fn set_max_packet_size(&mut self, max_packet_size: u32) {
        #[cfg(feature = "websockets")]
        if let Transport::WebSocket(ws) = self {
            ws.set_max_packet_size(max_packet_size);
        }
        #[cfg(not(feature = "websockets"))]
        let _ = max_packet_size;
    }

    /// Whether a read that returns fewer bytes than asked for has emptied the socket. Not so
    /// for TLS and WebSockets, which hand over one record or frame at a time and may hold more.
    pub(crate) fn short_read_drains(&self) -> bool {
        matches!(self, Transport::Plain(_) | Transport::Unix(_))
    }

    /// Reads decrypted bytes. `WouldBlock` while the handshake waits for the peer, and whenever
    /// nothing complete is buffered at the TLS layer or in the socket.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(feature = "websockets")]
        if let Transport::WebSocket(ws) = self {
            return ws.read(buf);
        }
        self.continue_handshake()?;
        match self {
            Transport::Plain(stream) => stream.read(buf),
            Transport::Unix(stream) => stream.read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.read(buf),
            #[cfg(feature = "tls")]
            Transport::Handshaking(_) | Transport::Failed => Err(not_established()),
            #[cfg(feature = "websockets")]
            Transport::WebSocket(_) => Err(not_established()),
        }
    }

    /// Writes some of `data` (see the module docs for what a retry must pass). With empty
    /// `data` this only moves a pending handshake along and returns `Ok(0)`.
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        #[cfg(feature = "websockets")]
        if let Transport::WebSocket(ws) = self {
            return ws.write(data);
        }
        self.continue_handshake()?;
        if data.is_empty() {
            return Ok(0);
        }
        match self {
            Transport::Plain(stream) => stream.write(data),
            Transport::Unix(stream) => stream.write(data),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => write_records(tls, data),
            #[cfg(feature = "tls")]
            Transport::Handshaking(_) | Transport::Failed => Err(not_established()),
            #[cfg(feature = "websockets")]
            Transport::WebSocket(_) => Err(not_established()),
        }
    }

    /// Reads from the TCP socket itself, under any TLS layer: for a closing connection, whose
    /// bytes are thrown away unread, so there is no point in decrypting them.
    pub(crate) fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Transport::Unix(stream) = self {
            return stream.read(buf);
        }
        #[cfg(feature = "websockets")]
        if let Transport::WebSocket(ws) = self {
            return ws.read_raw(buf);
        }
        match self.tcp() {
            Some(stream) => stream.read(buf),
            None => Ok(0),
        }
    }

    /// Shuts down the sending side only, after the last output: a TLS close_notify, then the
    /// TCP FIN. `WouldBlock` when the socket cannot take the close_notify yet; call again
    /// once it is writable. A handshake still under way has no session to close.
    pub(crate) fn close_write(&mut self) -> io::Result<()> {
        #[cfg(feature = "websockets")]
        if let Transport::WebSocket(ws) = self {
            return ws.close_write();
        }
        #[cfg(feature = "tls")]
        if let Transport::Tls(tls) = self {
            // A second call after success would wait for the peer's close_notify; the caller
            // stops calling once this returns `Ok`.
            tls.shutdown()?;
        }
        self.shutdown_socket(Shutdown::Write)
    }

    /// Ends the conversation at once: a TLS close_notify first (best effort: the socket is
    /// non-blocking and the peer may be gone), then the TCP shutdown of both directions.
    /// Dropping the transport closes it.
    pub(crate) fn shutdown(&mut self) {
        #[cfg(feature = "websockets")]
        if let Transport::WebSocket(ws) = self {
            return ws.shutdown();
        }
        #[cfg(feature = "tls")]
        if let Transport::Tls(tls) = self {
            let _ = tls.shutdown();
        }
        // The peer may already be gone; there is nothing to do about a failure here.
        let _ = self.shutdown_socket(Shutdown::Both);
    }

    /// Whether a connection that ended should still close gracefully, because this transport
    /// has last bytes of its own to deliver (a WebSocket close frame or HTTP answer).
    pub(crate) fn farewell_pending(&self) -> bool {
        #[cfg(feature = "websockets")]
        if let Transport::WebSocket(ws) = self {
            return ws.farewell_pending();
        }
        false
    }

    /// The client's address as a proxy in front reported it, once it is known.
    pub(crate) fn take_forwarded_peer(&mut self) -> Option<crate::router::Peer> {
        #[cfg(feature = "websockets")]
        if let Transport::WebSocket(ws) = self {
            return ws.take_forwarded_peer();
        }
        None
    }

    fn shutdown_socket(&mut self, how: Shutdown) -> io::Result<()> {
        if let Transport::Unix(stream) = self {
            return stream.shutdown(how);
        }
        match self.tcp() {
            Some(stream) => stream.shutdown(how),
            None => Ok(()),
        }
    }

    /// Takes the handshake one step further if one is under way: `Ok` once established,
    /// `WouldBlock` while it waits for the peer, an error if it failed.
    #[cfg(feature = "tls")]
    fn continue_handshake(&mut self) -> io::Result<()> {
        if !matches!(self, Transport::Handshaking(_)) {
            return Ok(());
        }
        let Transport::Handshaking(mid) = std::mem::replace(self, Transport::Failed) else {
            return Ok(());
        };
        match (*mid).handshake() {
            Ok(tls) => {
                *self = Transport::Tls(Box::new(tls));
                Ok(())
            }
            Err(HandshakeError::WouldBlock(mid)) => {
                *self = Transport::Handshaking(Box::new(mid));
                Err(io::ErrorKind::WouldBlock.into())
            }
            Err(HandshakeError::Failure(e)) => Err(handshake_failed(&e)),
        }
    }

    #[cfg(not(feature = "tls"))]
    fn continue_handshake(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes records until `data` is all sent or the socket is full.
///
/// With partial writes enabled, one `SSL_write` sends a single record (at most 16 KiB) and
/// returns. The reactor takes a short write to mean "the socket is full, wait for WRITABLE",
/// which is true of TCP but not of this: edge-triggered readiness would never report the socket
/// writable again, and the rest would wait forever. So a short count from here, too, means the
/// socket is full. A `WouldBlock` after some records ends the loop with what was written; the
/// next call starts at the first unwritten byte, which is the retry OpenSSL expects.
#[cfg(feature = "tls")]
fn write_records(tls: &mut TlsStream<TcpStream>, data: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while let Some(rest) = data.get(written..).filter(|rest| !rest.is_empty()) {
        match tls.write(rest) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if written > 0 && e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

#[cfg(feature = "tls")]
fn handshake_failed(error: &native_tls::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "TLS handshake failed: {}",
            super::tls::openssl_reason(error)
        ),
    )
}

#[cfg(any(feature = "tls", feature = "websockets"))]
fn not_established() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "session not established")
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::super::connection::Connection;
    use super::*;

    /// One of each per open connection: the TLS and WebSocket states are boxed so that the
    /// plain connections of idle clients do not pay for them. Raise these only with a reason.
    #[test]
    fn a_connection_stays_small() {
        assert!(
            size_of::<Transport>() <= 24,
            "Transport is {} bytes",
            size_of::<Transport>()
        );
        let connection = size_of::<Connection>();
        // 64 with debug assertions, under which mio keeps a selector id in each socket; 56
        // in a release build.
        assert!(connection <= 64, "Connection is {connection} bytes");
    }
}
