//! A client's session: the state that outlives one network connection when clean session is 0.
//!
//! It holds the outbound side of QoS delivery (the in-flight window and the bounded queue behind
//! it) and the inbound QoS 2 packet ids awaiting PUBREL. Subscriptions live in the router's
//! subscription table, keyed by the session's key.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use super::message::Message;
use crate::config::{Config, QueueFullPolicy};
use crate::protocol::{PacketId, QoS};

/// A message waiting for room in the in-flight window or in the link's output.
#[derive(Debug, Clone)]
pub struct Queued {
    pub message: Arc<Message>,
    /// The delivery QoS: the lower of the published and the granted QoS.
    pub qos: QoS,
    /// The RETAIN flag to send: set for retained messages sent on subscribe, clear on normal
    /// forwarding [MQTT-3.3.1-9].
    pub retain: bool,
}

/// The state of one outbound QoS 1 or 2 delivery: which acknowledgement is due next.
#[derive(Debug, Clone)]
pub enum Flight {
    /// QoS 1 PUBLISH sent, PUBACK awaited.
    Qos1Sent(Queued),
    /// QoS 2 PUBLISH sent, PUBREC awaited.
    Qos2Sent(Queued),
    /// QoS 2 PUBREC received and PUBREL sent, PUBCOMP awaited; the message itself is no longer
    /// needed.
    Released,
}

/// The outcome of offering a message to a full queue, for the caller's counters and log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Yes,
    /// Queued, after evicting an older message.
    Evicted,
    /// Not queued.
    Dropped,
}

pub struct Session {
    pub client_id: Arc<str>,
    /// Clean session / clean start: the session ends with its connection.
    pub clean: bool,
    /// The key of the link currently attached, if the client is online.
    pub link: Option<usize>,
    /// Outbound deliveries awaiting acknowledgement, in the order they were sent (which is the
    /// order they are re-sent in on reconnect). Bounded by the in-flight window, so a linear
    /// search per acknowledgement is cheap and acknowledgements usually match the front.
    pub inflight: VecDeque<(PacketId, Flight)>,
    pub queue: VecDeque<Queued>,
    /// Payload bytes in `queue`, for the byte bound.
    pub queued_bytes: usize,
    /// Inbound QoS 2 packet ids whose PUBLISH was delivered and whose PUBREL has not come:
    /// a re-sent PUBLISH with one of these ids is not delivered again [MQTT-4.3.3-2]. Bounded by
    /// the 65,535 possible ids.
    pub inbound_qos2: HashSet<u16>,
    next_packet_id: u16,
    /// Messages dropped because the queue was full, since the session began.
    pub dropped: u64,
}

impl Session {
    pub fn new(client_id: Arc<str>, clean: bool) -> Session {
        Session {
            client_id,
            clean,
            link: None,
            inflight: VecDeque::new(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            inbound_qos2: HashSet::new(),
            next_packet_id: 0,
            dropped: 0,
        }
    }

    /// A packet id not used by any in-flight delivery. The caller guarantees the window is not
    /// full, and the window is smaller than the id space, so the search ends.
    pub fn allocate_packet_id(&mut self) -> Option<PacketId> {
        for _ in 0..=u16::MAX {
            self.next_packet_id = self.next_packet_id.wrapping_add(1);
            let Some(id) = PacketId::new(self.next_packet_id) else {
                continue;
            };
            if !self.inflight.iter().any(|(used, _)| *used == id) {
                return Some(id);
            }
        }
        None
    }

    pub fn window_full(&self, config: &Config) -> bool {
        self.inflight.len() >= usize::from(config.max_inflight_messages)
    }

    pub fn flight_position(&self, id: PacketId) -> Option<usize> {
        self.inflight.iter().position(|(used, _)| *used == id)
    }

    /// Appends to the queue, applying the configured bounds and policy. QoS 0 is dropped before
    /// anything with a delivery promise: a full queue drops an incoming QoS 0 message, and an
    /// incoming QoS 1/2 message evicts the oldest queued QoS 0 one if there is one.
    pub fn enqueue(&mut self, item: Queued, config: &Config) -> Enqueued {
        let size = item.message.payload.len();
        let fits = |session: &Session| {
            session.queue.len() < config.max_queued_messages
                && (config.max_queued_bytes == 0
                    || session.queued_bytes + size <= config.max_queued_bytes)
        };
        let mut outcome = Enqueued::Yes;
        while !fits(self) {
            let victim = match config.queue_full_policy {
                QueueFullPolicy::DropNew if item.qos == QoS::AtMostOnce => None,
                QueueFullPolicy::DropNew => self
                    .queue
                    .iter()
                    .position(|queued| queued.qos == QoS::AtMostOnce),
                QueueFullPolicy::DropOldest => (!self.queue.is_empty()).then_some(0),
            };
            let Some(evicted) = victim.and_then(|index| self.queue.remove(index)) else {
                self.dropped += 1;
                return Enqueued::Dropped;
            };
            self.queued_bytes -= evicted.message.payload.len();
            self.dropped += 1;
            outcome = Enqueued::Evicted;
        }
        self.queued_bytes += size;
        self.queue.push_back(item);
        outcome
    }

    pub fn dequeue(&mut self) -> Option<Queued> {
        let item = self.queue.pop_front()?;
        self.queued_bytes -= item.message.payload.len();
        Some(item)
    }
}
