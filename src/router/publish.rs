//! PUBLISH in both directions: inbound QoS 0/1/2 handshakes, routing to subscribers, and the
//! outbound in-flight window with the queue behind it.

use std::sync::Arc;

use log::debug;

use super::access::may_read;
use super::link::{Link, LinkState};
use super::listeners::Peer;
use super::memory_use;
use super::message::Message;
use super::outbound::{Unsent, write_publish};
use super::publish_checks::publish_refusal;
use super::retained_delivery::drain_backlog;
use super::session::{Enqueued, Flight, Queued, Session};
use super::{LinkId, Ready, Router};
use crate::config::Config;
use crate::protocol::{Packet, PacketId, PubResponse, Publish, PublishHeader, QoS, ReasonCode};

/// What a PUBLISH will hold once taken, as `Message::footprint` counts it, roughly: checked
/// before the message is made, so that a message which would reach the memory limit is
/// refused rather than taken, and a retained one refused rather than taken and not kept.
fn incoming_size(publish: &Publish) -> usize {
    size_of::<Message>() + 48 + publish.topic.len() + publish.payload.len()
}

fn link_peer(links: &slab::Slab<Link>, key: usize) -> Option<&Peer> {
    links.get(key).map(|link| &link.peer)
}

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
            if let Err((reason, why)) = resolve_topic_alias(link, &mut publish, &self.config) {
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

    /// A QoS 2 PUBLISH sent again before its PUBREL: accepted before, so never refused now.
    fn is_qos2_resend(&self, session_key: usize, publish: &Publish) -> bool {
        publish.qos == QoS::ExactlyOnce
            && publish.packet_id.is_some_and(|id| {
                self.sessions
                    .get(session_key)
                    .is_some_and(|session| session.delivery().inbound_qos2.contains(id.get()))
            })
    }

    /// At the memory limit a QoS 1/2 PUBLISH is not taken: an MQTT 5 client gets PUBACK or
    /// PUBREC 0x97 (Quota exceeded), which ends the exchange [MQTT-4.3.3-4] and leaves the
    /// client free to send it again; a 3.x client has no way to be told, so its connection is
    /// closed without an acknowledgement [MQTT-3.3.5-2]. Returns whether it was refused.
    ///
    /// A QoS 2 PUBLISH sent again before its PUBREL was taken before and is not refused now.
    /// A bridge acknowledges upstream what its local side took and has no way to pass a
    /// refusal on, so its messages are taken at the limit too.
    #[inline(never)]
    fn refused_for_memory(&mut self, key: usize, session_key: usize, publish: &Publish) -> bool {
        let from_bridge = matches!(link_peer(&self.links, key), Some(Peer::Bridge(_)));
        if from_bridge
            || self.is_qos2_resend(session_key, publish)
            || !self.refuse_for_memory(incoming_size(publish))
        {
            return false;
        }
        self.refuse_publish_for_memory(key, publish);
        true
    }

    fn refuse_publish_for_memory(&mut self, key: usize, publish: &Publish) {
        let Some(link) = self.links.get(key) else {
            return;
        };
        debug!(
            "memory_limit: QoS {} PUBLISH from {} on {} refused",
            publish.qos.bits(),
            link.name(),
            publish.topic
        );
        if !link.version.is_v5() {
            self.end_link(key, super::lifecycle::Ending::OutOfMemory);
            return;
        }
        let Some(id) = publish.packet_id else {
            return;
        };
        let mut response = PubResponse::new(id);
        response.reason = ReasonCode::QUOTA_EXCEEDED;
        let packet = match publish.qos {
            QoS::ExactlyOnce => Packet::PubRec(response),
            _ => Packet::PubAck(response),
        };
        self.send(key, &packet);
    }

    /// [MQTT-4.3.3-2] Delivered once on first receipt ("method B"); a re-sent PUBLISH with the
    /// same id before PUBREL is acknowledged again but not delivered again. For MQTT 5 the ids
    /// awaiting PUBREL count against the receive maximum the broker announced [MQTT-3.3.4-8].
    fn receive_qos2(&mut self, key: usize, session_key: usize, id: PacketId, publish: Publish) {
        let receive_maximum = usize::from(self.config.max_inflight_messages);
        let is_v5 = self.links.get(key).is_some_and(|link| link.version.is_v5());
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        let known = session.delivery().inbound_qos2.contains(id.get());
        if !known && is_v5 && session.delivery().inbound_qos2.len() >= receive_maximum {
            let why = format!("more than {receive_maximum} QoS 2 messages awaiting PUBREL");
            self.violation(key, ReasonCode::RECEIVE_MAXIMUM_EXCEEDED, why);
            return;
        }
        if !known {
            session.inbound_insert(id.get());
            let message = Message::from_publish(publish, self.now);
            self.route(Arc::new(message), Some(session_key));
        }
        self.send(key, &Packet::PubRec(PubResponse::new(id)));
    }

    /// [MQTT-4.3.3-2] PUBREL releases the packet id; PUBCOMP answers it whether or not the id
    /// was known (MQTT 5 says which), so a client re-sending PUBREL after a reconnect completes.
    pub(super) fn handle_pubrel(&mut self, key: usize, rel: PubResponse) {
        let known = self
            .session_of(key)
            .is_some_and(|session| session.inbound_remove(rel.packet_id.get()));
        let mut comp = PubResponse::new(rel.packet_id);
        if !known {
            comp.reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
        }
        self.send(key, &Packet::PubComp(comp));
    }

    pub(super) fn handle_puback(&mut self, key: usize, ack: PubResponse) {
        self.finish_flight(key, ack.packet_id, |flight| {
            matches!(flight, Flight::Qos1Sent(_))
        });
    }

    pub(super) fn handle_pubcomp(&mut self, key: usize, comp: PubResponse) {
        self.finish_flight(key, comp.packet_id, |flight| {
            matches!(flight, Flight::Released)
        });
    }

    /// PUBREC moves a QoS 2 delivery to its second half: the message is released and PUBREL
    /// sent [MQTT-4.3.3-1]. A repeated PUBREC is answered with PUBREL again; an MQTT 5 PUBREC
    /// with an error code ends the flow [MQTT-4.3.3-4].
    pub(super) fn handle_pubrec(&mut self, key: usize, rec: PubResponse) {
        let id = rec.packet_id;
        if rec.reason.is_error() {
            self.finish_flight(key, id, |flight| matches!(flight, Flight::Qos2Sent(_)));
            return;
        }
        let known = self.session_of(key).is_some_and(|session| {
            session
                .flight_position(id)
                .is_some_and(|position| session.release_flight(position))
        });
        let mut rel = PubResponse::new(id);
        if !known {
            rel.reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
        }
        self.send(key, &Packet::PubRel(rel));
    }

    /// Removes the in-flight entry `id` if it is in the state `expected` accepts, then refills
    /// the window from the queue.
    fn finish_flight(&mut self, key: usize, id: PacketId, expected: impl Fn(&Flight) -> bool) {
        let Some(session_key) = self.links.get(key).and_then(|link| link.session()) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        match session.flight_position(id) {
            Some(position)
                if session
                    .delivery()
                    .inflight
                    .get(position)
                    .is_some_and(|(_, flight)| expected(flight)) =>
            {
                session.remove_flight(position);
                self.pump(session_key);
            }
            _ => debug!(
                "Client {} acknowledged packet id {} that is not awaiting that acknowledgement",
                session.client_id,
                id.get()
            ),
        }
    }

    /// Stores a retained message and delivers `message` to every matching subscription, once per
    /// session at the highest granted QoS (3.1.1 section 3.3.5), and to one member of each
    /// matching shared subscription group. With `allow_duplicate_messages`, a 3.x session
    /// gets one copy per matching subscription instead, as mosquitto sends them.
    pub(super) fn route(&mut self, mut message: Arc<Message>, publisher: Option<usize>) {
        self.counters.messages_received += 1;
        self.memory.charge(&mut message);
        if self.has_hooks() {
            self.observe_message(&message, publisher);
        }
        let replaced = if message.retain && self.may_retain(&message) {
            let replaced = self.retained.update(&message);
            self.journal_retained(&message, replaced.as_ref());
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

    /// Whether a retained message may be stored: at the memory limit, only one that does not
    /// grow the store (it clears a topic, or replaces a message at least its size) is.
    fn may_retain(&mut self, message: &Message) -> bool {
        if self.memory.budget.limit() == 0 || message.payload.is_empty() {
            return true;
        }
        let replaces = self.retained.get(&message.topic);
        if replaces.is_some_and(|old| old.footprint() >= message.footprint()) {
            return true;
        }
        if !self.refuse_for_memory(0) {
            return true;
        }
        debug!(
            "memory_limit: retained message on {} not stored",
            message.topic
        );
        false
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
                mark_ready(&mut self.ready, link, key);
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
            mark_ready(&mut self.ready, link, key);
        }
    }

    pub(super) fn session_of(&mut self, key: usize) -> Option<&mut Session> {
        let session_key = self.links.get(key)?.session()?;
        self.sessions.get_mut(session_key)
    }
}

/// MQTT 5 topic aliases from the client: an alias with a topic (re)defines it, an alias with an
/// empty topic uses it. Values outside 1..=maximum are a protocol error [MQTT-3.3.2-9].
fn resolve_topic_alias(
    link: &mut Link,
    publish: &mut Publish,
    config: &Config,
) -> Result<(), (ReasonCode, String)> {
    let Some(alias) = publish.properties.topic_alias else {
        return Ok(());
    };
    if alias == 0 || alias > config.topic_alias_maximum {
        let why = format!(
            "topic alias {alias} outside 1..={}",
            config.topic_alias_maximum
        );
        return Err((ReasonCode::TOPIC_ALIAS_INVALID, why));
    }
    let aliases = link.limits.aliases.get_or_insert_with(Box::default);
    let slot = usize::from(alias - 1);
    if publish.topic.is_empty() {
        match aliases.inbound.get(slot).and_then(Option::as_ref) {
            Some(topic) => publish.topic = Arc::clone(topic),
            None => {
                let why = format!("topic alias {alias} used before it was set");
                return Err((ReasonCode::PROTOCOL_ERROR, why));
            }
        }
    } else {
        if aliases.inbound.len() <= slot {
            aliases.inbound.resize(slot + 1, None);
        }
        if let Some(entry) = aliases.inbound.get_mut(slot) {
            *entry = Some(Arc::clone(&publish.topic));
        }
    }
    Ok(())
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
/// call, so the ready links are those whose output the memory budget has yet to count.
pub(super) fn mark_ready(ready: &mut Vec<Ready>, link: &mut Link, key: usize) {
    if !link.ready {
        link.ready = true;
        ready.push(Ready {
            token: link.token,
            link: LinkId::new(key, link.generation),
        });
    }
}
