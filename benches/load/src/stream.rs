//! A link's byte stream: plain TCP, or TLS over TCP (with `--tls-ca`), either of them carrying
//! WebSocket frames (with `--ws`, see `ws`). `Read` and `Write` keep
//! the plain-socket meaning, so `net` drives both alike: a TLS handshake is continued by every
//! read and write and reports `WouldBlock` until it completes.
//!
//! Writes are retried from the first unwritten byte of a buffer that is only appended to until
//! it is all written, which is what OpenSSL requires after `WouldBlock`.

use std::io::{self, Read, Write};

use mio::net::TcpStream;

#[cfg(feature = "tls")]
use native_tls::{HandshakeError, MidHandshakeTlsStream, TlsConnector, TlsStream};

pub enum Stream {
    Plain(TcpStream),
    WebSocket(Box<crate::ws::WsStream>),
    #[cfg(feature = "tls")]
    Handshaking(Box<MidHandshakeTlsStream<TcpStream>>),
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream<TcpStream>>),
    /// The handshake failed; the socket went with it.
    #[cfg(feature = "tls")]
    Failed,
}

/// How to reach a TLS listener: a connector trusting the test CA, and the name to check.
#[cfg(feature = "tls")]
pub struct Tls {
    pub connector: TlsConnector,
    pub domain: String,
}

#[cfg(feature = "tls")]
impl Tls {
    pub fn new(target: &crate::opts::TlsTarget) -> io::Result<Tls> {
        let pem = std::fs::read(&target.ca)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", target.ca.display())))?;
        let ca = native_tls::Certificate::from_pem(&pem).map_err(io::Error::other)?;
        let connector = TlsConnector::builder()
            .add_root_certificate(ca)
            .disable_built_in_roots(true)
            .build()
            .map_err(io::Error::other)?;
        Ok(Tls {
            connector,
            domain: target.host.clone(),
        })
    }

    /// Starts the handshake on a connected, registered socket.
    pub fn start(&self, stream: TcpStream) -> io::Result<Stream> {
        match self.connector.connect(&self.domain, stream) {
            Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
            Err(HandshakeError::WouldBlock(mid)) => Ok(Stream::Handshaking(Box::new(mid))),
            Err(HandshakeError::Failure(e)) => Err(io::Error::other(e)),
        }
    }
}

impl Stream {
    #[cfg(feature = "tls")]
    fn continue_handshake(&mut self) -> io::Result<()> {
        if !matches!(self, Stream::Handshaking(_)) {
            return Ok(());
        }
        let Stream::Handshaking(mid) = std::mem::replace(self, Stream::Failed) else {
            return Ok(());
        };
        match (*mid).handshake() {
            Ok(tls) => {
                *self = Stream::Tls(Box::new(tls));
                Ok(())
            }
            Err(HandshakeError::WouldBlock(mid)) => {
                *self = Stream::Handshaking(Box::new(mid));
                Err(io::ErrorKind::WouldBlock.into())
            }
            Err(HandshakeError::Failure(e)) => Err(io::Error::other(e)),
        }
    }

    #[cfg(not(feature = "tls"))]
    fn continue_handshake(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.continue_handshake()?;
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::WebSocket(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Handshaking(_) | Stream::Failed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.continue_handshake()?;
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::WebSocket(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Handshaking(_) | Stream::Failed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Pushes what a WebSocket link framed and the socket did not take yet.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::WebSocket(s) => s.flush(),
            _ => Ok(()),
        }
    }
}
