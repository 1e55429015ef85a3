//! The reactor's side of the broker's bridges: their sockets' events, and one turn each per
//! loop turn (timers, attempts, forwarding, writing).

use std::time::Instant;

use mio::Token;

use super::{FIRST_BRIDGE, Reactor};
use crate::net::bridge::Outgoing;

/// The broker's bridges, by position; bridge `i` has token `FIRST_BRIDGE + i`.
#[derive(Default)]
pub(crate) struct Bridges {
    pub(crate) list: Vec<Outgoing>,
    /// The earliest timer of any bridge, for the poll timeout.
    pub(crate) next: Option<Instant>,
}

impl Reactor {
    /// Takes the bridges and starts them: their local sessions are made so messages queue
    /// from now on, and the first attempts are due at once.
    pub(crate) fn start_bridges(&mut self, list: Vec<Outgoing>, now: Instant) {
        self.bridges.list = list;
        for bridge in &mut self.bridges.list {
            bridge.core.start(&mut self.router, now);
        }
        // The first turn must not wait for an event.
        if !self.bridges.list.is_empty() {
            self.bridges.next = Some(now);
        }
    }

    pub(super) fn bridge_event(&mut self, index: usize, now: Instant) {
        let registry = self.poll.registry();
        let token = Token(FIRST_BRIDGE + index);
        if let Some(bridge) = self.bridges.list.get_mut(index) {
            bridge.event(&mut self.router, registry, token, self.scratch.get(), now);
        }
    }

    /// One turn of every bridge.
    pub(super) fn bridge_turns(&mut self, now: Instant) {
        let mut next: Option<Instant> = None;
        let registry = self.poll.registry();
        for (i, bridge) in self.bridges.list.iter_mut().enumerate() {
            let token = Token(FIRST_BRIDGE + i);
            let released = bridge.core.reads_held() && self.router.bridge_may_read();
            if bridge.read_more() || released {
                bridge.event(&mut self.router, registry, token, self.scratch.get(), now);
            }
            if bridge.read_more() {
                next = Some(now);
            }
            let due = bridge.turn(&mut self.router, registry, token, now);
            next = [next, due].into_iter().flatten().min();
        }
        self.bridges.next = next;
    }

    /// Each bridge writes what it has for its remote end, after the store's commit. A
    /// bridge that can take more local output now (its socket took what it had) gets another
    /// turn at once, as does one whose connection just ended (its next attempt is planned).
    pub(super) fn bridge_writes(&mut self, now: Instant) {
        let registry = self.poll.registry();
        for (i, bridge) in self.bridges.list.iter_mut().enumerate() {
            let closed = bridge.write_out(&mut self.router, registry, Token(FIRST_BRIDGE + i), now);
            if closed || bridge.core.wants_pump(&self.router) {
                self.bridges.next = Some(now);
            }
        }
    }

    /// A bridge whose reads the memory budget held gets a turn at once when they may go on:
    /// what arrived meanwhile raised no event it acted on.
    pub(super) fn release_held_bridges(&mut self, now: Instant) {
        let held = self.bridges.list.iter().any(|b| b.core.reads_held());
        if held && self.router.bridge_may_read() {
            self.bridges.next = Some(now);
        }
    }

    pub(super) fn shut_down_bridges(&mut self, now: Instant) {
        for bridge in &mut self.bridges.list {
            bridge.shut_down(&mut self.router, now);
        }
    }
}
