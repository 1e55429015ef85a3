//! PUBLISH in both directions: inbound QoS 0/1/2 handshakes, routing to subscribers, and the
//! outbound in-flight window with the queue behind it.

use std::sync::Arc;
use std::time::Instant;

use log::debug;

use super::link::{Link, LinkState};
use super::message::Message;
use super::session::{Enqueued, Flight, Queued, Session};
use super::{LinkId, Ready, Router};
use crate::config::Config;
use crate::protocol::{Packet, PubResponse, Publish, PublishHeader, QoS, encode_publish};

impl Router {
    pub(super) fn handle_publish(&mut self, key: usize, publish: Publish, now: Instant) {
        let Some(session_key) = self.links.get(key).and_then(|link| link.session) else {
            return;
        };
        if publish.topic.is_empty() {
            self.violation(key, "PUBLISH with an empty topic".to_owned(), now);
            return;
        }
        let packet_id = publish.packet_id;
        match (publish.qos, packet_id) {
            (QoS::AtMostOnce, _) => {
                self.route(Arc::new(Message::from_publish(publish)), Some(session_key));
            }
            // [MQTT-4.3.2-2] PUBACK after taking ownership of the message.
            (QoS::AtLeastOnce, Some(id)) => {
                self.route(Arc::new(Message::from_publish(publish)), Some(session_key));
                self.send(key, &Packet::PubAck(PubResponse::new(id)));
            }
            // [MQTT-4.3.3-2] Delivered once on first receipt ("method B"); a re-sent PUBLISH with
            // the same id before PUBREL is acknowledged again but not delivered again.
            (QoS::ExactlyOnce, Some(id)) => {
                let first = self
                    .sessions
                    .get_mut(session_key)
                    .is_some_and(|session| session.inbound_qos2.insert(id.get()));
                if first {
                    self.route(Arc::new(Message::from_publish(publish)), Some(session_key));
                }
                self.send(key, &Packet::PubRec(PubResponse::new(id)));
            }
            (_, None) => self.violation(key, "PUBLISH without packet id".to_owned(), now),
        }
    }

    /// [MQTT-4.3.3-2] PUBREL releases the packet id; PUBCOMP answers it whether or not the id
    /// was known, so a client re-sending PUBREL after a reconnect completes its flow.
    pub(super) fn handle_pubrel(&mut self, key: usize, rel: PubResponse) {
        if let Some(session) = self.session_of(key) {
            session.inbound_qos2.remove(&rel.packet_id.get());
        }
        self.send(key, &Packet::PubComp(PubResponse::new(rel.packet_id)));
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
    /// sent [MQTT-4.3.3-1]. A repeated or unknown PUBREC is answered with PUBREL too.
    pub(super) fn handle_pubrec(&mut self, key: usize, rec: PubResponse) {
        let id = rec.packet_id;
        let failed = rec.reason.is_error();
        if let Some(session) = self.session_of(key)
            && let Some(position) = session.flight_position(id)
        {
            if failed {
                // An MQTT 5 receiver may refuse the message: the flow ends here.
                session.inflight.remove(position);
            } else if let Some((_, flight)) = session.inflight.get_mut(position) {
                *flight = Flight::Released;
            }
        }
        if failed {
            if let Some(session_key) = self.links.get(key).and_then(|link| link.session) {
                self.pump(session_key);
            }
        } else {
            self.send(key, &Packet::PubRel(PubResponse::new(id)));
        }
    }

    /// Removes the in-flight entry `id` if it is in the state `expected` accepts, then refills
    /// the window from the queue.
    fn finish_flight(
        &mut self,
        key: usize,
        id: crate::protocol::PacketId,
        expected: impl Fn(&Flight) -> bool,
    ) {
        let Some(session_key) = self.links.get(key).and_then(|link| link.session) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        match session.flight_position(id) {
            Some(position)
                if session
                    .inflight
                    .get(position)
                    .is_some_and(|(_, flight)| expected(flight)) =>
            {
                session.inflight.remove(position);
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
    /// session at the highest granted QoS (3.1.1 section 3.3.5).
    pub(super) fn route(&mut self, message: Arc<Message>, publisher: Option<usize>) {
        if message.retain {
            self.retained.update(&message);
        }
        let mut deliveries = std::mem::take(&mut self.scratch_deliveries);
        self.subscriptions
            .deliveries(&message.topic, publisher, &mut deliveries);
        for delivery in &deliveries {
            let item = Queued {
                message: Arc::clone(&message),
                qos: message.qos.min(delivery.qos),
                // [MQTT-3.3.1-9] cleared on normal forwarding unless v5 retain-as-published.
                retain: message.retain && delivery.retain_as_published,
            };
            self.deliver(delivery.key, item);
        }
        deliveries.clear();
        self.scratch_deliveries = deliveries;
    }

    /// Sends `item` to the session now if its link has room and the window allows, else queues
    /// it. Order is kept: nothing overtakes a non-empty queue.
    pub(super) fn deliver(&mut self, session_key: usize, item: Queued) {
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        let link = session
            .link
            .and_then(|key| self.links.get_mut(key).map(|link| (key, link)))
            .filter(|(_, link)| link.state == LinkState::Connected);
        match link {
            Some((key, link))
                if session.queue.is_empty()
                    && link.has_room()
                    && (item.qos == QoS::AtMostOnce || !session.window_full(&self.config)) =>
            {
                transmit(session, link, item);
                mark_ready(&mut self.ready, link, key);
            }
            Some(_) => enqueue(session, item, &self.config),
            None if item.qos == QoS::AtMostOnce && !self.config.queue_qos0_offline => {}
            None => enqueue(session, item, &self.config),
        }
    }

    /// Moves queued messages into the link's output while it has room and the window allows.
    pub(super) fn pump(&mut self, session_key: usize) {
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        let Some(key) = session.link else {
            return;
        };
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        if link.state != LinkState::Connected {
            return;
        }
        let mut sent = false;
        while link.has_room() {
            let Some(front) = session.queue.front() else {
                break;
            };
            if front.qos != QoS::AtMostOnce && session.window_full(&self.config) {
                break;
            }
            let Some(item) = session.dequeue() else {
                break;
            };
            transmit(session, link, item);
            sent = true;
        }
        if sent {
            mark_ready(&mut self.ready, link, key);
        }
    }

    fn session_of(&mut self, key: usize) -> Option<&mut Session> {
        let session_key = self.links.get(key)?.session?;
        self.sessions.get_mut(session_key)
    }
}

/// Encodes `item` into the link's output, taking a packet id and a window slot for QoS 1/2.
fn transmit(session: &mut Session, link: &mut Link, item: Queued) {
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
    let message = &item.message;
    encode_publish(
        &mut link.output,
        link.version,
        header,
        &message.topic,
        &message.properties,
        &message.payload,
    );
    if let Some(id) = packet_id {
        let flight = match item.qos {
            QoS::ExactlyOnce => Flight::Qos2Sent(item),
            _ => Flight::Qos1Sent(item),
        };
        session.inflight.push_back((id, flight));
    }
}

fn enqueue(session: &mut Session, item: Queued, config: &Config) {
    match session.enqueue(item, config) {
        Enqueued::Yes => {}
        Enqueued::Evicted | Enqueued::Dropped => debug!(
            "Queue full for client {}: message dropped ({} dropped so far)",
            session.client_id, session.dropped
        ),
    }
}

pub(super) fn mark_ready(ready: &mut Vec<Ready>, link: &mut Link, key: usize) {
    if !link.ready {
        link.ready = true;
        ready.push(Ready {
            token: link.token,
            link: LinkId {
                index: key,
                generation: link.generation,
            },
        });
    }
}
