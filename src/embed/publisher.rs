//! The host program's publishing link: what it publishes goes to the router at once, and the
//! router's answers (PUBACK, PUBREC) are taken at once too, so no QoS 2 exchange stays open
//! across a turn; the receipts are resolved only after the turn's store commit, when what the
//! answer promises is on disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use log::warn;

use super::HandleError;
use super::Publication;
use super::link::{disconnect, open, send, take_packets};
use super::receipt::Resolver;
use crate::protocol::ProtocolVersion;
use crate::protocol::{Packet, PacketId, PubResponse, Publish, QoS, ReasonCode, encode};
use crate::router::{LinkId, Router};

pub(crate) struct Publisher {
    link: LinkId,
    next_id: u16,
    /// Receipts of publications the router has not answered yet, by packet id. Empty between
    /// turns: the router answers within the call that hands it the PUBLISH.
    awaiting: HashMap<u16, Option<Resolver>>,
    /// Answers taken this turn, resolved after the store's commit.
    answered: Vec<(Resolver, Result<(), HandleError>)>,
}

impl Publisher {
    pub(crate) fn open(router: &mut Router, token: usize, now: Instant) -> Publisher {
        Publisher {
            link: open(router, token, "publisher", u16::MAX, now),
            next_id: 0,
            awaiting: HashMap::new(),
            answered: Vec::new(),
        }
    }

    pub(crate) fn is_open(&self, router: &Router) -> bool {
        !router.wants_close(self.link)
    }

    /// Checks what the router would refuse by closing the link, then publishes.
    pub(crate) fn publish(
        &mut self,
        router: &mut Router,
        publication: Publication,
        receipt: Option<Resolver>,
        now: Instant,
    ) {
        let mut properties = publication.properties;
        // Per-connection properties; a host's publication has no connection to name.
        properties.topic_alias = None;
        properties.subscription_identifiers.clear();
        let config = router.config();
        let refusal = if publication.retain && !config.retain_available {
            Some(HandleError::Refused(ReasonCode::RETAIN_NOT_SUPPORTED))
        } else if config.message_size_limit > 0
            && publication.payload.len() > config.message_size_limit as usize
        {
            Some(HandleError::Refused(ReasonCode::PACKET_TOO_LARGE))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            return self.refuse(receipt, refusal);
        }
        let packet_id = match publication.qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce | QoS::ExactlyOnce => self.next_packet_id(),
        };
        let publish = Publish {
            dup: false,
            qos: if packet_id.is_some() {
                publication.qos
            } else {
                QoS::AtMostOnce
            },
            retain: publication.retain,
            topic: Arc::from(publication.topic),
            packet_id,
            properties,
            payload: publication.payload,
        };
        let packet = Packet::Publish(publish);
        let mut bytes = Vec::new();
        encode(&packet, ProtocolVersion::V5, &mut bytes);
        if bytes.len() > router.max_packet_size() as usize {
            return self.refuse(receipt, HandleError::TooLarge);
        }
        router.receive(self.link, &bytes, now);
        match packet_id {
            Some(id) => {
                self.awaiting.insert(id.get(), receipt);
                self.take_answers(router, now);
            }
            None => {
                if let Some(receipt) = receipt {
                    self.answered.push((receipt, Ok(())));
                }
            }
        }
    }

    fn refuse(&mut self, receipt: Option<Resolver>, why: HandleError) {
        warn!("A publication of the host program was refused: {why}.");
        if let Some(receipt) = receipt {
            self.answered.push((receipt, Err(why)));
        }
    }

    fn next_packet_id(&mut self) -> Option<PacketId> {
        for _ in 0..u16::MAX {
            self.next_id = self.next_id.checked_add(1).unwrap_or(1);
            if !self.awaiting.contains_key(&self.next_id) {
                return PacketId::new(self.next_id);
            }
        }
        None
    }

    /// The router's answers: PUBACK ends a QoS 1 exchange, PUBREC is answered with PUBREL at
    /// once (the router holds a QoS 2 id, one of `max_inflight_messages`, until then).
    fn take_answers(&mut self, router: &mut Router, now: Instant) {
        for packet in take_packets(router, self.link, usize::MAX, now) {
            match packet {
                Packet::PubAck(answer) => self.answered(&answer),
                Packet::PubRec(answer) => {
                    self.answered(&answer);
                    if answer.reason.0 < 0x80 {
                        let release = PubResponse::new(answer.packet_id);
                        send(router, self.link, &Packet::PubRel(release), now);
                    }
                }
                Packet::Disconnect(disconnect) => warn!(
                    "The broker ended the host program's publishing link ({:?}).",
                    disconnect.reason
                ),
                _ => {}
            }
        }
        if router.wants_close(self.link) {
            // Not routed: those receipts must not read as accepted.
            for (_, receipt) in self.awaiting.drain() {
                if let Some(receipt) = receipt {
                    let lost = HandleError::Refused(ReasonCode::UNSPECIFIED_ERROR);
                    self.answered.push((receipt, Err(lost)));
                }
            }
        }
    }

    fn answered(&mut self, answer: &PubResponse) {
        if let Some(Some(receipt)) = self.awaiting.remove(&answer.packet_id.get()) {
            let outcome = match answer.reason.0 {
                0..0x80 => Ok(()),
                _ => Err(HandleError::Refused(answer.reason)),
            };
            self.answered.push((receipt, outcome));
        }
    }

    /// After the store's commit: the receipts of this turn's publications.
    pub(crate) fn resolve(&mut self) {
        for (receipt, outcome) in self.answered.drain(..) {
            receipt.resolve(outcome);
        }
    }

    pub(crate) fn close(mut self, router: &mut Router, now: Instant) {
        self.resolve();
        disconnect(router, self.link, now);
    }
}
