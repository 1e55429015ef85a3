//! A client's session: the state that outlives one network connection when clean session is 0.
//!
//! It holds the outbound side of QoS delivery (the in-flight window and the bounded queue behind
//! it) and the inbound QoS 2 packet ids awaiting PUBREL, in [`Deliveries`] made at first use.
//! Subscriptions live in the router's subscription table, keyed by the session's key.

use std::sync::Arc;
use std::time::Instant;

use super::deliveries::{Deliveries, NO_DELIVERIES};
pub use super::deliveries::{Enqueued, Flight, Queued};
use super::persist::Change;
use crate::auth::ClientAcl;
use crate::protocol::{PacketId, ProtocolVersion, Will};

mod queue;

/// Session expiry interval meaning "never expires" (MQTT 5 section 3.1.2.11.2); what a 3.x
/// client with clean session 0 gets.
pub const NEVER_EXPIRES: u32 = u32::MAX;

pub struct Session {
    pub client_id: Arc<str>,
    /// Seconds the session outlives its connection: 0 for clean session (and MQTT 5's default),
    /// [`NEVER_EXPIRES`] for a 3.x persistent session.
    pub expiry_interval: u32,
    /// The queue and window room counted against the memory budget (see `memory_use`); far
    /// below 4 GiB, since the queue is bounded by `max_queued_messages`.
    pub charged_entries: u32,
    /// When an offline session with a finite expiry interval ends.
    pub expires_at: Option<Instant>,
    /// An MQTT 5 will waiting out its will delay interval; cancelled when the client resumes the
    /// session first [MQTT-3.1.3-9].
    pub pending_will: Option<Box<(Instant, Will)>>,
    /// The key of the link currently attached, if the client is online; narrowed, as a
    /// broker holds far fewer than 2^32 links (see [`Session::link`]).
    link: Option<u32>,
    /// The protocol of the client's latest connection, which decides how overlapping
    /// subscriptions deliver while it is offline too.
    pub protocol: ProtocolVersion,
    /// Queue QoS 0 while offline even without `queue_qos0_messages`: a lazy bridge's local
    /// session, as mosquitto queues for those. Not stored; the bridge sets it at every start.
    pub queue_qos0: bool,
    /// QoS 1 and 2 deliveries in flight at once: the broker's limit, lowered to the client's
    /// receive maximum [MQTT-3.3.4-9].
    pub window: u16,
    /// Payload bytes in flight at once (`max_inflight_bytes`); 0 is no limit. A delivery may
    /// start while fewer are in flight, so one larger than the limit still goes, alone.
    pub window_bytes: usize,
    /// The in-flight window, the queue and the rest of the delivery state; `None` until the
    /// session first needs one (see [`Session::delivery_mut`]).
    deliveries: Option<Box<Deliveries>>,
    /// The rights compiled from the ACL file when the client last connected (or the file was
    /// reloaded); `None` without an ACL file, so a delivery costs one branch then. Boxed, as
    /// most brokers have no ACL file: it would make every session 32 bytes larger.
    pub acl: Option<Box<ClientAcl>>,
    /// Who the client last connected as: its username and listener, for recompiling `acl`.
    pub username: Option<Arc<str>>,
    /// By position in the configuration's listeners, as a link's `listener` is.
    pub listener: u16,
    /// Its place in the persistence store; `None` when it is not stored (persistence off, or
    /// a session that ends with its connection), and then nothing is journaled. Boxed, as most
    /// sessions are never stored.
    pub store: Option<Box<Stored>>,
}

/// A stored session's place in the persistence store.
#[derive(Debug, Default)]
pub struct Stored {
    /// Its number in the store; never 0.
    pub id: u64,
    /// The last queue entry number given out, for [`Queued::entry`].
    pub last_entry: u64,
    /// What changed since the store last took this session's changes.
    pub journal: Vec<Change>,
}

impl Session {
    pub fn new(client_id: Arc<str>, expiry_interval: u32) -> Session {
        Session {
            client_id,
            expiry_interval,
            charged_entries: 0,
            expires_at: None,
            pending_will: None,
            link: None,
            protocol: ProtocolVersion::V3_1_1,
            queue_qos0: false,
            window: 1,
            window_bytes: 0,
            deliveries: None,
            acl: None,
            username: None,
            listener: 0,
            store: None,
        }
    }

    /// The key of the link currently attached, if the client is online.
    pub fn link(&self) -> Option<usize> {
        self.link.map(|key| key as usize)
    }

    /// The client is online on the link `key`. A key beyond u32 cannot occur (every link is
    /// an open connection); were it to, the session would look offline rather than reach
    /// another client.
    pub fn attach_link(&mut self, key: usize) {
        self.link = u32::try_from(key).ok();
    }

    /// The client went offline.
    pub fn detach_link(&mut self) {
        self.link = None;
    }

    /// The delivery state, empty for a session that never needed one.
    pub fn delivery(&self) -> &Deliveries {
        self.deliveries.as_deref().unwrap_or(&NO_DELIVERIES)
    }

    /// Nothing waits in the queue, so a delivery may go straight to the link. Asked on every
    /// delivery: a session without delivery state answers from the pointer alone.
    pub fn nothing_queued(&self) -> bool {
        self.deliveries.as_ref().is_none_or(|d| d.queue.is_empty())
    }

    /// Retained messages are owed to a new subscription; asked on every delivery too.
    pub fn owes_retained(&self) -> bool {
        (self.deliveries.as_ref()).is_some_and(|d| !d.retained_backlog.is_empty())
    }

    /// The delivery state, made now if the session has none: only for what adds to it.
    pub fn delivery_mut(&mut self) -> &mut Deliveries {
        self.deliveries.get_or_insert_default()
    }

    /// The delivery state if the session has one: for what only takes from it or resets it.
    pub fn existing_delivery_mut(&mut self) -> Option<&mut Deliveries> {
        self.deliveries.as_deref_mut()
    }

    /// Its number in the persistence store; 0 when it is not stored.
    pub fn store_id(&self) -> u64 {
        self.store.as_ref().map_or(0, |store| store.id)
    }

    /// Notes a change for the store, when the session is stored.
    pub fn journal(&mut self, change: impl FnOnce(u64) -> Change) {
        note(&mut self.store, change);
    }

    /// Notes changes for the store, when the session is stored.
    pub fn journal_all(&mut self, changes: &mut Vec<Change>) {
        if let Some(store) = &mut self.store {
            store.journal.append(changes);
        }
    }

    /// A packet id not used by any in-flight delivery. The caller guarantees the window is not
    /// full, and the window is smaller than the id space, so the search ends.
    pub fn allocate_packet_id(&mut self) -> Option<PacketId> {
        let d = self.delivery_mut();
        for _ in 0..=u16::MAX {
            d.next_packet_id = d.next_packet_id.wrapping_add(1);
            let Some(id) = PacketId::new(d.next_packet_id) else {
                continue;
            };
            if !d.inflight.iter().any(|(used, _)| *used == id) {
                return Some(id);
            }
        }
        None
    }

    /// No more QoS 1/2 deliveries may start: the window's count or its bytes are used up.
    pub fn window_full(&self) -> bool {
        let d = self.delivery();
        d.inflight.len() >= usize::from(self.window)
            || (self.window_bytes > 0 && d.inflight_bytes >= self.window_bytes)
    }

    pub fn push_flight(&mut self, id: PacketId, flight: Flight) {
        if let Flight::Qos1Sent(item) | Flight::Qos2Sent(item) = &flight {
            self.journal(|session| Change::InFlight {
                session,
                packet_id: id,
                item: item.clone(),
            });
        }
        let d = self.delivery_mut();
        d.inflight_bytes += flight.held_bytes();
        d.inflight.push_back((id, flight));
    }

    pub fn remove_flight(&mut self, position: usize) {
        let Some(d) = self.deliveries.as_deref_mut() else {
            return;
        };
        if let Some((packet_id, flight)) = d.inflight.remove(position) {
            d.inflight_bytes -= flight.held_bytes();
            self.journal(|session| Change::Landed { session, packet_id });
        }
    }

    /// PUBREC came for the delivery at `position`: only the packet id is kept, awaiting
    /// PUBCOMP. False when there is no such delivery.
    pub fn release_flight(&mut self, position: usize) -> bool {
        let Some(d) = self.deliveries.as_deref_mut() else {
            return false;
        };
        let Some((packet_id, flight)) = d.inflight.get_mut(position) else {
            return false;
        };
        d.inflight_bytes -= flight.held_bytes();
        *flight = Flight::Released;
        let packet_id = *packet_id;
        self.journal(|session| Change::Released { session, packet_id });
        true
    }

    pub fn flight_position(&self, id: PacketId) -> Option<usize> {
        self.delivery()
            .inflight
            .iter()
            .position(|(used, _)| *used == id)
    }

    /// An inbound QoS 2 message was delivered; its PUBREL is awaited.
    pub fn inbound_insert(&mut self, packet_id: u16) -> bool {
        let new = self.delivery_mut().inbound_qos2.insert(packet_id);
        if new {
            self.journal(|session| Change::Inbound { session, packet_id });
        }
        new
    }

    pub fn inbound_remove(&mut self, packet_id: u16) -> bool {
        let known = self
            .existing_delivery_mut()
            .is_some_and(|d| d.inbound_qos2.remove(packet_id));
        if known {
            self.journal(|session| Change::InboundDone { session, packet_id });
        }
        known
    }
}

/// Notes a change for the store, when the session is stored; a function of the field rather
/// than a method, so that it can be called while the delivery state is borrowed.
fn note(store: &mut Option<Box<Stored>>, change: impl FnOnce(u64) -> Change) {
    if let Some(stored) = store {
        stored.journal.push(change(stored.id));
    }
}

fn note_unqueue(store: &mut Option<Box<Stored>>, entry: u64) {
    if entry != 0 {
        note(store, |session| Change::Unqueued { session, entry });
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
        // 112: the delivery state and the store's fields are boxed, made at first use; the
        // link's key and the listener are narrowed.
        assert!(
            size_of::<Session>() <= 112,
            "Session is {} bytes",
            size_of::<Session>()
        );
    }
}
