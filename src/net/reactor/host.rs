//! The reactor's side of an embedded broker's host program: its requests are taken when the
//! waker fires, and its subscriptions are fed after the store's commit, as sockets are written.

use std::time::Instant;

use super::Reactor;
use crate::embed::{Host, LoopRequest};

impl Reactor {
    /// Serves the host program's requests from now on.
    pub(crate) fn with_host(mut self, host: Host) -> Reactor {
        self.host = Some(host);
        self
    }

    /// Before the first turn: what the host asked for before the broker ran (subscriptions made
    /// through `Broker::handle`) is in place before any client is served. Receipts wait for
    /// the first turn's commit as always.
    pub(crate) fn take_early_host_requests(&mut self, now: Instant) {
        self.host_woken = true;
        self.host_requests(now);
    }

    /// The host's requests, when the waker fired or some were left over last turn.
    pub(super) fn host_requests(&mut self, now: Instant) {
        let woken = std::mem::take(&mut self.host_woken);
        let Some(host) = self.host.as_mut() else {
            return;
        };
        if !woken && !host.wants_turn() {
            return;
        }
        for request in host.take_commands(&mut self.router, now) {
            match request {
                LoopRequest::Stats(reply) => {
                    // The host may have stopped waiting; nothing to do then.
                    let _ = reply.try_send(self.stats());
                }
                LoopRequest::Reload { config, done } => {
                    log::info!("Reloading config (asked by the host program).");
                    self.apply_reload(config.map(|c| *c));
                    let _ = done.try_send(());
                }
            }
        }
    }

    /// After the store's commit: receipts, deliveries and acknowledgements of the host's links.
    pub(super) fn host_pump(&mut self, now: Instant) {
        if let Some(host) = self.host.as_mut() {
            host.pump(&mut self.router, now);
        }
    }
}
