//! The session's queue: what waits behind the in-flight window while it is full or the client
//! is offline, bounded by `max_queued_messages` and `max_queued_bytes` with the configured
//! policy for a full queue, and what leaves it early (QoS 0 shed for the memory budget, a shared
//! subscription's messages handed to another member).

use std::collections::VecDeque;

use super::{Session, note, note_unqueue};
use crate::config::{Config, QueueFullPolicy};
use crate::protocol::QoS;
use crate::router::deliveries::{Deliveries, Enqueued, Flight, Queued};
use crate::router::persist::Change;

impl Session {
    /// Appends to the queue, applying the configured bounds and policy. QoS 0 is dropped before
    /// anything with a delivery promise: a full queue drops an incoming QoS 0 message, and an
    /// incoming QoS 1/2 message evicts the oldest queued QoS 0 one if there is one.
    pub fn enqueue(&mut self, mut item: Queued, config: &Config) -> Enqueued {
        let size = item.message.payload.len();
        let Session {
            deliveries, store, ..
        } = self;
        let d = deliveries.get_or_insert_default();
        let fits = |d: &Deliveries| {
            d.queue.len() < config.max_queued_messages
                && (config.max_queued_bytes == 0
                    || d.queued_bytes + size <= config.max_queued_bytes)
        };
        let mut outcome = Enqueued::Yes;
        while !fits(d) {
            let victim = match config.queue_full_policy {
                QueueFullPolicy::DropNew if item.qos == QoS::AtMostOnce => None,
                QueueFullPolicy::DropNew if d.queued_qos0 == 0 => None,
                QueueFullPolicy::DropNew => d
                    .queue
                    .iter()
                    .position(|queued| queued.qos == QoS::AtMostOnce),
                QueueFullPolicy::DropOldest => (!d.queue.is_empty()).then_some(0),
            };
            let Some(evicted) = victim.and_then(|index| d.queue.remove(index)) else {
                d.dropped += 1;
                return Enqueued::Dropped;
            };
            d.queued_bytes -= evicted.message.payload.len();
            d.queued_qos0 -= usize::from(evicted.qos == QoS::AtMostOnce);
            d.dropped += 1;
            note_unqueue(store, evicted.entry);
            outcome = Enqueued::Evicted;
        }
        d.queued_bytes += size;
        d.queued_qos0 += usize::from(item.qos == QoS::AtMostOnce);
        if let Some(stored) = store {
            stored.last_entry += 1;
            item.entry = stored.last_entry;
            stored.journal.push(Change::Queued {
                session: stored.id,
                item: item.clone(),
            });
        }
        d.queue.push_back(item);
        outcome
    }

    /// Drops every queued QoS 0 message, for the memory budget; returns how many.
    pub fn shed_qos0(&mut self) -> usize {
        let Session {
            deliveries, store, ..
        } = self;
        let Some(d) = deliveries.as_deref_mut().filter(|d| d.queued_qos0 > 0) else {
            return 0;
        };
        let mut shed = Vec::new();
        d.queue.retain(|item| {
            let keep = item.qos != QoS::AtMostOnce;
            if !keep {
                shed.push((item.entry, item.message.payload.len()));
            }
            keep
        });
        for &(entry, bytes) in &shed {
            d.queued_bytes -= bytes;
            note_unqueue(store, entry);
        }
        d.queued_qos0 = 0;
        d.dropped += shed.len() as u64;
        shed.len()
    }

    pub fn dequeue(&mut self) -> Option<Queued> {
        let d = self.deliveries.as_deref_mut()?;
        let item = d.queue.pop_front()?;
        d.queued_bytes -= item.message.payload.len();
        d.queued_qos0 -= usize::from(item.qos == QoS::AtMostOnce);
        note_unqueue(&mut self.store, item.entry);
        Some(item)
    }

    /// Removes and returns every not-yet-acknowledged delivery that came through a shared
    /// subscription, in order, so that another member of its group can have it (MQTT 5 section
    /// 4.8.2: a member that leaves does not keep the group's messages).
    pub fn take_shared(&mut self) -> Vec<Queued> {
        let Session {
            deliveries, store, ..
        } = self;
        let Some(d) = deliveries.as_deref_mut() else {
            return Vec::new();
        };
        let mut taken = Vec::new();
        d.inflight.retain(|(id, flight)| match flight {
            Flight::Qos1Sent(item) | Flight::Qos2Sent(item) if item.shared_group.is_some() => {
                taken.push(item.clone());
                note(store, |session| Change::Landed {
                    session,
                    packet_id: *id,
                });
                false
            }
            _ => true,
        });
        d.inflight_bytes = d.inflight.iter().map(|(_, f)| f.held_bytes()).sum();
        let (shared, own): (VecDeque<Queued>, VecDeque<Queued>) = d
            .queue
            .drain(..)
            .partition(|item| item.shared_group.is_some());
        d.queue = own;
        for item in &shared {
            note_unqueue(store, item.entry);
        }
        d.queued_bytes = d.queue.iter().map(|item| item.message.payload.len()).sum();
        d.queued_qos0 = d
            .queue
            .iter()
            .filter(|item| item.qos == QoS::AtMostOnce)
            .count();
        taken.extend(shared);
        taken
    }
}
