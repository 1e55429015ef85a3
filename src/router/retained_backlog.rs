//! Retained messages owed to a new wildcard subscription, sent as the client's socket and
//! in-flight window allow.
//!
//! A subscription such as `homeassistant/#` can match tens of thousands of retained messages.
//! Copying them into the session's queue would drop all but the first `max_queued_messages`
//! and hold every one in per-client memory; instead the session keeps a cursor over the
//! retained store (which is ordered by topic) and the router sends from it whenever the link
//! has room, after the session's queue. Live messages are not held behind the backlog: one on a
//! topic the cursor has not reached first takes that topic's pending retained message out of
//! the backlog and delivers it ahead of itself, so per topic the client still sees the older
//! message first and never the retained one after a newer live one.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use crate::protocol::QoS;
use crate::topic::TopicFilter;

/// One subscription's retained messages not yet sent.
#[derive(Debug)]
pub struct RetainedBacklog {
    pub filter: TopicFilter,
    /// The granted QoS; each message goes at the lower of this and its own QoS.
    pub granted: QoS,
    /// The MQTT 5 subscription identifier to send with each message [MQTT-3.3.4-3].
    pub identifier: Option<u32>,
    /// Every matching topic up to and including this one has been sent (or skipped).
    pub cursor: Option<Arc<str>>,
    /// Topics past the cursor already dealt with because a live message on them came first;
    /// the cursor passes over them. Bounded by the topics in the retained store.
    pub done_ahead: HashSet<Arc<str>>,
}

impl RetainedBacklog {
    pub fn new(filter: TopicFilter, granted: QoS, identifier: Option<u32>) -> RetainedBacklog {
        RetainedBacklog {
            filter,
            granted,
            identifier,
            cursor: None,
            done_ahead: HashSet::new(),
        }
    }

    /// Whether `topic`'s retained message, if the store has one, is still to be sent.
    pub fn is_pending(&self, topic: &str) -> bool {
        self.cursor.as_deref().is_none_or(|cursor| topic > cursor)
            && self.filter.matches(topic)
            && !self.done_ahead.contains(topic)
    }
}

/// A session's backlogs, oldest first. Allocated on first use, so a session that has none costs
/// one pointer.
#[derive(Debug, Default)]
#[allow(clippy::box_collection)]
pub struct Backlogs(Option<Box<VecDeque<RetainedBacklog>>>);

impl Backlogs {
    pub const EMPTY: Backlogs = Backlogs(None);

    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|queue| queue.is_empty())
    }

    /// Adds a backlog; one for the same filter is replaced, since a repeated SUBSCRIBE sends
    /// the retained messages again from the start [MQTT-3.8.4-3].
    pub fn push(&mut self, backlog: RetainedBacklog) {
        let queue = self.0.get_or_insert_default();
        queue.retain(|old| old.filter != backlog.filter);
        queue.push_back(backlog);
    }

    /// Drops the backlog of an unsubscribed filter.
    pub fn remove(&mut self, filter: &str) {
        if let Some(queue) = self.0.as_mut() {
            queue.retain(|old| old.filter.as_str() != filter);
        }
        self.release_if_empty();
    }

    pub fn front_mut(&mut self) -> Option<&mut RetainedBacklog> {
        self.0.as_mut()?.front_mut()
    }

    pub fn pop_front(&mut self) {
        if let Some(queue) = self.0.as_mut() {
            queue.pop_front();
        }
        self.release_if_empty();
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut RetainedBacklog> {
        self.0.iter_mut().flat_map(|queue| queue.iter_mut())
    }

    fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.0 = None;
        }
    }
}
