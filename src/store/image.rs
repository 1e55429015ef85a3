//! The state a store's records describe, rebuilt by applying them in order.
//!
//! Replay is forgiving: a record about a session or message the file does not have (which a
//! damaged file can leave) is skipped, never a reason to stop, so every record that can be
//! applied is. Messages nobody refers to after the replay are dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::record::{
    DeliveryRecord, MessageRecord, Record, SessionRecord, SourceRecord, WillRecord,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub expires_ms: u64,
    pub properties: Vec<u8>,
}

/// Who published a retained message (`check_retain_source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSource {
    pub client_id: String,
    pub username: Option<String>,
    pub listener: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWill {
    pub at_ms: u64,
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub properties: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDelivery {
    pub message: u64,
    pub qos: u8,
    pub retain: bool,
    pub subscription_ids: Vec<u32>,
    pub shared_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredFlight {
    /// PUBLISH sent, its PUBACK or PUBREC awaited.
    Sent(StoredDelivery),
    /// PUBREL sent, PUBCOMP awaited.
    Released,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredSession {
    pub client_id: String,
    pub expiry_interval: u32,
    pub protocol: u8,
    pub username: Option<String>,
    pub listener: u32,
    pub expires_ms: u64,
    pub will: Option<StoredWill>,
    /// Filter to (MQTT 5 options byte, subscription identifier or 0).
    pub subscriptions: BTreeMap<String, (u8, u32)>,
    pub queue: VecDeque<(u64, StoredDelivery)>,
    /// In the order they were sent, which is the order they are sent again.
    pub inflight: Vec<(u16, StoredFlight)>,
    pub inbound_qos2: BTreeSet<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Image {
    pub messages: HashMap<u64, StoredMessage>,
    /// Topic to message number.
    pub retained: BTreeMap<String, u64>,
    /// Topic to who published its retained message, where that was recorded.
    pub retained_sources: BTreeMap<String, StoredSource>,
    pub sessions: BTreeMap<u64, StoredSession>,
    /// Records that referred to something the file did not have.
    pub skipped: usize,
}

impl Image {
    pub fn from_records<'a>(records: impl IntoIterator<Item = Record<'a>>) -> Image {
        let mut image = Image::default();
        for record in records {
            if !image.apply(record) {
                image.skipped += 1;
            }
        }
        image.drop_unreferenced();
        image
    }

    /// Applies one record; false when it refers to something unknown.
    pub fn apply(&mut self, record: Record<'_>) -> bool {
        match record {
            Record::Message(m) => {
                self.messages.insert(m.id, stored_message(&m));
                true
            }
            Record::Retain { message, source } => match self.messages.get(&message) {
                Some(m) => {
                    let topic = m.topic.clone();
                    match source {
                        Some(source) => {
                            self.retained_sources
                                .insert(topic.clone(), stored_source(&source));
                        }
                        None => {
                            self.retained_sources.remove(&topic);
                        }
                    }
                    self.retained.insert(topic, message);
                    true
                }
                None => false,
            },
            Record::Unretain { topic } => {
                self.retained.remove(topic);
                self.retained_sources.remove(topic);
                true
            }
            Record::Session(s) => {
                self.apply_session(s);
                true
            }
            Record::SessionEnd { session } => self.sessions.remove(&session).is_some(),
            Record::Subscribe {
                session,
                filter,
                options,
                identifier,
            } => self.with_session(session, |s| {
                s.subscriptions
                    .insert(filter.to_owned(), (options, identifier));
            }),
            Record::Unsubscribe { session, filter } => self.with_session(session, |s| {
                s.subscriptions.remove(filter);
            }),
            Record::Queue {
                session,
                entry,
                delivery,
            } => {
                let delivery = stored_delivery(&delivery);
                self.messages.contains_key(&delivery.message)
                    && self.with_session(session, |s| s.queue.push_back((entry, delivery)))
            }
            Record::Unqueue { session, entry } => self.with_session(session, |s| {
                if let Some(at) = s.queue.iter().position(|(e, _)| *e == entry) {
                    s.queue.remove(at);
                }
            }),
            Record::Flight {
                session,
                packet_id,
                delivery,
            } => {
                let delivery = stored_delivery(&delivery);
                self.messages.contains_key(&delivery.message)
                    && self.with_session(session, |s| {
                        s.inflight.retain(|(id, _)| *id != packet_id);
                        s.inflight.push((packet_id, StoredFlight::Sent(delivery)));
                    })
            }
            // A snapshot writes a released delivery as this record alone.
            Record::Released { session, packet_id } => self.with_session(session, |s| {
                match s.inflight.iter_mut().find(|(id, _)| *id == packet_id) {
                    Some((_, flight)) => *flight = StoredFlight::Released,
                    None => s.inflight.push((packet_id, StoredFlight::Released)),
                }
            }),
            Record::Landed { session, packet_id } => self.with_session(session, |s| {
                s.inflight.retain(|(id, _)| *id != packet_id);
            }),
            Record::Inbound { session, packet_id } => self.with_session(session, |s| {
                s.inbound_qos2.insert(packet_id);
            }),
            Record::InboundDone { session, packet_id } => self.with_session(session, |s| {
                s.inbound_qos2.remove(&packet_id);
            }),
        }
    }

    fn with_session(&mut self, session: u64, change: impl FnOnce(&mut StoredSession)) -> bool {
        match self.sessions.get_mut(&session) {
            Some(s) => {
                change(s);
                true
            }
            None => false,
        }
    }

    /// A session record replaces what the session is but keeps what it holds.
    fn apply_session(&mut self, s: SessionRecord<'_>) {
        let entry = self.sessions.entry(s.session).or_default();
        entry.client_id = s.client_id.to_owned();
        entry.expiry_interval = s.expiry_interval;
        entry.protocol = s.protocol;
        entry.username = s.username.map(str::to_owned);
        entry.listener = s.listener;
        entry.expires_ms = s.expires_ms;
        entry.will = s.will.as_ref().map(stored_will);
    }

    fn drop_unreferenced(&mut self) {
        let mut used: BTreeSet<u64> = self.retained.values().copied().collect();
        for session in self.sessions.values() {
            used.extend(session.queue.iter().map(|(_, d)| d.message));
            used.extend(session.inflight.iter().filter_map(|(_, f)| match f {
                StoredFlight::Sent(d) => Some(d.message),
                StoredFlight::Released => None,
            }));
        }
        self.messages.retain(|id, _| used.contains(id));
    }
}

fn stored_message(m: &MessageRecord<'_>) -> StoredMessage {
    StoredMessage {
        topic: m.topic.to_owned(),
        payload: m.payload.to_vec(),
        qos: m.qos,
        retain: m.retain,
        expires_ms: m.expires_ms,
        properties: m.properties.to_vec(),
    }
}

fn stored_will(w: &WillRecord<'_>) -> StoredWill {
    StoredWill {
        at_ms: w.at_ms,
        topic: w.topic.to_owned(),
        payload: w.payload.to_vec(),
        qos: w.qos,
        retain: w.retain,
        properties: w.properties.to_vec(),
    }
}

fn stored_delivery(d: &DeliveryRecord<'_>) -> StoredDelivery {
    StoredDelivery {
        message: d.message,
        qos: d.qos,
        retain: d.retain,
        subscription_ids: d.subscription_ids.clone(),
        shared_group: d.shared_group.map(str::to_owned),
    }
}

fn stored_source(source: &SourceRecord<'_>) -> StoredSource {
    StoredSource {
        client_id: source.client_id.to_owned(),
        username: source.username.map(str::to_owned),
        listener: source.listener,
    }
}
