//! Loading the state a persistence store held into a router that has no clients yet: retained
//! messages, and every stored session offline, with its subscriptions, queue, deliveries in
//! flight (sent again with DUP when the client returns) and inbound QoS 2 packet ids.
//!
//! Times come in as Unix milliseconds and are turned into instants against the caller's pair
//! of clocks, so expiry and will delays keep running across the restart in wall-clock time; a
//! deadline that passed while the broker was down comes due at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::warn;

use super::Router;
use super::lifecycle::offline_lifetime;
use super::message::{Charge, Message};
use super::retain::RetainSource;
use super::session::{Flight, Queued, Session, Stored};
use super::shared::{self, Member};
use crate::protocol::{
    PacketId, ProtocolVersion, QoS, Will, decode_message_properties, subscription_options_from_byte,
};
use crate::store::{Image, StoredDelivery, StoredFlight, StoredMessage, StoredSession};
use crate::topic::TopicFilter;

/// What a restore brought back, for the log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    pub retained: usize,
    pub sessions: usize,
    /// Messages waiting in queues or in flight.
    pub deliveries: usize,
    /// Sessions and messages that had expired while the broker was down, or that did not
    /// decode.
    pub discarded: usize,
}

/// The two clocks at one moment, to turn stored Unix times into instants.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    pub now: Instant,
    pub unix_ms: u64,
}

impl Clocks {
    /// The instant of Unix time `ms`; a past one is `now`.
    pub fn instant(&self, ms: u64) -> Instant {
        self.now + Duration::from_millis(ms.saturating_sub(self.unix_ms))
    }

    /// The Unix time of `at`, in milliseconds (at least 1, since 0 means "none" in the store).
    pub fn unix_ms(&self, at: Instant) -> u64 {
        let ms = match at.checked_duration_since(self.now) {
            Some(ahead) => self.unix_ms.saturating_add(millis(ahead)),
            None => self.unix_ms.saturating_sub(millis(self.now - at)),
        };
        ms.max(1)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Router {
    /// Loads `image`. Called once, before any client connects and after the password and
    /// ACL files are set, so each session gets its rights.
    pub fn restore(&mut self, image: &Image, clocks: Clocks) -> Restored {
        self.now = clocks.now;
        let mut done = Restored::default();
        let mut messages = Messages {
            image,
            clocks,
            made: HashMap::new(),
            failed: 0,
            meter: self.memory.meter(),
        };
        for (topic, id) in &image.retained {
            match messages.get(*id) {
                Some(message) => {
                    let check = self.config.check_retain_source;
                    let source = image.retained_sources.get(topic).filter(|_| check);
                    let source = source
                        .map(|s| retain_source(&s.client_id, s.username.as_deref(), s.listener));
                    self.retained.update(&message, source);
                    done.retained += 1;
                }
                None => done.discarded += 1,
            }
        }
        let mut overdue_wills = Vec::new();
        for (&id, stored) in &image.sessions {
            self.next_store_id = self.next_store_id.max(id);
            if self
                .session_by_client_id
                .contains_key(stored.client_id.as_str())
                || stored.expiry_interval == 0
            {
                done.discarded += 1;
                continue;
            }
            if stored.expires_ms != 0 && stored.expires_ms <= clocks.unix_ms {
                done.discarded += 1;
                if let Some(will) = stored_will(stored) {
                    let listener = usize::try_from(stored.listener).unwrap_or(usize::MAX);
                    let source = self.records_source_from(listener).then(|| {
                        let username = stored.username.as_deref();
                        retain_source(&stored.client_id, username, stored.listener)
                    });
                    overdue_wills.push((will, source));
                }
                continue;
            }
            done.deliveries += self.restore_session(id, stored, &mut messages);
            done.sessions += 1;
        }
        // Wills whose session ended while the broker was down go out now, late rather than
        // never: the session's end is one of the moments a will is published [MQTT-3.1.2-8].
        for (will, source) in overdue_wills {
            self.publish_will(will, None, source);
        }
        done.discarded += messages.failed;
        done
    }

    fn restore_session(
        &mut self,
        id: u64,
        stored: &StoredSession,
        messages: &mut Messages<'_>,
    ) -> usize {
        let client_id: Arc<str> = stored.client_id.as_str().into();
        let mut session = Session::new(Arc::clone(&client_id), stored.expiry_interval);
        session.protocol = match stored.protocol {
            3 => ProtocolVersion::V3_1,
            5 => ProtocolVersion::V5,
            _ => ProtocolVersion::V3_1_1,
        };
        let clocks = messages.clocks;
        let expires_at = match stored.expires_ms {
            0 => offline_lifetime(
                stored.expiry_interval,
                self.config.persistent_client_expiration,
            )
            .map(|lifetime| clocks.now + lifetime),
            ms => Some(clocks.instant(ms)),
        };
        session.expires_at = expires_at;
        if let Some(will) = stored_will(stored) {
            let at = clocks.instant(stored.will.as_ref().map_or(0, |w| w.at_ms));
            session.pending_will = Some(Box::new((at, will)));
        }
        let mut deliveries = 0;
        for (packet_id, flight) in &stored.inflight {
            let Some(packet_id) = PacketId::new(*packet_id) else {
                continue;
            };
            let flight = match flight {
                StoredFlight::Released => Flight::Released,
                StoredFlight::Sent(d) => match queued(d, 0, messages) {
                    Some(item) if item.qos == QoS::ExactlyOnce => Flight::Qos2Sent(item),
                    Some(item) => Flight::Qos1Sent(item),
                    None => continue,
                },
            };
            session.push_flight(packet_id, flight);
            deliveries += 1;
        }
        let mut last_entry = 0;
        for (entry, d) in &stored.queue {
            if let Some(item) = queued(d, *entry, messages) {
                last_entry = last_entry.max(*entry);
                let d = session.delivery_mut();
                d.queued_bytes += item.message.payload.len();
                d.queued_qos0 += usize::from(item.qos == QoS::AtMostOnce);
                d.queue.push_back(item);
                deliveries += 1;
            }
        }
        for packet_id in &stored.inbound_qos2 {
            session.delivery_mut().inbound_qos2.insert(*packet_id);
        }
        // Journaling starts now: what was loaded is already in the store.
        session.store = Some(Box::new(Stored {
            id,
            last_entry,
            journal: Vec::new(),
        }));
        let pending_will = session.pending_will.as_ref().map(|p| p.0);
        super::memory_use::settle_entries(&mut self.memory.entries, &mut session);
        let key = self.sessions.insert(session);
        self.stored_sessions.insert(key);
        self.session_by_client_id.insert(client_id, key);
        for at in [expires_at, pending_will].into_iter().flatten() {
            self.session_deadlines.push(at, key);
        }
        let listener = usize::try_from(stored.listener)
            .ok()
            .filter(|l| *l < self.listener_rules.len())
            .unwrap_or(0);
        self.compile_acl(key, listener, stored.username.as_deref());
        self.restore_subscriptions(key, stored);
        deliveries
    }

    fn restore_subscriptions(&mut self, key: usize, stored: &StoredSession) {
        for (filter, (options, identifier)) in &stored.subscriptions {
            let Ok(options) = subscription_options_from_byte(*options) else {
                warn!(
                    "Stored subscription {filter:?} of {} has bad options; dropped",
                    stored.client_id
                );
                continue;
            };
            let identifier = (*identifier != 0).then_some(*identifier);
            match shared::parse(filter) {
                Some(Ok(parsed)) => {
                    let member = Member {
                        session: key,
                        options,
                        identifier,
                    };
                    self.shared.subscribe(filter, parsed, member);
                }
                Some(Err(_)) => {}
                None => {
                    if let Ok(parsed) = TopicFilter::parse(filter) {
                        self.subscriptions
                            .subscribe(key, parsed, options, identifier);
                    }
                }
            }
        }
    }
}

/// The stored messages turned into shared router messages, each once.
struct Messages<'a> {
    image: &'a Image,
    /// The memory budget's meter each message made is charged to, when there is a budget.
    meter: Option<Arc<std::sync::atomic::AtomicUsize>>,
    clocks: Clocks,
    made: HashMap<u64, Option<Arc<Message>>>,
    /// Stored messages refused: expired, or properties that do not decode.
    failed: usize,
}

impl Messages<'_> {
    fn get(&mut self, id: u64) -> Option<Arc<Message>> {
        if let Some(made) = self.made.get(&id) {
            return made.clone();
        }
        let made = self
            .image
            .messages
            .get(&id)
            .and_then(|stored| message(stored, &self.clocks))
            .map(|mut message| {
                if let Some(meter) = &self.meter {
                    message.charge = Charge::new(meter, message.footprint());
                }
                Arc::new(message)
            });
        self.failed += usize::from(made.is_none());
        self.made.insert(id, made.clone());
        made
    }
}

fn message(stored: &StoredMessage, clocks: &Clocks) -> Option<Message> {
    let properties = decode_message_properties(&stored.properties).ok()?;
    let qos = QoS::from_bits(stored.qos)?;
    let mut message = Message::new(
        stored.topic.as_str().into(),
        stored.payload.as_slice().into(),
        qos,
        stored.retain,
        properties,
        clocks.now,
    );
    message.expires_at = (stored.expires_ms != 0).then(|| clocks.instant(stored.expires_ms));
    (!message.is_expired(clocks.now)).then_some(message)
}

fn queued(d: &StoredDelivery, entry: u64, messages: &mut Messages<'_>) -> Option<Queued> {
    Some(Queued {
        message: messages.get(d.message)?,
        qos: QoS::from_bits(d.qos)?,
        retain: d.retain,
        subscription_ids: d.subscription_ids.clone(),
        shared_group: d.shared_group.as_deref().map(Into::into),
        entry,
    })
}

fn retain_source(client_id: &str, username: Option<&str>, listener: u32) -> RetainSource {
    RetainSource {
        client_id: client_id.into(),
        username: username.map(Into::into),
        listener: u16::try_from(listener).unwrap_or(u16::MAX),
    }
}

fn stored_will(stored: &StoredSession) -> Option<Will> {
    let will = stored.will.as_ref()?;
    Some(Will {
        topic: will.topic.as_str().into(),
        payload: will.payload.as_slice().into(),
        qos: QoS::from_bits(will.qos)?,
        retain: will.retain,
        properties: decode_message_properties(&will.properties).ok()?,
    })
}
