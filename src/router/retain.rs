//! The retained-message store: the last retained message of each topic, kept in topic order so
//! that a subscription's backlog can walk it with a cursor (see `retained_backlog`), and, for
//! `check_retain_source`, who published it.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Instant;

use super::message::Message;
use crate::topic::TopicFilter;

#[derive(Default)]
pub struct RetainedStore {
    /// Ordered, so the topics under a filter's literal prefix are one contiguous range.
    by_topic: BTreeMap<Arc<str>, Arc<Message>>,
    /// Who published the retained message of a topic, where the broker was told: only while
    /// `check_retain_source` is on, so a broker without it keeps nothing more per topic.
    sources: HashMap<Arc<str>, RetainSource>,
}

/// The client that published a retained message, as `check_retain_source` asks the ACL about
/// it: its client id, user name and listener (an index into the listeners, as a session's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainSource {
    pub client_id: Arc<str>,
    pub username: Option<Arc<str>>,
    pub listener: u16,
}

/// The retained message an update took the place of, and who had published it.
pub struct Replaced {
    pub message: Arc<Message>,
    pub source: Option<RetainSource>,
}

impl RetainedStore {
    /// Stores `message`, published by `source`, as the topic's retained message, or removes
    /// the retained message when the payload is empty [MQTT-3.3.1-10], [MQTT-3.3.1-11].
    /// Returns the message it replaced.
    pub fn update(
        &mut self,
        message: &Arc<Message>,
        source: Option<RetainSource>,
    ) -> Option<Replaced> {
        let topic = &message.topic;
        let replaced_source = self.take_source(topic);
        let replaced = if message.payload.is_empty() {
            self.by_topic.remove(topic)
        } else {
            if let Some(source) = source {
                self.sources.insert(Arc::clone(topic), source);
            }
            self.by_topic.insert(Arc::clone(topic), Arc::clone(message))
        };
        replaced.map(|message| Replaced {
            message,
            source: replaced_source,
        })
    }

    /// Retained messages whose publisher is recorded.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    /// Who published the retained message of `topic`, if that was recorded.
    pub fn source(&self, topic: &str) -> Option<&RetainSource> {
        if self.sources.is_empty() {
            return None;
        }
        self.sources.get(topic)
    }

    fn take_source(&mut self, topic: &str) -> Option<RetainSource> {
        if self.sources.is_empty() {
            return None;
        }
        self.sources.remove(topic)
    }

    /// Removes the retained message of `topic` and who published it.
    fn remove(&mut self, topic: &str) {
        self.by_topic.remove(topic);
        self.take_source(topic);
    }

    /// Retained messages held, expired ones not yet removed included.
    pub fn len(&self) -> usize {
        self.by_topic.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Message>> {
        self.by_topic.values()
    }

    pub fn get(&self, topic: &str) -> Option<&Arc<Message>> {
        self.by_topic.get(topic)
    }

    /// The unexpired retained message of exactly `topic`; an expired one is removed on the way
    /// (MQTT 5 section 3.3.2.3.3).
    pub fn exact(&mut self, topic: &str, now: Instant) -> Option<Arc<Message>> {
        let message = self.by_topic.get(topic)?;
        if message.is_expired(now) {
            self.remove(topic);
            return None;
        }
        Some(Arc::clone(message))
    }

    /// The retained messages matching `filter` whose topics sort after `after` (all of them
    /// when `after` is `None`), in topic order. Only the range under the filter's literal
    /// prefix is visited.
    pub fn matching_after<'a>(
        &'a self,
        filter: &'a TopicFilter,
        after: Option<&str>,
    ) -> impl Iterator<Item = &'a Arc<Message>> + 'a {
        let prefix = filter.literal_prefix();
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        self.by_topic
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(move |(topic, _)| topic.starts_with(prefix))
            .map(|(_, message)| message)
            .filter(move |message| filter.matches(&message.topic))
    }

    /// Drops the retained message of `topic` if it has expired.
    pub fn remove_if_expired(&mut self, topic: &str, now: Instant) {
        if self.by_topic.get(topic).is_some_and(|m| m.is_expired(now)) {
            self.remove(topic);
        }
    }
}
