//! Deadlines (CONNECT timeout, keepalive, session expiry, will delay), kept in min-heaps.
//!
//! Entries are never updated in place: activity only moves a real deadline later, so a popped
//! entry is checked against its owner's current deadline and pushed again if it moved. That
//! costs one heap operation per link per keepalive period instead of one per packet. An entry
//! may also be stale (its owner gone, or a slot reused); the router checks before acting.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// A min-heap of `(deadline, key)`.
pub struct Deadlines<K: Ord> {
    heap: BinaryHeap<Reverse<(Instant, K)>>,
}

impl<K: Ord> Default for Deadlines<K> {
    fn default() -> Self {
        Deadlines {
            heap: BinaryHeap::new(),
        }
    }
}

impl<K: Ord> Deadlines<K> {
    pub fn push(&mut self, at: Instant, key: K) {
        self.heap.push(Reverse((at, key)));
    }

    /// Removes and returns the earliest entry's key if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        let Reverse((at, _)) = self.heap.peek()?;
        if *at > now {
            return None;
        }
        self.heap.pop().map(|Reverse((_, key))| key)
    }

    /// The earliest deadline, possibly a stale one (a spurious wake-up costs one empty turn).
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }
}
