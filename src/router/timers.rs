//! Deadlines for links (CONNECT timeout, keepalive), kept in one min-heap.
//!
//! Entries are never updated in place: a link's activity only moves its real deadline later, so
//! a popped entry is checked against the link's current deadline and pushed again if it moved.
//! That costs one heap operation per link per keepalive period instead of one per packet.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use super::LinkId;

#[derive(Default)]
pub struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, LinkId)>>,
}

impl Deadlines {
    pub fn push(&mut self, at: Instant, link: LinkId) {
        self.heap.push(Reverse((at, link)));
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<LinkId> {
        let Reverse((at, _)) = self.heap.peek()?;
        if *at > now {
            return None;
        }
        self.heap.pop().map(|Reverse((_, link))| link)
    }

    /// The earliest deadline, possibly of a link that has gone or moved on (a spurious wake-up
    /// costs one empty poll turn).
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }
}

/// Session expiry and will-delay deadlines, by session key. An entry may be stale (the session
/// resumed, ended, or its slot was reused); the router checks the session's own fields when the
/// entry comes due.
#[derive(Default)]
pub struct SessionDeadlines {
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl SessionDeadlines {
    pub fn push(&mut self, at: Instant, session: usize) {
        self.heap.push(Reverse((at, session)));
    }

    pub fn pop_due(&mut self, now: Instant) -> Option<usize> {
        let Reverse((at, _)) = self.heap.peek()?;
        if *at > now {
            return None;
        }
        self.heap.pop().map(|Reverse((_, session))| session)
    }

    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }
}
