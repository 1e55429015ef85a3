//! The QoS 1 and 2 handshakes of PUBLISH in both directions: an inbound QoS 2 message taken
//! once until its PUBREL, and the acknowledgements that move an outbound delivery through the
//! in-flight window and refill it from the queue.

use log::debug;

use super::Router;
use super::message::Message;
use super::session::Flight;
use crate::protocol::{Packet, PacketId, PubResponse, Publish, ReasonCode};
use std::sync::Arc;

impl Router {
    /// [MQTT-4.3.3-2] Delivered once on first receipt ("method B"); a re-sent PUBLISH with the
    /// same id before PUBREL is acknowledged again but not delivered again. For MQTT 5 the ids
    /// awaiting PUBREL count against the receive maximum the broker announced [MQTT-3.3.4-8].
    pub(super) fn receive_qos2(
        &mut self,
        key: usize,
        session_key: usize,
        id: PacketId,
        publish: Publish,
    ) {
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
}
