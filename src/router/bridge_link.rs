//! What the broker's own bridges need of the router beyond an ordinary client's link: the
//! retained state messages they publish (`$SYS/broker/connection/<name>/state`), and, for
//! `start_type lazy`, how many messages wait in a bridge's offline session and QoS 0 queued
//! there too.
//!
//! A bridge's local side is otherwise an ordinary persistent session on a link opened with
//! [`Router::open_link`] and a [`Peer::Bridge`](super::Peer) address, so everything the router
//! does for sessions (queue bounds, in-flight windows, persistence) applies to it unchanged.

use std::sync::Arc;
use std::time::Instant;

use super::{Message, Router};
use crate::protocol::{Properties, QoS};

impl Router {
    /// Publishes a retained QoS 1 message from the broker itself, routed as a client's
    /// PUBLISH would be, from no client.
    pub fn publish_retained_internal(&mut self, topic: &str, payload: &[u8], now: Instant) {
        self.now = now;
        let message = Message::new(
            Arc::from(topic),
            Arc::from(payload),
            QoS::AtLeastOnce,
            true,
            Properties::default(),
            now,
        );
        self.route(Arc::new(message), None);
    }

    /// Has the offline session of `client_id` queue QoS 0 messages too (a lazy bridge's).
    pub fn queue_qos0_for(&mut self, client_id: &str, on: bool) {
        if let Some(session) = self
            .session_by_client_id
            .get(client_id)
            .and_then(|&key| self.sessions.get_mut(key))
        {
            session.queue_qos0 = on;
        }
    }

    /// Messages queued for the session of `client_id` behind its in-flight window; 0 when
    /// there is no such session.
    pub fn queued_for(&self, client_id: &str) -> usize {
        self.session_by_client_id
            .get(client_id)
            .and_then(|&key| self.sessions.get(key))
            .map_or(0, |session| session.delivery().queue.len())
    }
}
