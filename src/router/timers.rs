//! Deadlines (CONNECT timeout, keepalive, session expiry, will delay), kept in min-heaps.
//!
//! Entries are never updated in place: activity only moves a real deadline later, so a popped
//! entry is checked against its owner's current deadline and pushed again if it moved. That
//! costs one heap operation per link per keepalive period instead of one per packet. An entry
//! may also be stale (its owner gone, or a slot reused); the router checks before acting.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Entries below which the heap keeps whatever room it has.
const SHRINK_ABOVE: usize = 1024;

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
        let key = self.heap.pop().map(|Reverse((_, key))| key);
        // Every accepted connection adds a CONNECT deadline; after a burst of connections the
        // heap would otherwise keep their room for good, idle or not.
        if self.heap.capacity() > SHRINK_ABOVE && self.heap.len() < self.heap.capacity() / 4 {
            self.heap.shrink_to(self.heap.len() * 2);
        }
        key
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The earliest deadline, possibly a stale one (a spurious wake-up costs one empty turn).
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_heap_gives_back_its_room_once_drained() {
        let start = Instant::now();
        let mut deadlines = Deadlines::default();
        for key in 0..10_000u32 {
            deadlines.push(start + Duration::from_millis(u64::from(key)), key);
        }
        let later = start + Duration::from_secs(60);
        let mut popped = 0;
        while deadlines.pop_due(later).is_some() {
            popped += 1;
        }
        assert_eq!(popped, 10_000);
        assert!(
            deadlines.heap.capacity() <= SHRINK_ABOVE,
            "{}",
            deadlines.heap.capacity()
        );
    }
}
