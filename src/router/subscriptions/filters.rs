//! The distinct filters of the subscription table, each with its subscribers: exact filters
//! under their text, wildcard filters in a list that the wildcard index narrows for a PUBLISH.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use super::Subscriber;
use super::index::{IndexKey, WildcardIndex};
use super::subscribers::Subscribers;
use crate::topic::TopicFilter;

/// A distinct wildcard filter and everyone subscribed to it (each key at most once).
#[derive(Debug)]
pub(super) struct WildcardEntry<K> {
    pub(super) filter: TopicFilter,
    pub(super) subscribers: Subscribers<K>,
    /// Where the filter is filed in the index.
    index_key: IndexKey,
}

/// The distinct filters of the table: exact ones as their subscriber lists under their text
/// (the text is all an exact filter is, so nothing else is stored for the many exact
/// subscriptions of a large broker), wildcard ones in an indexed list.
#[derive(Debug)]
pub(super) struct Filters<K> {
    pub(super) exact: HashMap<Arc<str>, Subscribers<K>>,
    pub(super) wildcard: Vec<WildcardEntry<K>>,
    /// Where each wildcard filter sits in `wildcard`, so that subscribing to a filter someone
    /// already holds finds it without a scan.
    pub(super) wildcard_positions: HashMap<Arc<str>, usize>,
    index: WildcardIndex,
}

/// A valid filter's text has a wildcard exactly when it contains `+` or `#`, so the text alone
/// says which half of [`Filters`] holds it.
fn is_wildcard_text(text: &str) -> bool {
    text.contains(['+', '#'])
}

impl<K: Copy + Eq> Filters<K> {
    pub(super) fn new() -> Filters<K> {
        Filters {
            exact: HashMap::new(),
            wildcard: Vec::new(),
            wildcard_positions: HashMap::new(),
            index: WildcardIndex::default(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.exact.len() + self.wildcard.len()
    }

    pub(super) fn subscribers(&self, text: &str) -> Option<&[Subscriber<K>]> {
        let subscribers = if is_wildcard_text(text) {
            let position = *self.wildcard_positions.get(text)?;
            &self.wildcard.get(position)?.subscribers
        } else {
            self.exact.get(text)?
        };
        Some(subscribers.as_slice())
    }

    pub(super) fn subscribers_mut(&mut self, text: &str) -> Option<&mut [Subscriber<K>]> {
        let subscribers = if is_wildcard_text(text) {
            let position = *self.wildcard_positions.get(text)?;
            &mut self.wildcard.get_mut(position)?.subscribers
        } else {
            self.exact.get_mut(text)?
        };
        Some(subscribers.as_mut_slice())
    }

    /// Appends `subscriber` to `filter`'s list, adding the filter if it is new. Returns the
    /// table's shared copy of the filter text and the subscriber's position in the list.
    pub(super) fn add(
        &mut self,
        filter: TopicFilter,
        subscriber: Subscriber<K>,
    ) -> (Arc<str>, usize) {
        let text = Arc::clone(filter.as_arc());
        if !filter.has_wildcards() {
            // The table's own copy of the text is returned, so every key's index shares it.
            return match self.exact.entry(text) {
                Entry::Occupied(mut entry) => {
                    let position = entry.get().len();
                    entry.get_mut().push(subscriber);
                    (Arc::clone(entry.key()), position)
                }
                Entry::Vacant(entry) => {
                    let text = Arc::clone(entry.key());
                    entry.insert(Subscribers::One(subscriber));
                    (text, 0)
                }
            };
        }
        let existing = self.wildcard_positions.get(&text).copied();
        if let Some(entry) = existing.and_then(|position| self.wildcard.get_mut(position)) {
            let position = entry.subscribers.len();
            entry.subscribers.push(subscriber);
            return (Arc::clone(entry.filter.as_arc()), position);
        }
        let position = self.wildcard.len();
        let index_key = self.index.choose_key(&filter);
        self.index.insert(&index_key, position);
        self.wildcard_positions.insert(Arc::clone(&text), position);
        self.wildcard.push(WildcardEntry {
            filter,
            subscribers: Subscribers::One(subscriber),
            index_key,
        });
        (text, 0)
    }

    /// Removes the subscriber at `position` of the filter `text`, and the filter with it when
    /// that was the last subscriber. The list is compacted with a swap, so the subscriber that
    /// was last now sits at `position`: its key is returned for the caller to update its index.
    pub(super) fn remove(&mut self, text: &str, position: usize) -> Option<K> {
        if !is_wildcard_text(text) {
            let subscribers = self.exact.get_mut(text)?;
            let moved = subscribers.swap_remove(position);
            if subscribers.is_empty() {
                self.exact.remove(text);
            }
            return moved;
        }
        let index = *self.wildcard_positions.get(text)?;
        let entry = self.wildcard.get_mut(index)?;
        let moved = entry.subscribers.swap_remove(position);
        if entry.subscribers.is_empty() {
            self.wildcard_positions.remove(text);
            let removed = self.wildcard.swap_remove(index);
            self.index.remove(&removed.index_key, index);
            // The filter that was last now sits at `index`.
            let last = self.wildcard.len();
            if let Some(shifted) = self.wildcard.get(index) {
                self.index.relocate(&shifted.index_key, last, index);
                if let Some(slot) = self.wildcard_positions.get_mut(shifted.filter.as_str()) {
                    *slot = index;
                }
            }
        }
        moved
    }

    /// Calls `visit` with the subscribers of every filter that matches `topic`.
    pub(super) fn for_each_match(&self, topic: &str, mut visit: impl FnMut(&[Subscriber<K>])) {
        if let Some(subscribers) = self.exact.get(topic) {
            visit(subscribers.as_slice());
        }
        self.index.candidates(topic, |position| {
            if let Some(entry) = self.wildcard.get(position)
                && entry.filter.matches(topic)
            {
                visit(entry.subscribers.as_slice());
            }
        });
    }
}
