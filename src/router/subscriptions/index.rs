//! An index over wildcard filters, so that a PUBLISH tries only the filters that can match it.
//!
//! Every filter is filed once, under one of its literal levels `(depth, text)`: a topic can
//! only match it if the topic's level at that depth is that text, so a PUBLISH looks up one
//! bucket per topic level. The level chosen is the one whose bucket is smallest when the
//! filter arrives (ties go to the deeper level), which spreads `sensors/1/+`, `sensors/2/+`, …
//! over their distinct second levels instead of piling them under `sensors`. Filters without
//! any literal level (`#`, `+/+`) are kept apart and tried for every topic.

use std::collections::HashMap;

use crate::topic::TopicFilter;

/// Where a filter is filed: a literal level, or none.
pub type IndexKey = Option<(usize, Box<str>)>;

#[derive(Debug, Default)]
pub struct WildcardIndex {
    /// By depth, then by the literal text at that depth: positions in the wildcard list.
    by_level: Vec<HashMap<Box<str>, Vec<usize>>>,
    /// Positions of filters with no literal level.
    unkeyed: Vec<usize>,
}

impl WildcardIndex {
    /// Chooses where to file `filter`.
    pub fn choose_key(&self, filter: &TopicFilter) -> IndexKey {
        filter
            .literal_levels()
            .min_by_key(|(depth, text)| (self.bucket_len(*depth, text), usize::MAX - depth))
            .map(|(depth, text)| (depth, text.into()))
    }

    pub fn insert(&mut self, key: &IndexKey, position: usize) {
        self.bucket_mut(key).push(position);
    }

    pub fn remove(&mut self, key: &IndexKey, position: usize) {
        let bucket = self.bucket_mut(key);
        if let Some(at) = bucket.iter().position(|p| *p == position) {
            bucket.swap_remove(at);
        }
        if let Some((depth, text)) = key
            && let Some(level) = self.by_level.get_mut(*depth)
            && level.get(text).is_some_and(Vec::is_empty)
        {
            level.remove(text);
        }
    }

    /// The filter filed under `key` moved from `from` to `to` in the wildcard list.
    pub fn relocate(&mut self, key: &IndexKey, from: usize, to: usize) {
        if let Some(slot) = self.bucket_mut(key).iter_mut().find(|p| **p == from) {
            *slot = to;
        }
    }

    /// Calls `visit` with the position of every filter that may match `topic`, each once.
    pub fn candidates(&self, topic: &str, mut visit: impl FnMut(usize)) {
        for (depth, part) in topic.split('/').enumerate() {
            let Some(level) = self.by_level.get(depth) else {
                break;
            };
            for position in level.get(part).into_iter().flatten() {
                visit(*position);
            }
        }
        for position in &self.unkeyed {
            visit(*position);
        }
    }

    fn bucket_len(&self, depth: usize, text: &str) -> usize {
        self.by_level
            .get(depth)
            .and_then(|level| level.get(text))
            .map_or(0, Vec::len)
    }

    fn bucket_mut(&mut self, key: &IndexKey) -> &mut Vec<usize> {
        match key {
            None => &mut self.unkeyed,
            Some((depth, text)) => {
                if self.by_level.len() <= *depth {
                    self.by_level.resize_with(depth + 1, HashMap::new);
                }
                match self.by_level.get_mut(*depth) {
                    Some(level) => level.entry(text.clone()).or_default(),
                    // Unreachable after the resize; filing under "no key" stays correct.
                    None => &mut self.unkeyed,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(index: &mut WildcardIndex, text: &str, position: usize) -> IndexKey {
        let key = index.choose_key(&TopicFilter::parse(text).unwrap());
        index.insert(&key, position);
        key
    }

    fn candidates(index: &WildcardIndex, topic: &str) -> Vec<usize> {
        let mut found = Vec::new();
        index.candidates(topic, |position| found.push(position));
        found.sort_unstable();
        found
    }

    #[test]
    fn many_similar_filters_spread_over_their_distinct_levels() {
        let mut index = WildcardIndex::default();
        for n in 0..10_000 {
            file(&mut index, &format!("sensors/{n}/+"), n);
        }
        file(&mut index, "#", 10_000);
        file(&mut index, "+/+/temp", 10_001);
        // One keyed candidate (sensors/5/+), the unkeyed `#`, and nothing else.
        assert_eq!(candidates(&index, "sensors/5/x"), vec![5, 10_000]);
        assert_eq!(candidates(&index, "a/b/temp"), vec![10_000, 10_001]);
    }

    #[test]
    fn removal_and_relocation_keep_buckets_exact() {
        let mut index = WildcardIndex::default();
        let a = file(&mut index, "a/+", 0);
        let b = file(&mut index, "a/+/c", 1);
        index.remove(&a, 0);
        index.relocate(&b, 1, 0);
        assert_eq!(candidates(&index, "a/x/c"), vec![0]);
        index.remove(&b, 0);
        assert!(candidates(&index, "a/x/c").is_empty());
        assert!(index.by_level.iter().all(HashMap::is_empty));
    }
}
