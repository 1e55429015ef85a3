//! The sockets being closed gracefully (see [`crate::net::closing`]): a slab of their own under
//! a token range of their own, so an event for one is never taken for a client's and none of
//! them counts as a client, and a queue of deadlines that ends each one on time.

use std::collections::VecDeque;
use std::time::Instant;

use log::debug;
use mio::{Interest, Registry, Token};
use slab::Slab;

use super::FIRST_CLOSING;
use crate::net::closing::{Closing, MAX_UNSENT, Progress};
use crate::net::transport::Transport;

/// Sockets closing at once, at most. Each stays a second at most, so this is only reached by a
/// crowd of clients refused together; the ones beyond it are closed at once, as they would be
/// without graceful closes, rather than holding more descriptors.
pub(super) const MAX_CLOSING: usize = 1024;

#[derive(Debug, Default)]
pub(super) struct ClosingSockets {
    sockets: Slab<Closing>,
    /// Slab keys with their deadline, oldest first: every close lasts the same time, so the
    /// order of starting is the order of ending. An entry whose slot has been freed, or holds a
    /// later close, is skipped.
    deadlines: VecDeque<(usize, Instant)>,
}

impl ClosingSockets {
    /// Starts closing `transport`, whose last `output` the router has let go of: sends what the
    /// socket takes now and re-registers it under its closing token. It is closed at once when
    /// that is all there was to do, when re-registering fails, when too many are closing
    /// already, or when more than [`MAX_UNSENT`] is left (after this first go, so even then
    /// what the socket took is on its way).
    pub(super) fn start(
        &mut self,
        registry: &Registry,
        transport: Transport,
        output: Vec<u8>,
        now: Instant,
        scratch: &mut [u8],
    ) {
        let mut closing = Closing::new(transport, output, now);
        let Progress::Waiting { writable } = closing.advance(scratch) else {
            return abandon(registry, closing);
        };
        if self.sockets.len() >= MAX_CLOSING {
            debug!("{MAX_CLOSING} connections closing already; closing one more at once");
            return abandon(registry, closing);
        }
        if closing.unsent() > MAX_UNSENT {
            debug!(
                "a closing connection has not read its last {} bytes",
                closing.unsent()
            );
            return abandon(registry, closing);
        }
        let entry = self.sockets.vacant_entry();
        let token = Token(FIRST_CLOSING + entry.key());
        let Some(socket) = closing.source() else {
            return;
        };
        if registry
            .reregister(socket, token, interest(writable))
            .is_err()
        {
            return abandon(registry, closing);
        }
        closing.writable_registered = writable;
        self.deadlines.push_back((entry.key(), closing.until));
        entry.insert(closing);
    }

    /// A readiness event for closing socket `key`.
    pub(super) fn event(&mut self, registry: &Registry, key: usize, scratch: &mut [u8]) {
        let Some(closing) = self.sockets.get_mut(key) else {
            return; // spurious: already closed
        };
        let progress = closing.advance(scratch);
        let rearmed = match progress {
            Progress::Waiting { writable } if writable == closing.writable_registered => true,
            Progress::Waiting { writable } => {
                let token = Token(FIRST_CLOSING + key);
                let rearmed = closing
                    .source()
                    .is_some_and(|s| registry.reregister(s, token, interest(writable)).is_ok());
                closing.writable_registered = writable;
                rearmed
            }
            Progress::Done => false,
        };
        if !rearmed {
            abandon(registry, self.sockets.remove(key));
        }
    }

    /// Closes the sockets whose time is up.
    pub(super) fn expire(&mut self, registry: &Registry, now: Instant) {
        while let Some(&(key, until)) = self.deadlines.front() {
            if until > now {
                return;
            }
            self.deadlines.pop_front();
            if self.sockets.get(key).is_some_and(|c| c.until == until) {
                abandon(registry, self.sockets.remove(key));
            }
        }
    }

    /// When the next close is due, for the poll timeout (possibly one already finished early,
    /// which costs one spurious wake-up).
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.front().map(|&(_, until)| until)
    }

    /// The broker is stopping: every closing socket is closed now.
    pub(super) fn close_all(&mut self, registry: &Registry) {
        self.deadlines.clear();
        for closing in self.sockets.drain() {
            abandon(registry, closing);
        }
    }
}

fn interest(writable: bool) -> Interest {
    if writable {
        Interest::READABLE | Interest::WRITABLE
    } else {
        Interest::READABLE
    }
}

/// Closes the socket, graceful or not by now.
fn abandon(registry: &Registry, mut closing: Closing) {
    // Deregistering fails only for a socket that is not registered, which closing it fixes too.
    if let Some(socket) = closing.source() {
        let _ = registry.deregister(socket);
    }
}
