//! Writing: each ready or writable connection gets one write per turn, WRITABLE interest is
//! kept exactly while output waits, and a connection the router wants closed is doomed after
//! its write, to be closed gracefully with whatever output is left.

use std::mem;
use std::time::Instant;

use mio::{Interest, Token};

use super::Reactor;
use crate::net::listener::os_message;
use crate::router::LinkLoss;

impl Reactor {
    /// Writes once to every ready or writable connection.
    pub(super) fn flush(&mut self, now: Instant) {
        self.router.take_ready(&mut self.ready);
        let mut ready = mem::take(&mut self.ready);
        for r in &ready {
            match self.connections.get(r.token) {
                Some(conn) if conn.link == r.link => {
                    self.flush_one(Token(r.token), now);
                    self.settle_io(Token(r.token));
                }
                // The link is gone, or its slot now holds a newer connection.
                _ => {}
            }
        }
        ready.clear();
        self.ready = ready;
        for token in mem::take(&mut self.writable) {
            self.flush_one(token, now);
            self.settle_io(token);
        }
    }

    /// One `write` of the link's output; closes it if the router asked; keeps WRITABLE interest
    /// exactly while output remains or the transport is still being set up.
    fn flush_one(&mut self, token: Token, now: Instant) {
        let Some(conn) = self.connections.get_mut(token.0) else {
            return;
        };
        if conn.closing || conn.flushed_in_turn == self.turn {
            return;
        }
        conn.flushed_in_turn = self.turn;
        let link = conn.link;
        let establishing = conn.transport.establishing();
        let output = self.router.output(link);
        if !output.is_empty() || establishing {
            match conn.write_once(output) {
                Ok(0) => {}
                Ok(written) => {
                    self.traffic.bytes_sent += written as u64;
                    self.router.consume_output(link, written, now);
                }
                Err(e) => return self.doom(token, link, Some(LinkLoss::Io(os_message(&e)))),
            }
        }
        if conn.reads_paused && self.router.output(link).len() < self.router.read_pause_output() / 2
        {
            // Edge-triggered: what arrived while paused raised no event we acted on.
            conn.reads_paused = false;
            self.continue_reading.push((token, link));
        }
        let still_establishing = conn.transport.establishing();
        if establishing && !still_establishing {
            // Set up during a write: what the peer sent meanwhile raised its readiness event
            // while the transport could not read it yet, so no new event will come for it.
            self.continue_reading.push((token, link));
        }
        if self.router.wants_close(link) {
            return self.doom(token, link, None);
        }
        let pending = !self.router.output(link).is_empty() || still_establishing;
        self.set_writable(token, pending);
    }

    fn set_writable(&mut self, token: Token, wanted: bool) {
        let Some(conn) = self.connections.get_mut(token.0) else {
            return;
        };
        if conn.writable_registered == wanted {
            return;
        }
        let interest = if wanted {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let Some(socket) = conn.transport.source() else {
            return;
        };
        match self.poll.registry().reregister(socket, token, interest) {
            Ok(()) => conn.writable_registered = wanted,
            Err(e) => {
                let link = conn.link;
                self.doom(token, link, Some(LinkLoss::Io(os_message(&e))));
            }
        }
    }
}
