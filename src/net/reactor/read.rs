//! Reading: each readable connection read until its socket is drained, its turn's share is
//! used up, or the router wants it not read (its output waits unwritten, the memory budget
//! pauses publishers, a client is over its publish rate); the links the router lets be read
//! again; and what the connections hold, for the memory budget.

use std::mem;
use std::time::Instant;

use mio::Token;
use mio::event::Event;

use super::{READS_PER_TURN, Reactor};
use crate::net::connection::ReadOutcome;
use crate::net::listener::os_message;
use crate::router::LinkLoss;

impl Reactor {
    pub(super) fn connection_event(&mut self, token: Token, event: &Event, now: Instant) {
        // Events are hints: the slot may have gone (spurious) or be on its way out.
        match self.connections.get_mut(token.0) {
            Some(conn) if !conn.closing => {
                conn.hangup_seen |= event.is_read_closed() || event.is_error();
            }
            _ => return,
        }
        if event.is_writable() {
            self.writable.push(token);
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.read(token, now);
        }
    }

    /// Connections that used up their reads last turn read again before new events.
    pub(super) fn continue_reads(&mut self, now: Instant) {
        for (token, link) in mem::take(&mut self.continue_reading) {
            match self.connections.get(token.0) {
                Some(conn) if conn.link == link && !conn.closing => self.read(token, now),
                _ => {}
            }
        }
    }

    /// Reads, then gives a transport that has bytes of its own to send (a WebSocket
    /// handshake answer or pong) its write turn this turn, as router output gets one.
    fn read(&mut self, token: Token, now: Instant) {
        self.read_some(token, now);
        self.settle_io(token);
        if let Some(conn) = self.connections.get(token.0)
            && !conn.closing
            && conn.transport.establishing()
        {
            self.writable.push(token);
        }
    }

    /// Reads until the socket is drained, the router wants the link closed or not read (see
    /// [`Router::may_read`]), or the turn's share is used up.
    ///
    /// A connection whose unwritten output passes the router's pause mark is not read until
    /// writes bring it below half: deliveries stop at a lower mark, so what goes past it are
    /// replies to the client's own requests (PINGRESP, PUBACK, SUBACK…) when it sends without
    /// reading, and without this pause they would grow the broker's memory as fast as it sends.
    fn read_some(&mut self, token: Token, now: Instant) {
        let pause_at = self.router.read_pause_output();
        let Some(conn) = self.connections.get_mut(token.0) else {
            return;
        };
        let link = conn.link;
        if conn.feed_pending(&mut self.router, now) && self.router.wants_close(link) {
            return;
        }
        for _ in 0..READS_PER_TURN {
            if self.router.output(link).len() >= pause_at {
                conn.reads_paused = true;
                return;
            }
            if !self.router.may_read(link) {
                // Handed back by `Router::take_resumed` when it may be read again.
                return;
            }
            let received = &mut self.traffic.bytes_received;
            match conn.read_once(&mut self.router, self.scratch.get(), received, now) {
                ReadOutcome::Data | ReadOutcome::Drained
                    if conn.pending_len() > self.max_pending_in =>
                {
                    let loss = LinkLoss::Io("partial packet larger than the maximum".into());
                    return self.doom(token, link, Some(loss));
                }
                ReadOutcome::Data if self.router.wants_close(link) => return,
                ReadOutcome::Data => {}
                ReadOutcome::Drained | ReadOutcome::WouldBlock => return,
                ReadOutcome::Closed => return self.doom(token, link, Some(LinkLoss::PeerClosed)),
                ReadOutcome::Failed(e) => {
                    return self.doom(token, link, Some(LinkLoss::Io(os_message(&e))));
                }
            }
        }
        self.continue_reading.push((token, link));
    }

    /// Brings the connections' total held in memory up to date with this one's.
    pub(super) fn settle_io(&mut self, token: Token) {
        if let Some(conn) = self.connections.get_mut(token.0) {
            let footprint = u32::try_from(conn.footprint()).unwrap_or(u32::MAX);
            self.io_bytes =
                self.io_bytes.saturating_sub(conn.charged as usize) + footprint as usize;
            conn.charged = footprint;
        }
    }

    /// Tells the router what the connections hold, which assesses the memory budget, and reads
    /// again the links it lets be read again.
    pub(super) fn settle_memory(&mut self, now: Instant) {
        self.router.set_io_memory(self.io_bytes, now);
        // Empty (and unallocated) but in an episode's end or a rate hold's.
        let mut resumed = Vec::new();
        self.router.take_resumed(&mut resumed);
        for r in resumed {
            self.continue_reading.push((Token(r.token), r.link));
        }
        self.release_held_bridges(now);
    }
}
