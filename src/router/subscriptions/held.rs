//! The filters one key holds, with its position in each filter's subscriber list.
//!
//! Most clients hold one subscription or a handful. One is kept inline (no allocation at all,
//! which matters for thousands of idle sensors), a handful in a short vector searched linearly,
//! and a key that grows past [`PROMOTE_AT`] filters switches to a map so that large holders
//! stay O(1).

use std::collections::HashMap;
use std::sync::Arc;

/// Filters held before the list becomes a map.
const PROMOTE_AT: usize = 16;

#[derive(Debug, Default)]
pub enum HeldFilters {
    #[default]
    None,
    One(Arc<str>, usize),
    Few(Vec<(Arc<str>, usize)>),
    /// Boxed so that the common cases keep the enum as small as a `Vec`: the table holds one
    /// of these per subscriber, and an inline map would double it.
    #[allow(clippy::box_collection)]
    Many(Box<HashMap<Arc<str>, usize>>),
}

impl HeldFilters {
    pub fn get(&self, text: &str) -> Option<usize> {
        match self {
            HeldFilters::None => None,
            HeldFilters::One(held, position) => (**held == *text).then_some(*position),
            HeldFilters::Few(list) => list.iter().find(|(t, _)| **t == *text).map(|(_, p)| *p),
            HeldFilters::Many(map) => map.get(text).copied(),
        }
    }

    pub fn get_mut(&mut self, text: &str) -> Option<&mut usize> {
        match self {
            HeldFilters::None => None,
            HeldFilters::One(held, position) => (**held == *text).then_some(position),
            HeldFilters::Few(list) => list.iter_mut().find(|(t, _)| **t == *text).map(|(_, p)| p),
            HeldFilters::Many(map) => map.get_mut(text),
        }
    }

    /// Records a filter the key did not hold.
    pub fn insert(&mut self, text: Arc<str>, position: usize) {
        match std::mem::take(self) {
            HeldFilters::None => *self = HeldFilters::One(text, position),
            HeldFilters::One(held, at) => {
                *self = HeldFilters::Few(vec![(held, at), (text, position)]);
            }
            HeldFilters::Few(mut list) if list.len() < PROMOTE_AT => {
                list.push((text, position));
                *self = HeldFilters::Few(list);
            }
            HeldFilters::Few(list) => {
                let mut map: HashMap<Arc<str>, usize> = list.into_iter().collect();
                map.insert(text, position);
                *self = HeldFilters::Many(Box::new(map));
            }
            HeldFilters::Many(mut map) => {
                map.insert(text, position);
                *self = HeldFilters::Many(map);
            }
        }
    }

    pub fn remove(&mut self, text: &str) -> Option<usize> {
        match self {
            HeldFilters::None => None,
            HeldFilters::One(held, position) if **held == *text => {
                let position = *position;
                *self = HeldFilters::None;
                Some(position)
            }
            HeldFilters::One(..) => None,
            HeldFilters::Few(list) => {
                let at = list.iter().position(|(t, _)| **t == *text)?;
                Some(list.swap_remove(at).1)
            }
            HeldFilters::Many(map) => map.remove(text),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            HeldFilters::None => 0,
            HeldFilters::One(..) => 1,
            HeldFilters::Few(list) => list.len(),
            HeldFilters::Many(map) => map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = (&Arc<str>, usize)> + '_> {
        match self {
            HeldFilters::None => Box::new(std::iter::empty()),
            HeldFilters::One(text, position) => Box::new(std::iter::once((text, *position))),
            HeldFilters::Few(list) => Box::new(list.iter().map(|(t, p)| (t, *p))),
            HeldFilters::Many(map) => Box::new(map.iter().map(|(t, p)| (t, *p))),
        }
    }

    pub fn into_entries(self) -> Vec<(Arc<str>, usize)> {
        match self {
            HeldFilters::None => Vec::new(),
            HeldFilters::One(text, position) => vec![(text, position)],
            HeldFilters::Few(list) => list,
            HeldFilters::Many(map) => map.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_from_inline_to_list_to_map_and_keeps_every_entry() {
        let mut held = HeldFilters::default();
        held.insert("t/0".into(), 0);
        assert!(matches!(held, HeldFilters::One(..)));
        assert_eq!(held.get("t/0"), Some(0));
        for n in 1..40 {
            held.insert(format!("t/{n}").into(), n);
        }
        assert!(matches!(held, HeldFilters::Many(_)));
        assert_eq!(held.len(), 40);
        assert_eq!(held.get("t/17"), Some(17));
        *held.get_mut("t/17").unwrap() = 99;
        assert_eq!(held.remove("t/17"), Some(99));
        assert_eq!(held.get("t/17"), None);
        assert_eq!(held.into_entries().len(), 39);
    }

    #[test]
    fn the_inline_entry_is_removed_cleanly() {
        let mut held = HeldFilters::default();
        held.insert("a".into(), 3);
        assert_eq!(held.remove("b"), None);
        assert_eq!(held.remove("a"), Some(3));
        assert!(held.is_empty());
        assert_eq!(held.iter().count(), 0);
    }
}
