//! What the memory budget refuses on the publish path (see `memory`): a QoS 1/2 PUBLISH that
//! would reach the limit, and a retained message that would grow the store there.

use log::debug;

use super::listeners::Peer;
use super::message::Message;
use super::{Router, lifecycle};
use crate::protocol::{Packet, PubResponse, Publish, QoS, ReasonCode};

/// What a PUBLISH will hold once taken, as `Message::footprint` counts it, roughly: checked
/// before the message is made, so that a message which would reach the memory limit is
/// refused rather than taken, and a retained one refused rather than taken and not kept.
fn incoming_size(publish: &Publish) -> usize {
    size_of::<Message>() + 48 + publish.topic.len() + publish.payload.len()
}

impl Router {
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
    /// refusal on, so its messages are taken at the limit too; the broker stops reading the
    /// bridge there instead ([`Router::bridge_may_read`]).
    #[inline(never)]
    pub(super) fn refused_for_memory(
        &mut self,
        key: usize,
        session_key: usize,
        publish: &Publish,
    ) -> bool {
        let from_bridge = (self.links.get(key)).is_some_and(|l| matches!(l.peer, Peer::Bridge(_)));
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
            self.end_link(key, lifecycle::Ending::OutOfMemory);
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

    /// Whether a retained message may be stored: at the memory limit, only one that does not
    /// grow the store (it clears a topic, or replaces a message at least its size) is.
    pub(super) fn may_retain(&mut self, message: &Message) -> bool {
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
}
