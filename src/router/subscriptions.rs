//! The subscription table: which subscriber holds which topic filters, and who receives a
//! PUBLISH.
//!
//! Filters without wildcards sit in a hash index keyed by their text, so a PUBLISH finds them
//! with one lookup of its topic; filters with wildcards are a flat list of distinct precompiled
//! filters, with an index (`index::WildcardIndex`) that narrows a PUBLISH down to the filters
//! that share one of its levels. A PUBLISH therefore costs work in proportion to the candidate
//! filters and the matching subscriptions, never to every subscription held.
//!
//! The table is generic over the subscriber key: the router uses its session key, tests use
//! integers. It is pure data: no I/O, no clock.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use std::fmt::Debug;
use std::num::NonZeroU32;

use crate::protocol::{QoS, SubscriptionOptions};
use crate::topic::TopicFilter;
use filters::Filters;
use held::HeldFilters;
pub use key::SubscriberKey;

mod filters;
mod held;
mod index;
mod key;
mod subscribers;

/// One receiver of a PUBLISH, after merging all of its subscriptions that match the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery<K> {
    pub key: K,
    /// The highest QoS granted among the key's matching subscriptions: overlapping
    /// subscriptions deliver once, "respecting the maximum QoS of all the matching
    /// subscriptions" (MQTT 3.1.1 section 3.3.5). The caller still lowers it to the QoS of the
    /// PUBLISH itself.
    pub qos: QoS,
    /// True when any matching subscription asked for the RETAIN flag as published (MQTT 5).
    pub retain_as_published: bool,
    /// The identifiers of every matching subscription that has one (MQTT 5 section 3.3.4).
    /// Empty, and unallocated, when none has.
    pub subscription_ids: Vec<u32>,
}

/// One key's subscription to one filter. Kept to 16 bytes for a `usize` key, so that
/// [`subscribers::Subscribers`] holds one inline in 24: the table has one per subscription.
#[derive(Debug, Clone, Copy)]
struct Subscriber<K> {
    key: K,
    options: SubscriptionOptions,
    /// Never 0, which the decoder refuses (MQTT 5 section 3.8.2.1.2), so the niche costs nothing.
    identifier: Option<NonZeroU32>,
}

/// Every subscription of every subscriber, indexed both by filter (for PUBLISH) and by key (for
/// UNSUBSCRIBE and session end), so neither direction scans the whole table.
#[derive(Debug)]
pub struct SubscriptionTable<K> {
    filters: Filters<K>,
    /// For each key, by [`SubscriberKey::index`], the filters it holds and its position in each
    /// filter's subscriber list. A vector rather than a map: the keys are dense (the router's
    /// session slab keys), so each costs one 32-byte slot instead of a map entry with its
    /// hash-table slack, which matters for the many idle clients of a large broker.
    held: Vec<HeldFilters>,
    /// The number of subscriptions, over all keys.
    len: usize,
}

impl<K: SubscriberKey> Default for SubscriptionTable<K> {
    fn default() -> SubscriptionTable<K> {
        SubscriptionTable::new()
    }
}

impl<K: SubscriberKey> SubscriptionTable<K> {
    pub fn new() -> SubscriptionTable<K> {
        SubscriptionTable {
            filters: Filters::new(),
            held: Vec::new(),
            len: 0,
        }
    }

    /// Subscribes `key` to `filter`. Returns true for a new subscription, false when `key`
    /// already held a filter with the same text, whose options and identifier are then replaced
    /// [MQTT-3.8.4-3].
    pub fn subscribe(
        &mut self,
        key: K,
        filter: TopicFilter,
        options: SubscriptionOptions,
        identifier: Option<u32>,
    ) -> bool {
        let subscriber = Subscriber {
            key,
            options,
            identifier: identifier.and_then(NonZeroU32::new),
        };
        let at = key.index();
        if self.held.len() <= at {
            self.held.resize_with(at + 1, HeldFilters::default);
        }
        let Some(held) = self.held.get_mut(at) else {
            return false;
        };
        if let Some(position) = held.get(filter.as_str()) {
            if let Some(slot) = self
                .filters
                .subscribers_mut(filter.as_str())
                .and_then(|subscribers| subscribers.get_mut(position))
            {
                *slot = subscriber;
            }
            return false;
        }
        let (text, position) = self.filters.add(filter, subscriber);
        held.insert(text, position);
        self.len += 1;
        true
    }

    /// Removes `key`'s subscription to the filter with text `filter`. Returns true if it existed.
    pub fn unsubscribe(&mut self, key: K, filter: &str) -> bool {
        let Some(held) = self.held.get_mut(key.index()) else {
            return false;
        };
        let Some(position) = held.remove(filter) else {
            return false;
        };
        if held.is_empty() {
            self.release(key);
        }
        self.len = self.len.saturating_sub(1);
        self.detach(filter, position);
        true
    }

    /// Removes every subscription `key` holds.
    pub fn remove_subscriber(&mut self, key: K) {
        let Some(held) = self.held.get_mut(key.index()).map(std::mem::take) else {
            return;
        };
        self.release(key);
        self.len = self.len.saturating_sub(held.len());
        for (text, position) in held.into_entries() {
            self.detach(&text, position);
        }
    }

    /// Called when `key` holds no filter any more: the slots at the end that hold nothing are
    /// dropped, so the index shrinks back after the highest keys leave.
    fn release(&mut self, key: K) {
        if key.index() + 1 == self.held.len() {
            while self.held.last().is_some_and(HeldFilters::is_empty) {
                self.held.pop();
            }
            if self.held.capacity() > 2 * self.held.len() {
                self.held.shrink_to_fit();
            }
        }
    }

    /// Takes the subscriber at `position` out of filter `text` and repoints the index of the
    /// subscriber moved into its place.
    fn detach(&mut self, text: &str, position: usize) {
        if let Some(moved) = self.filters.remove(text, position)
            && let Some(slot) = self
                .held
                .get_mut(moved.index())
                .and_then(|held| held.get_mut(text))
        {
            *slot = position;
        }
    }

    /// The subscriptions `key` holds, in no particular order: the filter text, its options and
    /// its subscription identifier.
    pub fn subscriptions_of(
        &self,
        key: K,
    ) -> impl Iterator<Item = (&str, SubscriptionOptions, Option<u32>)> {
        self.held
            .get(key.index())
            .into_iter()
            .flat_map(HeldFilters::iter)
            .filter_map(|(text, position)| {
                let subscriber = self.filters.subscribers(text)?.get(position)?;
                Some((
                    &**text,
                    subscriber.options,
                    subscriber.identifier.map(NonZeroU32::get),
                ))
            })
    }

    /// Clears `out` and fills it with one [`Delivery`] per key that has a subscription matching
    /// `topic`, in no particular order.
    ///
    /// A subscription with the no local option is skipped when its key is `publisher`
    /// [MQTT-3.8.3-3]. `out` is the caller's scratch buffer, kept between calls so that a
    /// PUBLISH allocates nothing once it has grown to the usual fan-out.
    pub fn deliveries(&self, topic: &str, publisher: Option<K>, out: &mut Vec<Delivery<K>>) {
        self.deliveries_with(topic, publisher, |_| false, out);
    }

    /// As [`SubscriptionTable::deliveries`], except that the keys `apart` picks get one
    /// delivery per matching subscription, unmerged (mosquitto's `allow_duplicate_messages`
    /// for 3.x clients).
    pub fn deliveries_with(
        &self,
        topic: &str,
        publisher: Option<K>,
        apart: impl Fn(&K) -> bool,
        out: &mut Vec<Delivery<K>>,
    ) {
        out.clear();
        let mut matched_filters = 0usize;
        self.filters.for_each_match(topic, |subscribers| {
            matched_filters += 1;
            for subscriber in subscribers {
                if subscriber.options.no_local && publisher == Some(subscriber.key) {
                    continue;
                }
                out.push(Delivery {
                    key: subscriber.key,
                    qos: subscriber.options.qos,
                    retain_as_published: subscriber.options.retain_as_published,
                    subscription_ids: subscriber
                        .identifier
                        .map_or_else(Vec::new, |id| vec![id.get()]),
                });
            }
        });
        // A key appears at most once per filter, so duplicates need two matching filters.
        if matched_filters > 1 {
            merge_by_key(out, apart);
        }
    }

    /// The number of subscriptions, over all keys.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of distinct filters held, exact and wildcard.
    pub fn filter_count(&self) -> usize {
        self.filters.len()
    }
}

/// Merges the deliveries of one key into one, except for the keys `apart` picks: sorting
/// brings them together, then each run collapses into its first element. O(n log n) in the
/// fan-out, with no allocation unless several subscription identifiers must be gathered.
fn merge_by_key<K: Copy + Ord>(out: &mut Vec<Delivery<K>>, apart: impl Fn(&K) -> bool) {
    out.sort_unstable_by_key(|delivery| delivery.key);
    out.dedup_by(|later, kept| {
        if later.key != kept.key || apart(&kept.key) {
            return false;
        }
        kept.qos = kept.qos.max(later.qos);
        kept.retain_as_published |= later.retain_as_published;
        kept.subscription_ids.append(&mut later.subscription_ids);
        true
    });
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_removal;
