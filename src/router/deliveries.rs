//! A session's delivery state: its in-flight window, the queue behind it, the retained
//! messages it is owed and the inbound QoS 2 ids awaiting PUBREL.
//!
//! Allocated at first use, as most clients never need it: an idle sensor, or a subscriber that
//! takes every QoS 0 message straight into its output, would otherwise carry about 150 bytes
//! of empty queues and counters for nothing.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::message::Message;
use super::retained_backlog::Backlogs;
use crate::protocol::{PacketId, QoS};

/// What [`Session::delivery`](super::session::Session::delivery) reads for a session that
/// has none: a shared empty state, so that reading never allocates.
pub static NO_DELIVERIES: Deliveries = Deliveries::EMPTY;

/// A message waiting for room in the in-flight window or in the link's output.
#[derive(Debug, Clone)]
pub struct Queued {
    pub message: Arc<Message>,
    /// The delivery QoS: the lower of the published and the granted QoS, or the granted one
    /// with `upgrade_outgoing_qos` ([`Message::delivery_qos`]).
    pub qos: QoS,
    /// The RETAIN flag to send: set for retained messages sent on subscribe, clear on normal
    /// forwarding [MQTT-3.3.1-9].
    pub retain: bool,
    /// MQTT 5 subscription identifiers of the matching subscriptions [MQTT-3.3.4-3].
    pub subscription_ids: Vec<u32>,
    /// The shared subscription group it was delivered through, so that it can be re-sent to
    /// another member if this one leaves before acknowledging it.
    pub shared_group: Option<Arc<str>>,
    /// Its number in the persistence store while it waits in a stored session's queue; 0
    /// otherwise.
    pub entry: u64,
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

impl Flight {
    /// Payload bytes this delivery holds in the window.
    pub fn held_bytes(&self) -> usize {
        match self {
            Flight::Qos1Sent(item) | Flight::Qos2Sent(item) => item.message.payload.len(),
            Flight::Released => 0,
        }
    }
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

#[derive(Debug, Default)]
pub struct Deliveries {
    /// Outbound deliveries awaiting acknowledgement, in the order they were sent (which is the
    /// order they are re-sent in on reconnect). Bounded by the in-flight window, so a linear
    /// search per acknowledgement is cheap and acknowledgements usually match the front.
    /// Changed only through the session's `push_flight`, `remove_flight` and
    /// `release_flight`, which keep `inflight_bytes`.
    pub inflight: VecDeque<(PacketId, Flight)>,
    /// Payload bytes of the in-flight deliveries that still hold their message (all but the
    /// released QoS 2 ones, whose payload the client has acknowledged receiving).
    pub inflight_bytes: usize,
    pub queue: VecDeque<Queued>,
    /// Payload bytes in `queue`, for the byte bound.
    pub queued_bytes: usize,
    /// QoS 0 messages in `queue`: a full queue looks for one to evict only when there is one,
    /// so a queue full of QoS 1 refuses a message in constant time, not by a scan of it.
    pub queued_qos0: usize,
    /// Retained messages owed to new wildcard subscriptions, sent after the queue.
    pub retained_backlog: Backlogs,
    /// Inbound QoS 2 packet ids whose PUBLISH was delivered and whose PUBREL has not come:
    /// a re-sent PUBLISH with one of these ids is not delivered again [MQTT-4.3.3-2]. Bounded by
    /// the 65,535 possible ids.
    pub inbound_qos2: InboundQos2,
    pub(super) next_packet_id: u16,
    /// Messages dropped because the queue was full, since the session began.
    pub dropped: u64,
    /// While connected: when the queue first dropped a message since the client last took
    /// one, for `slow_consumer_timeout`.
    pub full_since: Option<Instant>,
}

impl Deliveries {
    const EMPTY: Deliveries = Deliveries {
        inflight: VecDeque::new(),
        inflight_bytes: 0,
        queue: VecDeque::new(),
        queued_bytes: 0,
        queued_qos0: 0,
        retained_backlog: Backlogs::EMPTY,
        inbound_qos2: InboundQos2(None),
        next_packet_id: 0,
        dropped: 0,
        full_since: None,
    };
}

/// The inbound QoS 2 packet ids awaiting PUBREL. Allocated on first use: most sessions never
/// receive QoS 2, and an empty inline set would cost every session with deliveries 48 bytes.
#[derive(Debug, Default)]
#[allow(clippy::box_collection)]
pub struct InboundQos2(Option<Box<HashSet<u16>>>);

impl InboundQos2 {
    pub fn contains(&self, id: u16) -> bool {
        self.0.as_ref().is_some_and(|ids| ids.contains(&id))
    }

    pub fn insert(&mut self, id: u16) -> bool {
        self.0.get_or_insert_default().insert(id)
    }

    pub fn remove(&mut self, id: u16) -> bool {
        self.0.as_mut().is_some_and(|ids| ids.remove(&id))
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |ids| ids.len())
    }

    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.iter().flat_map(|ids| ids.iter().copied())
    }
}
