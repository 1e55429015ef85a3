//! The filters one key holds, with its position in each filter's subscriber list.
//!
//! Most clients hold a handful of subscriptions, for which a short vector searched linearly is
//! both faster and far smaller than a hash map (one small allocation instead of a table); a key
//! that grows past [`PROMOTE_AT`] filters switches to a map so that large holders stay O(1).

use std::collections::HashMap;
use std::sync::Arc;

/// Filters held before the list becomes a map.
const PROMOTE_AT: usize = 16;

#[derive(Debug)]
pub enum HeldFilters {
    Few(Vec<(Arc<str>, usize)>),
    /// Boxed so that the common `Few` case keeps the enum as small as a `Vec`: the table holds
    /// one of these per subscriber, and an inline map would triple it.
    #[allow(clippy::box_collection)]
    Many(Box<HashMap<Arc<str>, usize>>),
}

impl Default for HeldFilters {
    fn default() -> Self {
        HeldFilters::Few(Vec::new())
    }
}

impl HeldFilters {
    pub fn get(&self, text: &str) -> Option<usize> {
        match self {
            HeldFilters::Few(list) => list.iter().find(|(t, _)| **t == *text).map(|(_, p)| *p),
            HeldFilters::Many(map) => map.get(text).copied(),
        }
    }

    pub fn get_mut(&mut self, text: &str) -> Option<&mut usize> {
        match self {
            HeldFilters::Few(list) => list.iter_mut().find(|(t, _)| **t == *text).map(|(_, p)| p),
            HeldFilters::Many(map) => map.get_mut(text),
        }
    }

    /// Records a filter the key did not hold.
    pub fn insert(&mut self, text: Arc<str>, position: usize) {
        match self {
            HeldFilters::Few(list) if list.len() < PROMOTE_AT => {
                // Most keys hold one filter, and a first push would reserve room for four.
                if list.is_empty() {
                    list.reserve_exact(1);
                }
                list.push((text, position));
            }
            HeldFilters::Few(list) => {
                let mut map: HashMap<Arc<str>, usize> = list.drain(..).collect();
                map.insert(text, position);
                *self = HeldFilters::Many(Box::new(map));
            }
            HeldFilters::Many(map) => {
                map.insert(text, position);
            }
        }
    }

    pub fn remove(&mut self, text: &str) -> Option<usize> {
        match self {
            HeldFilters::Few(list) => {
                let at = list.iter().position(|(t, _)| **t == *text)?;
                Some(list.swap_remove(at).1)
            }
            HeldFilters::Many(map) => map.remove(text),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            HeldFilters::Few(list) => list.len(),
            HeldFilters::Many(map) => map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = (&Arc<str>, usize)> + '_> {
        match self {
            HeldFilters::Few(list) => Box::new(list.iter().map(|(t, p)| (t, *p))),
            HeldFilters::Many(map) => Box::new(map.iter().map(|(t, p)| (t, *p))),
        }
    }

    pub fn into_entries(self) -> Vec<(Arc<str>, usize)> {
        match self {
            HeldFilters::Few(list) => list,
            HeldFilters::Many(map) => map.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_growing_key_is_promoted_to_a_map_and_keeps_every_entry() {
        let mut held = HeldFilters::default();
        for n in 0..40 {
            held.insert(format!("t/{n}").into(), n);
        }
        assert!(matches!(held, HeldFilters::Many(_)));
        assert_eq!(held.len(), 40);
        assert_eq!(held.get("t/17"), Some(17));
        *held.get_mut("t/17").unwrap() = 99;
        assert_eq!(held.remove("t/17"), Some(99));
        assert_eq!(held.get("t/17"), None);
        let mut entries = held.into_entries();
        entries.sort_by_key(|(_, position)| *position);
        assert_eq!(entries.len(), 39);
    }
}
