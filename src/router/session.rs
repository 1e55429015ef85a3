//! A client's session: the state that outlives one network connection when clean session is 0.
//!
//! It holds the outbound side of QoS delivery (the in-flight window and the bounded queue behind
//! it) and the inbound QoS 2 packet ids awaiting PUBREL. Subscriptions live in the router's
//! subscription table, keyed by the session's key.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::message::Message;
use super::persist::Change;
use super::retained_backlog::Backlogs;
use crate::auth::ClientAcl;
use crate::config::{Config, QueueFullPolicy};
use crate::protocol::{PacketId, ProtocolVersion, QoS, Will};

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

/// Session expiry interval meaning "never expires" (MQTT 5 section 3.1.2.11.2); what a 3.x
/// client with clean session 0 gets.
pub const NEVER_EXPIRES: u32 = u32::MAX;

pub struct Session {
    pub client_id: Arc<str>,
    /// Seconds the session outlives its connection: 0 for clean session (and MQTT 5's default),
    /// [`NEVER_EXPIRES`] for a 3.x persistent session.
    pub expiry_interval: u32,
    /// When an offline session with a finite expiry interval ends.
    pub expires_at: Option<Instant>,
    /// An MQTT 5 will waiting out its will delay interval; cancelled when the client resumes the
    /// session first [MQTT-3.1.3-9].
    pub pending_will: Option<Box<(Instant, Will)>>,
    /// The key of the link currently attached, if the client is online.
    pub link: Option<usize>,
    /// The protocol of the client's latest connection, which decides how overlapping
    /// subscriptions deliver while it is offline too.
    pub protocol: ProtocolVersion,
    /// QoS 1 and 2 deliveries in flight at once: the broker's limit, lowered to the client's
    /// receive maximum [MQTT-3.3.4-9].
    pub window: u16,
    /// Payload bytes in flight at once (`max_inflight_bytes`); 0 is no limit. A delivery may
    /// start while fewer are in flight, so one larger than the limit still goes, alone.
    pub window_bytes: usize,
    /// Outbound deliveries awaiting acknowledgement, in the order they were sent (which is the
    /// order they are re-sent in on reconnect). Bounded by the in-flight window, so a linear
    /// search per acknowledgement is cheap and acknowledgements usually match the front.
    /// Changed only through `push_flight`, `remove_flight` and `release_flight`, which keep
    /// `inflight_bytes`.
    pub inflight: VecDeque<(PacketId, Flight)>,
    /// Payload bytes of the in-flight deliveries that still hold their message (all but the
    /// released QoS 2 ones, whose payload the client has acknowledged receiving).
    pub inflight_bytes: usize,
    pub queue: VecDeque<Queued>,
    /// Retained messages owed to new wildcard subscriptions, sent after the queue.
    pub retained_backlog: Backlogs,
    /// Payload bytes in `queue`, for the byte bound.
    pub queued_bytes: usize,
    /// QoS 0 messages in `queue`: a full queue looks for one to evict only when there is one,
    /// so a queue full of QoS 1 refuses a message in constant time, not by a scan of it.
    pub queued_qos0: usize,
    /// Inbound QoS 2 packet ids whose PUBLISH was delivered and whose PUBREL has not come:
    /// a re-sent PUBLISH with one of these ids is not delivered again [MQTT-4.3.3-2]. Bounded by
    /// the 65,535 possible ids.
    pub inbound_qos2: InboundQos2,
    next_packet_id: u16,
    /// Messages dropped because the queue was full, since the session began.
    pub dropped: u64,
    /// While connected: when the queue first dropped a message since the client last took
    /// one, for `slow_consumer_timeout`.
    pub full_since: Option<std::time::Instant>,
    /// The rights compiled from the ACL file when the client last connected (or the file was
    /// reloaded); `None` without an ACL file, so a delivery costs one branch then. Boxed, as
    /// most brokers have no ACL file: it would make every session 32 bytes larger.
    pub acl: Option<Box<ClientAcl>>,
    /// Who the client last connected as: its username and listener, for recompiling `acl`.
    pub username: Option<Arc<str>>,
    pub listener: usize,
    /// Queue QoS 0 while offline even without `queue_qos0_messages`: a lazy bridge's local
    /// session, as mosquitto queues for those. Not stored; the bridge sets it at every start.
    pub queue_qos0: bool,
    /// Its number in the persistence store; 0 when it is not stored (persistence off, or a
    /// session that ends with its connection), and then nothing is journaled.
    pub store_id: u64,
    /// The last queue entry number given out, for [`Queued::entry`].
    pub last_entry: u64,
    /// What changed since the store last took this session's changes.
    pub journal: Vec<Change>,
    /// The queue and window room counted against the memory budget (see `memory_use`); far
    /// below 4 GiB, since the queue is bounded by `max_queued_messages`.
    pub charged_entries: u32,
}

impl Session {
    pub fn new(client_id: Arc<str>, expiry_interval: u32) -> Session {
        Session {
            client_id,
            expiry_interval,
            expires_at: None,
            pending_will: None,
            link: None,
            protocol: ProtocolVersion::V3_1_1,
            window: 1,
            window_bytes: 0,
            inflight: VecDeque::new(),
            inflight_bytes: 0,
            queue: VecDeque::new(),
            retained_backlog: Backlogs::default(),
            queued_bytes: 0,
            queued_qos0: 0,
            inbound_qos2: InboundQos2::default(),
            next_packet_id: 0,
            dropped: 0,
            full_since: None,
            acl: None,
            username: None,
            listener: 0,
            queue_qos0: false,
            store_id: 0,
            last_entry: 0,
            journal: Vec::new(),
            charged_entries: 0,
        }
    }

    /// Notes a change for the store, when the session is stored.
    fn journal(&mut self, change: impl FnOnce(u64) -> Change) {
        if self.store_id != 0 {
            let id = self.store_id;
            self.journal.push(change(id));
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

    /// No more QoS 1/2 deliveries may start: the window's count or its bytes are used up.
    pub fn window_full(&self) -> bool {
        self.inflight.len() >= usize::from(self.window)
            || (self.window_bytes > 0 && self.inflight_bytes >= self.window_bytes)
    }

    pub fn push_flight(&mut self, id: PacketId, flight: Flight) {
        if let Flight::Qos1Sent(item) | Flight::Qos2Sent(item) = &flight {
            self.journal(|session| Change::InFlight {
                session,
                packet_id: id,
                item: item.clone(),
            });
        }
        self.inflight_bytes += flight.held_bytes();
        self.inflight.push_back((id, flight));
    }

    pub fn remove_flight(&mut self, position: usize) {
        if let Some((packet_id, flight)) = self.inflight.remove(position) {
            self.inflight_bytes -= flight.held_bytes();
            self.journal(|session| Change::Landed { session, packet_id });
        }
    }

    /// PUBREC came for the delivery at `position`: only the packet id is kept, awaiting
    /// PUBCOMP. False when there is no such delivery.
    pub fn release_flight(&mut self, position: usize) -> bool {
        let Some((packet_id, flight)) = self.inflight.get_mut(position) else {
            return false;
        };
        self.inflight_bytes -= flight.held_bytes();
        *flight = Flight::Released;
        let packet_id = *packet_id;
        self.journal(|session| Change::Released { session, packet_id });
        true
    }

    pub fn flight_position(&self, id: PacketId) -> Option<usize> {
        self.inflight.iter().position(|(used, _)| *used == id)
    }

    /// Appends to the queue, applying the configured bounds and policy. QoS 0 is dropped before
    /// anything with a delivery promise: a full queue drops an incoming QoS 0 message, and an
    /// incoming QoS 1/2 message evicts the oldest queued QoS 0 one if there is one.
    pub fn enqueue(&mut self, mut item: Queued, config: &Config) -> Enqueued {
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
                QueueFullPolicy::DropNew if self.queued_qos0 == 0 => None,
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
            self.queued_qos0 -= usize::from(evicted.qos == QoS::AtMostOnce);
            self.dropped += 1;
            self.journal_unqueue(evicted.entry);
            outcome = Enqueued::Evicted;
        }
        self.queued_bytes += size;
        self.queued_qos0 += usize::from(item.qos == QoS::AtMostOnce);
        if self.store_id != 0 {
            self.last_entry += 1;
            item.entry = self.last_entry;
            self.journal(|session| Change::Queued {
                session,
                item: item.clone(),
            });
        }
        self.queue.push_back(item);
        outcome
    }

    /// Drops every queued QoS 0 message, for the memory budget; returns how many.
    pub fn shed_qos0(&mut self) -> usize {
        if self.queued_qos0 == 0 {
            return 0;
        }
        let mut shed = Vec::new();
        self.queue.retain(|item| {
            let keep = item.qos != QoS::AtMostOnce;
            if !keep {
                shed.push((item.entry, item.message.payload.len()));
            }
            keep
        });
        for &(entry, bytes) in &shed {
            self.queued_bytes -= bytes;
            self.journal_unqueue(entry);
        }
        self.queued_qos0 = 0;
        self.dropped += shed.len() as u64;
        shed.len()
    }

    pub fn dequeue(&mut self) -> Option<Queued> {
        let item = self.queue.pop_front()?;
        self.queued_bytes -= item.message.payload.len();
        self.queued_qos0 -= usize::from(item.qos == QoS::AtMostOnce);
        self.journal_unqueue(item.entry);
        Some(item)
    }

    fn journal_unqueue(&mut self, entry: u64) {
        if entry != 0 {
            self.journal(|session| Change::Unqueued { session, entry });
        }
    }

    /// An inbound QoS 2 message was delivered; its PUBREL is awaited.
    pub fn inbound_insert(&mut self, packet_id: u16) -> bool {
        let new = self.inbound_qos2.insert(packet_id);
        if new {
            self.journal(|session| Change::Inbound { session, packet_id });
        }
        new
    }

    pub fn inbound_remove(&mut self, packet_id: u16) -> bool {
        let known = self.inbound_qos2.remove(packet_id);
        if known {
            self.journal(|session| Change::InboundDone { session, packet_id });
        }
        known
    }
}

impl Session {
    /// Removes and returns every not-yet-acknowledged delivery that came through a shared
    /// subscription, in order, so that another member of its group can have it (MQTT 5 section
    /// 4.8.2: a member that leaves does not keep the group's messages).
    pub fn take_shared(&mut self) -> Vec<Queued> {
        let mut taken = Vec::new();
        let mut landed = Vec::new();
        self.inflight.retain(|(id, flight)| match flight {
            Flight::Qos1Sent(item) | Flight::Qos2Sent(item) if item.shared_group.is_some() => {
                taken.push(item.clone());
                landed.push(*id);
                false
            }
            _ => true,
        });
        for packet_id in landed {
            self.journal(|session| Change::Landed { session, packet_id });
        }
        self.inflight_bytes = self.inflight.iter().map(|(_, f)| f.held_bytes()).sum();
        let (shared, own): (VecDeque<Queued>, VecDeque<Queued>) = self
            .queue
            .drain(..)
            .partition(|item| item.shared_group.is_some());
        self.queue = own;
        for item in &shared {
            self.journal_unqueue(item.entry);
        }
        self.queued_bytes = self
            .queue
            .iter()
            .map(|item| item.message.payload.len())
            .sum();
        self.queued_qos0 = self
            .queue
            .iter()
            .filter(|item| item.qos == QoS::AtMostOnce)
            .count();
        taken.extend(shared);
        taken
    }
}

/// The inbound QoS 2 packet ids awaiting PUBREL. Allocated on first use: most sessions never
/// receive QoS 2, and an empty inline set would cost every idle client 48 bytes.
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

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::*;

    /// Every client, idle or not, has a session: its size is much of what an idle connection
    /// costs the broker. Raise this only with a reason.
    #[test]
    fn a_session_stays_small() {
        assert!(
            size_of::<Session>() <= 280,
            "Session is {} bytes",
            size_of::<Session>()
        );
    }
}
