//! An application message as the broker stores and forwards it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::protocol::{Properties, Publish, QoS, Will};

/// One published message. Shared by reference count between the retained store, every queue it
/// waits in and every in-flight window holding it, so fan-out to N subscribers copies no payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: Arc<str>,
    pub payload: Arc<[u8]>,
    /// The QoS it was published with; each delivery uses the lower of this and the granted QoS
    /// (see [`Message::delivery_qos`]).
    pub qos: QoS,
    /// The RETAIN flag as published.
    pub retain: bool,
    /// The properties forwarded to MQTT 5 subscribers (the topic alias and subscription
    /// identifiers belong to one connection and are not kept).
    pub properties: Properties,
    /// From the message expiry interval: after this instant the message is not delivered
    /// (MQTT 5 section 3.3.2.3.3).
    pub expires_at: Option<Instant>,
    /// The message's number in the persistence store once it has been written there.
    pub stored: StoreMark,
    /// Its bytes, counted against the memory budget for as long as any holder keeps it.
    pub charge: Charge,
}

/// A message's share of the memory budget (`memory_limit`): added when the router takes the
/// message, or when a reload sets a budget while it is held, and taken back when the last
/// queue, window or store holding it lets go. Counting at the message rather than at each
/// holder counts a message fanned out to a thousand queues once, as it is held once. Set at
/// most once, through a shared reference: a message already shared may need counting. Atomic
/// only because the host program may hold a message on another thread; the router alone
/// charges.
#[derive(Debug, Default)]
pub struct Charge(OnceLock<(Arc<AtomicUsize>, usize)>);

impl Charge {
    pub fn new(meter: &Arc<AtomicUsize>, bytes: usize) -> Charge {
        let charge = Charge::default();
        charge.set(meter, bytes);
        charge
    }

    /// Counts `bytes` on `meter` for as long as the message lives, unless it is counted
    /// already.
    pub fn set(&self, meter: &Arc<AtomicUsize>, bytes: usize) {
        if self.0.get().is_none() && self.0.set((Arc::clone(meter), bytes)).is_ok() {
            meter.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

impl Drop for Charge {
    #[inline]
    fn drop(&mut self) {
        if let Some((meter, bytes)) = self.0.get() {
            meter.fetch_sub(*bytes, Ordering::Relaxed);
        }
    }
}

/// A copy is held separately, so it is counted again.
impl Clone for Charge {
    fn clone(&self) -> Charge {
        match self.0.get() {
            Some((meter, bytes)) => Charge::new(meter, *bytes),
            None => Charge::default(),
        }
    }
}

/// What a message costs is not part of what it is.
impl PartialEq for Charge {
    fn eq(&self, _: &Charge) -> bool {
        true
    }
}

impl Eq for Charge {}

/// The number a message was written to the persistence store under, 0 before it is: the
/// store writes a message once however many sessions hold it. Atomic only so that a message
/// can be shared across threads; the store, on the broker's one thread, alone sets it.
#[derive(Debug, Default)]
pub struct StoreMark(AtomicU64);

impl StoreMark {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, id: u64) {
        self.0.store(id, Ordering::Relaxed);
    }
}

/// A copy is a different message as far as the store is concerned.
impl Clone for StoreMark {
    fn clone(&self) -> StoreMark {
        StoreMark::default()
    }
}

/// Where a message is stored is not part of what it is.
impl PartialEq for StoreMark {
    fn eq(&self, _: &StoreMark) -> bool {
        true
    }
}

impl Eq for StoreMark {}

impl Message {
    pub fn from_publish(publish: Publish, now: Instant) -> Message {
        Message::new(
            publish.topic,
            publish.payload,
            publish.qos,
            publish.retain,
            publish.properties,
            now,
        )
    }

    /// The message a will becomes when it is published [MQTT-3.1.2-8]; its expiry runs from
    /// then.
    pub fn from_will(will: Will, now: Instant) -> Message {
        Message::new(
            will.topic,
            will.payload,
            will.qos,
            will.retain,
            will.properties,
            now,
        )
    }

    pub(super) fn new(
        topic: Arc<str>,
        payload: Arc<[u8]>,
        qos: QoS,
        retain: bool,
        mut properties: Properties,
        now: Instant,
    ) -> Message {
        // Written only when present: the first write would allocate an empty set.
        if !properties.is_empty() {
            properties.topic_alias = None;
            properties.subscription_identifiers.clear();
            properties.will_delay_interval = None;
            if properties.is_empty() {
                // Only the alias was there: keep no empty allocation in a stored message.
                properties = Properties::default();
            }
        }
        let expires_at = properties
            .message_expiry_interval
            .map(|seconds| now + Duration::from_secs(u64::from(seconds)));
        Message {
            topic,
            payload,
            qos,
            retain,
            properties,
            expires_at,
            stored: StoreMark::default(),
            charge: Charge::default(),
        }
    }

    /// The bytes this message holds: its own record, the shared topic and payload (with their
    /// reference counts), and its properties when it has any.
    pub fn footprint(&self) -> usize {
        const ARC_COUNTS: usize = 2 * size_of::<usize>();
        let properties = if self.properties.is_empty() {
            0
        } else {
            // The user properties and the rest, roughly; they are rare and small.
            256 + self
                .properties
                .user_properties
                .iter()
                .map(|(k, v)| k.len() + v.len() + 64)
                .sum::<usize>()
        };
        size_of::<Message>()
            + ARC_COUNTS
            + self.topic.len()
            + ARC_COUNTS
            + self.payload.len()
            + ARC_COUNTS
            + properties
    }

    /// The QoS a delivery through a subscription granted `granted` goes at: the lower of the
    /// two [MQTT-3.8.4-8] (3.1.1: [MQTT-3.8.4-6]), or `granted` itself with mosquitto's
    /// `upgrade_outgoing_qos`, which the operator chooses knowing it departs from that rule.
    pub fn delivery_qos(&self, granted: QoS, upgrade: bool) -> QoS {
        if upgrade {
            granted
        } else {
            self.qos.min(granted)
        }
    }

    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whole seconds of life left, sent in place of the original interval
    /// [MQTT-3.3.2-6]; rounded up so a message is never sent with 0 while still alive.
    pub fn remaining_expiry(&self, now: Instant) -> Option<u32> {
        let left = self.expires_at?.saturating_duration_since(now);
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Some(u32::try_from(seconds).unwrap_or(u32::MAX))
    }
}
