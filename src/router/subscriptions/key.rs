//! What the subscription table asks of its subscriber keys: that they be small numbers, so its
//! per-key index can be a vector rather than a map.

use std::fmt::Debug;
use std::hash::Hash;

/// A subscriber key: a small number that indexes the table's per-key index, as the keys of
/// a slab do. Memory grows with the largest key in use, so sparse keys do not suit.
pub trait SubscriberKey: Copy + Eq + Hash + Ord + Debug {
    fn index(self) -> usize;
}

impl SubscriberKey for usize {
    fn index(self) -> usize {
        self
    }
}

impl SubscriberKey for u32 {
    fn index(self) -> usize {
        usize::try_from(self).unwrap_or(usize::MAX)
    }
}
