//! PUBLISH in both directions: a client's PUBLISH taken and routed to the subscribers, and each
//! delivery sent at once or queued behind the outbound in-flight window. The QoS 1/2
//! acknowledgements are in `publish_acks`, the checks in `publish_checks`, and what the memory
//! budget refuses in `publish_memory`.

use std::sync::Arc;

use log::debug;

use super::access::may_read;
use super::link::{Link, LinkState};
use super::memory_use::{self, MemoryUse};
use super::message::Message;
use super::outbound::{Unsent, write_publish};
use super::publish_checks::{publish_refusal, resolve_topic_alias};
use super::retain::RetainSource;
use super::retained_delivery::drain_backlog;
use super::session::{Enqueued, Flight, Queued, Session};
use super::{LinkId, Ready, Router};
use crate::config::Config;
use crate::protocol::{Packet, PubResponse, Publish, PublishHeader, QoS, ReasonCode};

/// Queue entries an empty queue keeps room for; beyond this its room is given back.
const QUEUE_KEPT_ROOM: usize = 64;

impl Router {
    pub(super) fn handle_publish(&mut self, key: usize, mut publish: Publish) {
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        let Some(session_key) = link.session() else {
            return;
        };
        if let Some((reason, why)) = publish_refusal(link, &publish, &self.config) {
            self.violation(key, reason, why);
            return;
        }
        if link.version.is_v5() {
            if let Err((reason, why)) = resolve_topic_alias(link, &mut publish) {
                self.violation(key, reason, why);
                return;
            }
            if !publish.properties.subscription_identifiers.is_empty() {
                // [MQTT-3.3.4-6] only the broker sends subscription identifiers.
                let why = "PUBLISH from a client carries a subscription identifier";
                self.violation(key, ReasonCode::PROTOCOL_ERROR, why.to_owned());
                return;
            }
        }
        if publish.topic.is_empty() {
            let why = "PUBLISH with an empty topic".to_owned();
            self.violation(key, ReasonCode::TOPIC_NAME_INVALID, why);
            return;
        }
        if self.drop_oversize(key, &publish) {
            return;
        }
        if let Some(link) = self.links.get(key) {
            publish.topic = link.rules.mount(Arc::clone(&publish.topic));
        }
        if !self.authorise_publish(key, session_key, &publish) {
            return;
        }
        if publish.qos != QoS::AtMostOnce
            && self.memory.budget.limit() > 0
            && self.refused_for_memory(key, session_key, &publish)
        {
            return;
        }
        let now = self.now;
        match (publish.qos, publish.packet_id) {
            (QoS::AtMostOnce, _) => {
                self.route(
                    Arc::new(Message::from_publish(publish, now)),
                    Some(session_key),
                );
            }
            // [MQTT-4.3.2-2] PUBACK after taking ownership of the message.
            (QoS::AtLeastOnce, Some(id)) => {
                self.route(
                    Arc::new(Message::from_publish(publish, now)),
                    Some(session_key),
                );
                self.send(key, &Packet::PubAck(PubResponse::new(id)));
            }
            (QoS::ExactlyOnce, Some(id)) => self.receive_qos2(key, session_key, id, publish),
            (_, None) => {
                let why = "PUBLISH without packet id".to_owned();
                self.violation(key, ReasonCode::PROTOCOL_ERROR, why);
            }
        }
    }

    /// Stores a retained message and delivers `message` to every matching subscription, once per
    /// session at the highest granted QoS (3.1.1 section 3.3.5), and to one member of each
    /// matching shared subscription group. With `allow_duplicate_messages`, a 3.x session
    /// gets one copy per matching subscription instead, as mosquitto sends them.
    pub(super) fn route(&mut self, message: Arc<Message>, publisher: Option<usize>) {
        self.route_from(message, publisher, None);
    }

    /// [`Router::route`] for a will: `will_source` is the client that set it, which is not a
    /// publisher to leave out (it has gone), but what `check_retain_source` records.
    pub(super) fn route_from(
        &mut self,
        message: Arc<Message>,
        publisher: Option<usize>,
        will_source: Option<&RetainSource>,
    ) {
        self.counters.messages_received += 1;
        self.memory.charge(&message);
        if self.has_hooks() {
            self.observe_message(&message, publisher);
        }
        let replaced = if message.retain && self.may_retain(&message) {
            let source = match will_source {
                Some(source) => Some(source.clone()),
                None => self.retain_source(publisher),
            };
            let replaced = self.retained.update(&message, source.clone());
            self.journal_retained(&message, source, replaced.as_ref());
            replaced
        } else {
            None
        };
        let mut deliveries = std::mem::take(&mut self.scratch_deliveries);
        let duplicates = self.config.allow_duplicate_messages;
        let sessions = &self.sessions;
        let apart =
            |key: &usize| duplicates && sessions.get(*key).is_some_and(|s| !s.protocol.is_v5());
        self.subscriptions
            .deliveries_with(&message.topic, publisher, apart, &mut deliveries);
        let upgrade = self.config.upgrade_outgoing_qos;
        for delivery in &mut deliveries {
            self.send_retained_ahead(delivery.key, &message, replaced.as_ref());
            let item = Queued {
                message: Arc::clone(&message),
                qos: message.delivery_qos(delivery.qos, upgrade),
                // [MQTT-3.3.1-9] cleared on normal forwarding unless v5 retain-as-published.
                retain: message.retain && delivery.retain_as_published,
                subscription_ids: std::mem::take(&mut delivery.subscription_ids),
                shared_group: None,
                entry: 0,
            };
            self.deliver(delivery.key, item);
        }
        deliveries.clear();
        self.scratch_deliveries = deliveries;
        self.route_shared(&message, publisher);
    }

    /// Sends `item` to the session now if its link has room and the window allows, else queues
    /// it. Order is kept: nothing overtakes a non-empty queue. At the memory limit a QoS 0
    /// message that would have to wait is dropped instead.
    pub(super) fn deliver(&mut self, session_key: usize, item: Queued) {
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        if !may_read(session, &item.message.topic) {
            return;
        }
        if self.has_hooks() && !self.delivery_allowed(session_key, &item.message.topic) {
            return;
        }
        let high_water = self.output_high_water();
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        let link = session
            .link()
            .and_then(|key| self.links.get_mut(key).map(|link| (key, link)))
            .filter(|(_, link)| link.state == LinkState::Connected);
        match link {
            Some((key, link))
                if session.nothing_queued()
                    && link.has_room(high_water)
                    && (item.qos == QoS::AtMostOnce || !session.window_full()) =>
            {
                if let Some(bytes) = transmit(session, link, item, self.now) {
                    self.counters.sent.count_publish(bytes);
                }
                mark_ready(&mut self.ready, &mut self.memory, link, key);
            }
            None if item.qos == QoS::AtMostOnce
                && !self.config.queue_qos0_offline
                && !session.queue_qos0 => {}
            Some(_) => self.wait_in_queue(session_key, item, true),
            None => self.wait_in_queue(session_key, item, false),
        }
    }

    /// Queues a delivery the session cannot take now: its client is `online` and busy, or
    /// away. At the memory limit a QoS 0 message is dropped instead.
    #[inline(never)]
    fn wait_in_queue(&mut self, session_key: usize, item: Queued, online: bool) {
        if self.drop_waiting_qos0(&item) {
            return;
        }
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        // A connected client that has stopped taking: `slow_consumer_timeout` counts from its
        // first drop.
        if enqueue(session, item, &self.config)
            && online
            && session.delivery().full_since.is_none()
            && let Some(timeout) = self.config.slow_consumer_timeout
        {
            session.delivery_mut().full_since = Some(self.now);
            self.session_deadlines.push(self.now + timeout, session_key);
        }
        memory_use::settle_entries(&mut self.memory.entries, session);
    }

    /// Moves queued messages into the link's output while it has room and the window allows;
    /// expired messages are dropped on the way [MQTT-3.3.2-5].
    pub(super) fn pump(&mut self, session_key: usize) {
        let high_water = self.output_high_water();
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        let Some(key) = session.link() else {
            return;
        };
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        if link.state != LinkState::Connected {
            return;
        }
        let mut sent = false;
        while link.has_room(high_water) {
            let Some(front) = session.delivery().queue.front() else {
                break;
            };
            if front.qos != QoS::AtMostOnce
                && session.window_full()
                && !front.message.is_expired(self.now)
            {
                break;
            }
            let Some(item) = session.dequeue() else {
                break;
            };
            if item.message.is_expired(self.now) {
                continue;
            }
            if let Some(bytes) = transmit(session, link, item, self.now) {
                self.counters.sent.count_publish(bytes);
            }
            sent = true;
            // The client is taking messages again.
            if let Some(d) = session.existing_delivery_mut() {
                d.full_since = None;
            }
        }
        if session.delivery().queue.is_empty() {
            let upgrade = self.config.upgrade_outgoing_qos;
            let hooks = &mut self.hooks;
            let listeners = self.config.listener_options().count();
            let mut allowed = |session: &Session, topic: &str| {
                hooks.is_none() || super::hooks::deliver_allowed(hooks, listeners, session, topic)
            };
            sent |= drain_backlog(
                session,
                link,
                &mut self.counters.sent,
                &mut self.retained,
                (self.now, upgrade, high_water),
                &mut allowed,
                self.config.check_retain_source.then_some(&self.security),
            );
            // A queue that once held many messages gives their room back once it is empty.
            if let Some(d) = session.existing_delivery_mut()
                && d.queue.capacity() > QUEUE_KEPT_ROOM
            {
                d.queue = std::collections::VecDeque::new();
            }
        }
        memory_use::settle_entries(&mut self.memory.entries, session);
        if sent {
            mark_ready(&mut self.ready, &mut self.memory, link, key);
        }
    }

    pub(super) fn session_of(&mut self, key: usize) -> Option<&mut Session> {
        let session_key = self.links.get(key)?.session()?;
        self.sessions.get_mut(session_key)
    }
}

/// Encodes `item` into the link's output, taking a packet id and a window slot for QoS 1/2.
/// A delivery too large for the client, or outside its mount point, is dropped as if it had
/// been acknowledged. Returns the payload bytes written, for the caller to count.
pub(super) fn transmit(
    session: &mut Session,
    link: &mut Link,
    item: Queued,
    now: std::time::Instant,
) -> Option<usize> {
    let packet_id = match item.qos {
        QoS::AtMostOnce => None,
        QoS::AtLeastOnce | QoS::ExactlyOnce => session.allocate_packet_id(),
    };
    let header = PublishHeader {
        dup: false,
        qos: if packet_id.is_some() {
            item.qos
        } else {
            QoS::AtMostOnce
        },
        retain: item.retain,
        packet_id,
    };
    if let Err(unsent) = write_publish(link, header, &item.message, &item.subscription_ids, now) {
        let why = match unsent {
            Unsent::TooLarge => "larger than the client accepts",
            Unsent::OutsideMountPoint => "outside the mount point of its listener",
        };
        debug!(
            "Message on {} dropped for client {}: {why}",
            item.message.topic,
            link.name()
        );
        return None;
    }
    let bytes = item.message.payload.len();
    if let Some(id) = packet_id {
        let flight = match item.qos {
            QoS::ExactlyOnce => Flight::Qos2Sent(item),
            _ => Flight::Qos1Sent(item),
        };
        session.push_flight(id, flight);
    }
    Some(bytes)
}

/// Queues `item`; whether the full queue dropped a message.
fn enqueue(session: &mut Session, item: Queued, config: &Config) -> bool {
    match session.enqueue(item, config) {
        Enqueued::Yes => false,
        Enqueued::Evicted | Enqueued::Dropped => {
            debug!(
                "Queue full for client {}: message dropped ({} dropped so far)",
                session.client_id,
                session.delivery().dropped
            );
            true
        }
    }
}

/// Puts the link in the ready list once. Every write to a link's output is followed by this
/// call, so it is where the memory budget counts the output (see `MemoryUse::count_output`).
pub(super) fn mark_ready(
    ready: &mut Vec<Ready>,
    memory: &mut MemoryUse,
    link: &mut Link,
    key: usize,
) {
    memory.count_output(link);
    if !link.ready {
        link.ready = true;
        ready.push(Ready {
            token: link.token,
            link: LinkId::new(key, link.generation),
        });
    }
}
