//! The subscribers of one filter. Most filters of a large broker are one sensor's or one
//! dashboard's own topic with a single subscriber, so one is kept inline and only a second
//! subscriber allocates a vector.

use super::Subscriber;

#[derive(Debug)]
pub enum Subscribers<K> {
    One(Subscriber<K>),
    /// Two or more; empty only transiently, just before the filter itself is removed.
    Many(Vec<Subscriber<K>>),
}

impl<K: Copy> Subscribers<K> {
    pub fn push(&mut self, subscriber: Subscriber<K>) {
        match self {
            Subscribers::One(first) => *self = Subscribers::Many(vec![*first, subscriber]),
            Subscribers::Many(list) => list.push(subscriber),
        }
    }

    pub fn as_slice(&self) -> &[Subscriber<K>] {
        match self {
            Subscribers::One(only) => std::slice::from_ref(only),
            Subscribers::Many(list) => list,
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [Subscriber<K>] {
        match self {
            Subscribers::One(only) => std::slice::from_mut(only),
            Subscribers::Many(list) => list,
        }
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes the subscriber at `position` by swapping the last one into its place, and
    /// returns the key of the one that moved, if any did.
    pub fn swap_remove(&mut self, position: usize) -> Option<K> {
        match self {
            Subscribers::One(_) if position == 0 => {
                *self = Subscribers::Many(Vec::new());
                None
            }
            Subscribers::One(_) => None,
            Subscribers::Many(list) if position < list.len() => {
                list.swap_remove(position);
                list.get(position).map(|moved| moved.key)
            }
            Subscribers::Many(_) => None,
        }
    }
}
