//! A connection the router has let go, closed so that its last packet arrives: the rest of its
//! output is written, the sending side shut down, and what the client still sends is read and
//! discarded for a bounded time and number of bytes before the socket is closed.
//!
//! Why not close at once: a socket closed with unread bytes in its receive buffer, or that
//! receives more after the close, is answered with a reset (RFC 1122 §4.2.2.13). Linux then
//! drops whatever of the broker's own output is still unsent, and the client's next write
//! fails with a broken pipe; a client that stops there never reads the refusing CONNACK or the
//! DISCONNECT with its reason, which is the one thing it needed. Shutting down only the sending
//! side instead sends the output and a FIN; reading on lets the client's writes succeed until
//! it has read the end.
//!
//! The router has already released the link and its session when this starts, so nothing the
//! client sends is processed; the bounds keep a client from holding the socket open.

use std::io;
use std::time::{Duration, Instant};

use mio::event::Source;

use super::transport::Transport;

/// How long a closing connection may stay open at most, whatever the client does.
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(1);
/// Bytes read and discarded from a closing connection before it is closed regardless. Enough
/// for a client to notice the end between two of its writes; a client sending more than this
/// is not listening.
const LINGER_BYTES: usize = 64 * 1024;

/// Output a closing connection may still hold after its first write; with more, it closes at
/// once. So much unsent means the client has not been reading for a while and will hardly
/// start now, and this keeps the memory of all closing connections within bounds.
pub(crate) const MAX_UNSENT: usize = 64 * 1024;

/// How far a close has come.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Waiting for the socket; `writable` when there is still output (or a TLS close_notify)
    /// to send, so WRITABLE readiness is wanted.
    Waiting { writable: bool },
    /// Finished, or given up: drop it, which closes the socket.
    Done,
}

#[derive(Debug)]
pub(crate) struct Closing {
    transport: Transport,
    /// What the router had not written when it let the link go; it ends with the reason.
    output: Vec<u8>,
    /// How much of `output` is written.
    written: usize,
    /// The sending side is shut down (TLS close_notify sent, then the TCP FIN).
    write_closed: bool,
    /// The client closed its sending side; there is nothing more to read.
    peer_closed: bool,
    /// Bytes read and thrown away so far.
    discarded: usize,
    /// When the socket is closed whatever state the close is in.
    pub(crate) until: Instant,
    /// Whether WRITABLE interest is registered.
    pub(crate) writable_registered: bool,
}

impl Closing {
    /// Starts closing `transport`, with `output` still to send.
    pub(crate) fn new(transport: Transport, output: Vec<u8>, now: Instant) -> Closing {
        Closing {
            transport,
            output,
            written: 0,
            write_closed: false,
            peer_closed: false,
            discarded: 0,
            until: now + LINGER_TIME,
            writable_registered: false,
        }
    }

    /// Output not yet written.
    pub(crate) fn unsent(&self) -> usize {
        self.output.len().saturating_sub(self.written)
    }

    /// The socket, to register with the poll; `None` once a failed handshake closed it.
    pub(crate) fn source(&mut self) -> Option<&mut dyn Source> {
        self.transport.source()
    }

    /// Takes the close as far as the socket allows now: writes what is left, shuts down the
    /// sending side once all is written, and reads whatever arrived (to `WouldBlock`, as
    /// readiness is edge-triggered) into `scratch` and forgets it. Spurious calls are harmless.
    pub(crate) fn advance(&mut self, scratch: &mut [u8]) -> Progress {
        if self.transport.source().is_none() {
            return Progress::Done;
        }
        // A failed write or read means the client is gone: nothing left to deliver.
        if self.send().is_err() || self.discard(scratch).is_err() {
            return Progress::Done;
        }
        if self.discarded >= LINGER_BYTES || (self.write_closed && self.peer_closed) {
            return Progress::Done;
        }
        Progress::Waiting {
            writable: !self.write_closed,
        }
    }

    /// Writes until the output is sent and the sending side shut down, or the socket is full.
    fn send(&mut self) -> io::Result<()> {
        while let Some(rest) = self.output.get(self.written..).filter(|r| !r.is_empty()) {
            match self.transport.write(rest) {
                Ok(0) => return Ok(()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if !self.output.is_empty() {
            self.output = Vec::new();
            self.written = 0;
        }
        if !self.write_closed {
            match self.transport.close_write() {
                Ok(()) => self.write_closed = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads and forgets until the socket would block, the client closes, or the bound is met.
    fn discard(&mut self, scratch: &mut [u8]) -> io::Result<()> {
        while !self.peer_closed && self.discarded < LINGER_BYTES {
            match self.transport.read_raw(scratch) {
                Ok(0) => self.peer_closed = true,
                Ok(n) => self.discarded += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener};
    use std::time::{Duration, Instant};

    use super::{Closing, LINGER_BYTES, Progress};
    use crate::net::transport::Transport;

    /// A closing plain transport over a loopback connection, and the peer's blocking end.
    fn pair(output: &[u8]) -> (Closing, std::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let peer =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (ours, _) = listener.accept().expect("accept");
        ours.set_nonblocking(true).expect("non-blocking");
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let transport = Transport::Plain(mio::net::TcpStream::from_std(ours));
        (
            Closing::new(transport, output.to_vec(), Instant::now()),
            peer,
        )
    }

    /// Advances until `Done`, or gives up after a while (a slow machine's loopback).
    fn advance_until_done(closing: &mut Closing, scratch: &mut [u8]) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if closing.advance(scratch) == Progress::Done {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn the_output_arrives_then_the_end_of_stream() {
        let (mut closing, mut peer) = pair(b"\x20\x02\x00\x01");
        let mut scratch = vec![0; 1024];
        // The peer has written more that the broker never reads as MQTT.
        peer.write_all(&[0xC0, 0x00].repeat(100)).expect("write");
        assert_eq!(
            closing.advance(&mut scratch),
            Progress::Waiting { writable: false },
            "all sent and shut down, waiting for the peer"
        );
        let mut received = Vec::new();
        peer.read_to_end(&mut received)
            .expect("an orderly end, not a reset");
        assert_eq!(received, b"\x20\x02\x00\x01");
        // The peer's writes are still taken, and its close ends the close.
        peer.write_all(b"more")
            .expect("write after the broker's FIN");
        peer.shutdown(Shutdown::Write).expect("shutdown");
        assert!(advance_until_done(&mut closing, &mut scratch));
        assert_eq!(closing.discarded, 204);
    }

    #[test]
    fn a_peer_that_keeps_sending_is_dropped_at_the_byte_bound() {
        let (mut closing, mut peer) = pair(b"");
        let mut scratch = vec![0; 4096];
        let flood = std::thread::spawn(move || {
            let chunk = vec![0u8; 8192];
            // Ends when the broker side closes (a reset) or after twice the bound.
            for _ in 0..(2 * LINGER_BYTES / chunk.len()) {
                if peer.write_all(&chunk).is_err() {
                    return;
                }
            }
            let mut rest = Vec::new();
            let _ = peer.read_to_end(&mut rest);
        });
        assert!(advance_until_done(&mut closing, &mut scratch));
        assert!(closing.discarded >= LINGER_BYTES);
        drop(closing);
        flood.join().expect("flood thread");
    }

    #[test]
    fn a_peer_that_is_gone_ends_the_close() {
        let (mut closing, peer) = pair(b"unsent");
        drop(peer);
        let mut scratch = vec![0; 1024];
        // Its reset, or its FIN after which the output cannot go: either way, done.
        assert!(advance_until_done(&mut closing, &mut scratch));
    }
}
