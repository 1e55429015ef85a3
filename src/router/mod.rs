//! The broker's state and MQTT rules, free of I/O: links, sessions, subscriptions, retained
//! messages and outbound queues.
//!
//! The reactor hands the router bytes it read and the current time; the router decodes packets,
//! applies the protocol, and leaves encoded output in per-link buffers for the reactor to write.
//! No socket, clock or thread is touched here, which is what lets tests and the `session` fuzz
//! target drive many clients in-process.

pub mod subscriptions;

use std::net::SocketAddr;
use std::time::Instant;

use crate::config::Config;

/// Names one network connection for as long as it lives. The generation makes a key that
/// outlives its connection harmless: a reused slot gets a new generation, so a late message for
/// a departed client never reaches the slot's next occupant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkId {
    index: u32,
    generation: u32,
}

/// Why the reactor ended a connection the router did not ask to close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkLoss {
    /// The peer closed its end (read returned 0).
    PeerClosed,
    /// A socket error, with its text for the log.
    Io(String),
    /// The broker is shutting down.
    Shutdown,
}

/// A link whose output or state changed since the reactor last asked; see [`Router::take_ready`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// The value the reactor passed to [`Router::open_link`].
    pub token: usize,
    pub link: LinkId,
}

/// The sans-I/O broker core. One per broker; owned by the reactor's thread.
pub struct Router {
    _config: Config,
}

impl Router {
    pub fn new(config: &Config) -> Router {
        Router {
            _config: config.clone(),
        }
    }

    /// A connection was accepted. `token` is the reactor's own key for it, handed back in
    /// [`Ready`]. The link must send CONNECT within the configured connect timeout.
    pub fn open_link(&mut self, token: usize, peer: SocketAddr, now: Instant) -> LinkId {
        let _ = (token, peer, now);
        unimplemented!()
    }

    /// Bytes arrived on `link`. Every complete packet at the front of `data` is decoded and
    /// handled; the return value is how many bytes were consumed, and the reactor keeps the rest
    /// (a partial packet) to present again with more bytes behind it. Once the link is closing,
    /// all of `data` is consumed and ignored.
    pub fn receive(&mut self, link: LinkId, data: &[u8], now: Instant) -> usize {
        let _ = (link, data, now);
        unimplemented!()
    }

    /// Bytes waiting to be written to `link`'s socket (empty for an unknown link).
    pub fn output(&self, link: LinkId) -> &[u8] {
        let _ = link;
        unimplemented!()
    }

    /// The reactor wrote the first `written` bytes of [`Router::output`]. Freed window space may
    /// pull queued messages into the output, which marks the link ready again.
    pub fn consume_output(&mut self, link: LinkId, written: usize, now: Instant) {
        let _ = (link, written, now);
        unimplemented!()
    }

    /// True once the router wants the connection closed (after DISCONNECT, a protocol error,
    /// a refused CONNECT, a takeover or a timeout). The reactor writes what output it can, then
    /// closes the socket and calls [`Router::close_link`].
    pub fn wants_close(&self, link: LinkId) -> bool {
        let _ = link;
        unimplemented!()
    }

    /// The connection is gone. If the router had not asked for it, this is a loss: the will is
    /// published and a persistent session goes offline. Frees the link; idempotent.
    pub fn close_link(&mut self, link: LinkId, loss: LinkLoss, now: Instant) {
        let _ = (link, loss, now);
        unimplemented!()
    }

    /// Moves the links with new output or a close request into `ready` (each once).
    pub fn take_ready(&mut self, ready: &mut Vec<Ready>) {
        let _ = ready;
        unimplemented!()
    }

    /// Runs the timers due at `now` (connect timeout, keepalive) and returns the next deadline,
    /// which the reactor uses as its poll timeout.
    pub fn tick(&mut self, now: Instant) -> Option<Instant> {
        let _ = now;
        unimplemented!()
    }
}
