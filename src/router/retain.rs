//! The retained-message store: the last retained message of each topic.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::message::Message;
use crate::topic::TopicFilter;

#[derive(Default)]
pub struct RetainedStore {
    by_topic: HashMap<Arc<str>, Arc<Message>>,
}

impl RetainedStore {
    /// Stores `message` as the topic's retained message, or removes the retained message when
    /// the payload is empty [MQTT-3.3.1-10], [MQTT-3.3.1-11].
    pub fn update(&mut self, message: &Arc<Message>) {
        if message.payload.is_empty() {
            self.by_topic.remove(&message.topic);
        } else {
            self.by_topic
                .insert(Arc::clone(&message.topic), Arc::clone(message));
        }
    }

    /// Every unexpired retained message whose topic matches `filter`, into `out`. Expired
    /// ones are removed on the way (MQTT 5 section 3.3.2.3.3).
    pub fn matching(&mut self, filter: &TopicFilter, now: Instant, out: &mut Vec<Arc<Message>>) {
        if !filter.has_wildcards() {
            if let Some(message) = self.by_topic.get(filter.as_str()) {
                if message.is_expired(now) {
                    self.by_topic.remove(filter.as_str());
                } else {
                    out.push(Arc::clone(message));
                }
            }
            return;
        }
        self.by_topic.retain(|_, message| !message.is_expired(now));
        out.extend(
            self.by_topic
                .values()
                .filter(|message| filter.matches(&message.topic))
                .cloned(),
        );
    }
}
