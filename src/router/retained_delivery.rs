//! Retained messages sent because of a SUBSCRIBE: a filter without wildcards gets its one
//! message at once, a wildcard filter's many go through the session's backlog (see
//! `retained_backlog`), and a live message never overtakes its topic's pending retained one.

use std::sync::Arc;
use std::time::Instant;

use super::Router;
use super::access::may_read;
use super::link::{Link, Sent};
use super::message::Message;
use super::publish::transmit;
use super::retain::{Replaced, RetainedStore};
use super::retain_source::source_may_publish;
use super::retained_backlog::RetainedBacklog;
use super::session::{Queued, Session};
use crate::auth::Security;
use crate::protocol::QoS;
use crate::topic::TopicFilter;

impl Router {
    /// [MQTT-3.3.1-6] Retained messages matching a new subscription are sent with RETAIN set
    /// [MQTT-3.3.1-8], at the lower of their QoS and the granted QoS (the granted one with
    /// `upgrade_outgoing_qos`); expired ones are skipped.
    /// All of them are sent, paced by the socket and the in-flight window rather than limited
    /// by the queue.
    pub(super) fn send_retained(
        &mut self,
        session_key: usize,
        filter: TopicFilter,
        granted: QoS,
        identifier: Option<u32>,
    ) {
        if !filter.has_wildcards() {
            if let Some(message) = self.retained.exact(filter.as_str(), self.now)
                && self
                    .source_may_still_publish(self.retained.source(&message.topic), &message.topic)
            {
                let upgrade = self.config.upgrade_outgoing_qos;
                let item = retained_item(message, granted, identifier, upgrade);
                self.deliver(session_key, item);
            }
            return;
        }
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        let backlog = RetainedBacklog::new(filter, granted, identifier);
        session.delivery_mut().retained_backlog.push(backlog);
        self.pump(session_key);
    }

    /// Called before `live` is delivered to a session: the retained message of the same topic
    /// that a backlog still owes the session is delivered first, and the backlog told to skip
    /// that topic. `replaced` is the retained message `live` replaced in the store, if it was
    /// retained itself.
    pub(super) fn send_retained_ahead(
        &mut self,
        session_key: usize,
        live: &Message,
        replaced: Option<&Replaced>,
    ) {
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        if !session.owes_retained() {
            return;
        }
        let topic = &live.topic;
        let upgrade = self.config.upgrade_outgoing_qos;
        let mut owed = Vec::new();
        for backlog in session.delivery_mut().retained_backlog.iter_mut() {
            if !backlog.is_pending(topic) {
                continue;
            }
            backlog.done_ahead.insert(Arc::clone(topic));
            let (pending, source) = if live.retain {
                (
                    replaced.map(|r| &r.message),
                    replaced.and_then(|r| r.source.as_ref()),
                )
            } else {
                (self.retained.get(topic), self.retained.source(topic))
            };
            let unexpired = pending.filter(|message| !message.is_expired(self.now));
            let check = self.config.check_retain_source;
            if let Some(message) = unexpired
                && (!check || source_may_publish(&self.security, source, topic))
            {
                let message = Arc::clone(message);
                let item = retained_item(message, backlog.granted, backlog.identifier, upgrade);
                owed.push(item);
            }
        }
        for item in owed {
            self.deliver(session_key, item);
        }
    }
}

/// Moves retained messages from the session's backlogs into the link's output while it has
/// room and, for QoS 1 and 2, the in-flight window allows. Returns whether anything was sent.
/// Expired messages met on the way are skipped and removed from the store. `upgrade` is
/// `upgrade_outgoing_qos`; `high_water` the output the link may fill; `allowed` is the host
/// program's delivery hook; `check_sources` the security settings with `check_retain_source`.
pub(super) fn drain_backlog(
    session: &mut Session,
    link: &mut Link,
    written: &mut Sent,
    retained: &mut RetainedStore,
    (now, upgrade, high_water): (Instant, bool, usize),
    allowed: &mut dyn FnMut(&Session, &str) -> bool,
    check_sources: Option<&Security>,
) -> bool {
    let mut sent = false;
    let mut expired = Vec::new();
    while link.has_room(high_water) {
        let window_full = session.window_full();
        let Some(backlog) = session
            .existing_delivery_mut()
            .and_then(|d| d.retained_backlog.front_mut())
        else {
            break;
        };
        let cursor = backlog.cursor.as_deref();
        let next = retained.matching_after(&backlog.filter, cursor).next();
        let Some(message) = next.map(Arc::clone) else {
            if let Some(d) = session.existing_delivery_mut() {
                d.retained_backlog.pop_front();
            }
            continue;
        };
        let topic = &message.topic;
        if backlog.done_ahead.remove(topic) {
            backlog.cursor = Some(Arc::clone(topic));
            continue;
        }
        if message.is_expired(now) {
            expired.push(Arc::clone(topic));
            backlog.cursor = Some(Arc::clone(topic));
            continue;
        }
        if message.delivery_qos(backlog.granted, upgrade) != QoS::AtMostOnce && window_full {
            break;
        }
        backlog.cursor = Some(Arc::clone(topic));
        let (granted, identifier) = (backlog.granted, backlog.identifier);
        // READ on each retained message, as on every delivery; the host's hook is asked last,
        // about what would otherwise be sent.
        if !may_read(session, &message.topic) {
            continue;
        }
        if let Some(security) = check_sources
            && !source_may_publish(security, retained.source(topic), topic)
        {
            continue;
        }
        if !allowed(session, &message.topic) {
            continue;
        }
        let item = retained_item(message, granted, identifier, upgrade);
        if let Some(bytes) = transmit(session, link, item, now) {
            written.count_publish(bytes);
        }
        sent = true;
    }
    for topic in expired {
        retained.remove_if_expired(&topic, now);
    }
    sent
}

fn retained_item(
    message: Arc<Message>,
    granted: QoS,
    identifier: Option<u32>,
    upgrade: bool,
) -> Queued {
    Queued {
        qos: message.delivery_qos(granted, upgrade),
        message,
        retain: true,
        subscription_ids: identifier.into_iter().collect(),
        shared_group: None,
        entry: 0,
    }
}
