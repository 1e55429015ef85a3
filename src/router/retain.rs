//! The retained-message store: the last retained message of each topic.

use std::collections::HashMap;
use std::sync::Arc;

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

    /// Every retained message whose topic matches `filter`, into `out`.
    pub fn matching(&self, filter: &TopicFilter, out: &mut Vec<Arc<Message>>) {
        if !filter.has_wildcards() {
            if let Some(message) = self.by_topic.get(filter.as_str()) {
                out.push(Arc::clone(message));
            }
            return;
        }
        out.extend(
            self.by_topic
                .values()
                .filter(|message| filter.matches(&message.topic))
                .cloned(),
        );
    }
}
