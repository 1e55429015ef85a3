//! The router's changes as store records: message bodies written once per store file, times
//! turned into Unix milliseconds.

use std::sync::Arc;

use crate::protocol::{ProtocolVersion, encode_message_properties, subscription_options_byte};
use crate::router::persist::{Change, SessionMeta};
use crate::router::{Clocks, Message, Queued as Delivery};
use crate::store::record::{self, Record};
use crate::store::{DeliveryRecord, MessageRecord, SessionRecord, SourceRecord, WillRecord};

/// Numbers messages as they are first written to the current file.
pub struct Numbering {
    /// The last number given out.
    pub last: u64,
    /// Numbers below this belong to an earlier file, and their message is written again.
    pub file_start: u64,
    /// Message bodies written, for the statistics.
    pub messages_written: u64,
}

/// Scratch space reused for every record's property block.
#[derive(Default)]
pub struct Encoder {
    properties: Vec<u8>,
    will_properties: Vec<u8>,
}

impl Encoder {
    /// Appends the records of `change` (a message body first, if it is new to the file).
    pub fn encode(
        &mut self,
        change: &Change,
        numbering: &mut Numbering,
        clocks: &Clocks,
        out: &mut Vec<u8>,
    ) {
        match change {
            Change::Retained {
                message, source, ..
            } => {
                let id = self.message(message, numbering, clocks, out);
                let source = source.as_ref().map(|s| SourceRecord {
                    client_id: &s.client_id,
                    username: s.username.as_deref(),
                    listener: u32::from(s.listener),
                });
                record::encode(
                    &Record::Retain {
                        message: id,
                        source,
                    },
                    out,
                );
            }
            Change::RetainedCleared { topic, .. } => {
                record::encode(&Record::Unretain { topic }, out);
            }
            Change::Session(meta) => self.session(meta, clocks, out),
            Change::SessionEnded { session, .. } => {
                record::encode(&Record::SessionEnd { session: *session }, out);
            }
            Change::Subscribed {
                session,
                filter,
                options,
                identifier,
            } => record::encode(
                &Record::Subscribe {
                    session: *session,
                    filter,
                    options: subscription_options_byte(*options),
                    identifier: identifier.unwrap_or(0),
                },
                out,
            ),
            Change::Unsubscribed { session, filter } => record::encode(
                &Record::Unsubscribe {
                    session: *session,
                    filter,
                },
                out,
            ),
            Change::Queued { session, item } => {
                let delivery = self.delivery(item, numbering, clocks, out);
                let record = Record::Queue {
                    session: *session,
                    entry: item.entry,
                    delivery,
                };
                record::encode(&record, out);
            }
            Change::Unqueued { session, entry } => record::encode(
                &Record::Unqueue {
                    session: *session,
                    entry: *entry,
                },
                out,
            ),
            Change::InFlight {
                session,
                packet_id,
                item,
            } => {
                let delivery = self.delivery(item, numbering, clocks, out);
                let record = Record::Flight {
                    session: *session,
                    packet_id: packet_id.get(),
                    delivery,
                };
                record::encode(&record, out);
            }
            Change::Released { session, packet_id } => record::encode(
                &Record::Released {
                    session: *session,
                    packet_id: packet_id.get(),
                },
                out,
            ),
            Change::Landed { session, packet_id } => record::encode(
                &Record::Landed {
                    session: *session,
                    packet_id: packet_id.get(),
                },
                out,
            ),
            Change::Inbound { session, packet_id } => record::encode(
                &Record::Inbound {
                    session: *session,
                    packet_id: *packet_id,
                },
                out,
            ),
            Change::InboundDone { session, packet_id } => record::encode(
                &Record::InboundDone {
                    session: *session,
                    packet_id: *packet_id,
                },
                out,
            ),
        }
    }

    /// The message's number in this file, writing its body first if it has none yet.
    fn message(
        &mut self,
        message: &Arc<Message>,
        numbering: &mut Numbering,
        clocks: &Clocks,
        out: &mut Vec<u8>,
    ) -> u64 {
        let known = message.stored.get();
        if known != 0 && known >= numbering.file_start {
            return known;
        }
        numbering.last += 1;
        let id = numbering.last;
        message.stored.set(id);
        numbering.messages_written += 1;
        self.properties.clear();
        encode_message_properties(&message.properties, &mut self.properties);
        let record = Record::Message(MessageRecord {
            id,
            topic: &message.topic,
            payload: &message.payload,
            qos: message.qos.bits(),
            retain: message.retain,
            expires_ms: message.expires_at.map_or(0, |at| clocks.unix_ms(at)),
            properties: &self.properties,
        });
        record::encode(&record, out);
        id
    }

    fn delivery<'a>(
        &mut self,
        item: &'a Delivery,
        numbering: &mut Numbering,
        clocks: &Clocks,
        out: &mut Vec<u8>,
    ) -> DeliveryRecord<'a> {
        DeliveryRecord {
            message: self.message(&item.message, numbering, clocks, out),
            qos: item.qos.bits(),
            retain: item.retain,
            subscription_ids: item.subscription_ids.clone(),
            shared_group: item.shared_group.as_deref(),
        }
    }

    fn session(&mut self, meta: &SessionMeta, clocks: &Clocks, out: &mut Vec<u8>) {
        self.will_properties.clear();
        let will = meta.will.as_ref().map(|(at, will)| {
            encode_message_properties(&will.properties, &mut self.will_properties);
            (clocks.unix_ms(*at), will)
        });
        let record = Record::Session(SessionRecord {
            session: meta.session,
            client_id: &meta.client_id,
            expiry_interval: meta.expiry_interval,
            protocol: match meta.protocol {
                ProtocolVersion::V3_1 => 3,
                ProtocolVersion::V3_1_1 => 4,
                ProtocolVersion::V5 => 5,
            },
            username: meta.username.as_deref(),
            listener: u32::try_from(meta.listener).unwrap_or(0),
            expires_ms: meta.expires_at.map_or(0, |at| clocks.unix_ms(at)),
            will: will.map(|(at_ms, will)| WillRecord {
                at_ms,
                topic: &will.topic,
                payload: &will.payload,
                qos: will.qos.bits(),
                retain: will.retain,
                properties: &self.will_properties,
            }),
        });
        record::encode(&record, out);
    }
}
