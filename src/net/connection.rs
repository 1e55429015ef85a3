//! One accepted connection: its transport (plain TCP, TLS or a Unix socket), the router link it
//! feeds, the listener group it counts against, and the few bytes of a partial packet it may be
//! holding between reads.

use std::io;
use std::time::Instant;

use super::transport::Transport;
use crate::router::{LinkId, Router};

/// A leftover partial packet keeps its buffer only while it is at most this much larger than
/// needed; beyond that the buffer is shrunk, so one large PUBLISH does not pin its memory.
const SPARE_CAPACITY: usize = 16 * 1024;

/// What one read on the socket came to.
#[derive(Debug)]
pub(crate) enum ReadOutcome {
    /// Bytes were read and handed to the router.
    Data,
    /// Bytes were read and handed to the router, fewer than asked for, from a socket whose
    /// short read means it is drained: a further read would only say so. Edge-triggered
    /// readiness brings a new event for anything that arrives after it.
    Drained,
    /// Nothing more to read until the next readiness event.
    WouldBlock,
    /// The peer closed its end.
    Closed,
    /// The socket failed.
    Failed(io::Error),
}

#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) transport: Transport,
    pub(crate) link: LinkId,
    /// The listener group it was accepted on, which counts it against `max_connections`.
    pub(crate) group: u32,
    /// A partial packet the router has not consumed yet. `None` for an idle connection:
    /// complete packets go from the shared scratch buffer straight to the router. Boxed, so
    /// that the connections holding none (almost all, at any moment) pay 8 bytes for it, not 24.
    #[allow(clippy::box_collection)]
    pending_in: Option<Box<Vec<u8>>>,
    /// Whether WRITABLE interest is registered, i.e. output is waiting on a full socket buffer.
    pub(crate) writable_registered: bool,
    /// Set once the connection is queued for removal, so nothing else in the batch touches it.
    pub(crate) closing: bool,
    /// Not read while its unwritten output is too large; resumed by the write that drains it.
    pub(crate) reads_paused: bool,
    /// The loop turn in which output was last written, to write at most once per turn.
    pub(crate) flushed_in_turn: u64,
    /// What is counted against the memory budget for it (see [`Connection::footprint`]):
    /// a record, a partial packet and TLS state, far below 4 GiB.
    pub(crate) charged: u32,
    /// An event said the peer's end closed or failed. No further event comes for that, so
    /// a short read no longer means drained: the end is found by reading on to it.
    pub(crate) hangup_seen: bool,
}

impl Connection {
    pub(crate) fn new(transport: Transport, link: LinkId, group: u32) -> Connection {
        Connection {
            transport,
            link,
            group,
            pending_in: None,
            writable_registered: false,
            closing: false,
            reads_paused: false,
            flushed_in_turn: 0,
            charged: 0,
            hangup_seen: false,
        }
    }

    /// What this connection holds: its record, its slot in the loop's slab, its partial
    /// packet and its transport's state.
    pub(crate) fn footprint(&self) -> usize {
        let pending = (self.pending_in.as_ref()).map_or(0, |p| size_of::<Vec<u8>>() + p.capacity());
        size_of::<Connection>() + 16 + pending + self.transport.footprint()
    }

    /// Gives the router the complete packets of a partial read it left waiting (it stops
    /// taking a publisher's packets while the memory budget pauses publishers). Returns
    /// whether anything was taken.
    pub(crate) fn feed_pending(&mut self, router: &mut Router, now: Instant) -> bool {
        let Some(pending) = &mut self.pending_in else {
            return false;
        };
        let consumed = router.receive(self.link, pending, now).min(pending.len());
        pending.drain(..consumed);
        self.release_spare();
        consumed > 0
    }

    /// Bytes of a partial packet held between reads.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending_in.as_ref().map_or(0, |pending| pending.len())
    }

    /// Reads once into `scratch` and gives the router every complete packet; only an incomplete
    /// tail is copied into this connection's own buffer.
    /// `received` counts the bytes read, for the statistics.
    pub(crate) fn read_once(
        &mut self,
        router: &mut Router,
        scratch: &mut [u8],
        received: &mut u64,
        now: Instant,
    ) -> ReadOutcome {
        self.transport.set_max_packet_size(router.max_packet_size());
        let n = match self.transport.read(scratch) {
            Ok(0) => return ReadOutcome::Closed,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return ReadOutcome::Data,
            Err(e) => return ReadOutcome::Failed(e),
        };
        // Behind a reverse proxy the client's own address arrives with the WebSocket
        // handshake, before any MQTT byte, so the CONNECT is logged with it.
        if let Some(peer) = self.transport.take_forwarded_peer() {
            router.set_link_peer(self.link, peer);
        }
        *received += n as u64;
        let drained = n < scratch.len() && !self.hangup_seen && self.transport.short_read_drains();
        let fresh = &scratch[..n];
        match &mut self.pending_in {
            None => {
                let consumed = router.receive(self.link, fresh, now).min(n);
                if consumed < n {
                    self.pending_in = Some(Box::new(fresh[consumed..].to_vec()));
                }
            }
            Some(pending) => {
                pending.extend_from_slice(fresh);
                let consumed = router.receive(self.link, pending, now).min(pending.len());
                pending.drain(..consumed);
                self.release_spare();
            }
        }
        if drained {
            ReadOutcome::Drained
        } else {
            ReadOutcome::Data
        }
    }

    /// Gives back the partial-packet buffer's memory once it is no longer needed.
    fn release_spare(&mut self) {
        let Some(pending) = &mut self.pending_in else {
            return;
        };
        if pending.is_empty() {
            self.pending_in = None;
        } else if pending.capacity() > pending.len() + SPARE_CAPACITY {
            pending.shrink_to(pending.len());
        }
    }

    /// Writes as much of `data` as the socket takes now, in one call; `Ok(0)` when it is full
    /// (or a TLS handshake is still under way, which this call moves along).
    pub(crate) fn write_once(&mut self, data: &[u8]) -> io::Result<usize> {
        loop {
            match self.transport.write(data) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Ends the conversation (TLS close_notify, then TCP shutdown); dropping the connection
    /// afterwards closes the descriptor.
    pub(crate) fn shutdown(&mut self) {
        self.transport.shutdown();
    }
}
