//! The records of the store file and their encoding: bytes in, records out, no file touched.
//!
//! A record is framed as `length: u32 LE | crc32: u32 LE | body`, the checksum (crc32fast, the
//! IEEE polynomial) covering the body, whose first byte is the record type. Integers are
//! little-endian, strings and byte strings carry a `u32` length. Records refer to sessions by a
//! number the `Session` record gives them and to messages by a number the `Message` record gives
//! them, so a message fanned out to several sessions is written once and a session's client id
//! is not repeated in every record.

pub use decode::{Damage, decode};
pub use encode::encode;

mod decode;
mod encode;

/// A message body: written once, before the first record that refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord<'a> {
    pub id: u64,
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: u8,
    pub retain: bool,
    /// Unix time in milliseconds after which the message is not delivered; 0 for never.
    pub expires_ms: u64,
    /// MQTT 5 properties in their wire form (see `protocol::encode_message_properties`).
    pub properties: &'a [u8],
}

/// The client that published a retained message: written as a record type of its own, so a
/// file without any reads the same as before they existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord<'a> {
    pub client_id: &'a str,
    pub username: Option<&'a str>,
    /// The listener's position in the configuration, as in [`SessionRecord`].
    pub listener: u32,
}

/// A will waiting out its MQTT 5 will delay when the broker stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WillRecord<'a> {
    /// Unix time in milliseconds at which it is published.
    pub at_ms: u64,
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: u8,
    pub retain: bool,
    pub properties: &'a [u8],
}

/// What a persistent session is, apart from its subscriptions and messages; each one replaces
/// the previous record of the same session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord<'a> {
    pub session: u64,
    pub client_id: &'a str,
    pub expiry_interval: u32,
    /// The protocol level of its latest connection: 3, 4 or 5.
    pub protocol: u8,
    pub username: Option<&'a str>,
    pub listener: u32,
    /// Unix time in milliseconds at which the offline session ends; 0 while connected or for
    /// never.
    pub expires_ms: u64,
    pub will: Option<WillRecord<'a>>,
}

/// A message in a session's queue or in flight to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord<'a> {
    pub message: u64,
    pub qos: u8,
    pub retain: bool,
    pub subscription_ids: Vec<u32>,
    pub shared_group: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    Message(MessageRecord<'a>),
    /// The message is the retained message of its topic, published by `source` where that
    /// was recorded (`check_retain_source`).
    Retain {
        message: u64,
        source: Option<SourceRecord<'a>>,
    },
    /// The topic has no retained message any more.
    Unretain {
        topic: &'a str,
    },
    Session(SessionRecord<'a>),
    /// The session and everything it held are gone.
    SessionEnd {
        session: u64,
    },
    /// Adds or replaces the session's subscription to `filter`. `options` is the MQTT 5
    /// subscription options byte; `identifier` 0 means none.
    Subscribe {
        session: u64,
        filter: &'a str,
        options: u8,
        identifier: u32,
    },
    Unsubscribe {
        session: u64,
        filter: &'a str,
    },
    /// Appended to the session's queue as entry `entry`.
    Queue {
        session: u64,
        entry: u64,
        delivery: DeliveryRecord<'a>,
    },
    /// Entry `entry` left the queue (sent, dropped, expired or handed to another member).
    Unqueue {
        session: u64,
        entry: u64,
    },
    /// Sent with `packet_id`, its acknowledgement awaited.
    Flight {
        session: u64,
        packet_id: u16,
        delivery: DeliveryRecord<'a>,
    },
    /// QoS 2: PUBREC came, PUBREL sent; PUBCOMP awaited.
    Released {
        session: u64,
        packet_id: u16,
    },
    /// The delivery with `packet_id` is finished (or handed to another member).
    Landed {
        session: u64,
        packet_id: u16,
    },
    /// An inbound QoS 2 message was delivered and its PUBREL is awaited.
    Inbound {
        session: u64,
        packet_id: u16,
    },
    InboundDone {
        session: u64,
        packet_id: u16,
    },
}

/// Framing overhead of every record: length and checksum.
pub const FRAME: usize = 8;
/// Records are at most this large: a maximal MQTT message plus its topic and properties.
/// A larger length can only be damage, and is not allocated for.
pub const MAX_RECORD: usize = 300 * 1024 * 1024;

mod kind {
    pub const MESSAGE: u8 = 1;
    pub const RETAIN: u8 = 2;
    pub const UNRETAIN: u8 = 3;
    pub const SESSION: u8 = 4;
    pub const SESSION_END: u8 = 5;
    pub const SUBSCRIBE: u8 = 6;
    pub const UNSUBSCRIBE: u8 = 7;
    pub const QUEUE: u8 = 8;
    pub const UNQUEUE: u8 = 9;
    pub const FLIGHT: u8 = 10;
    pub const RELEASED: u8 = 11;
    pub const LANDED: u8 = 12;
    pub const INBOUND: u8 = 13;
    pub const INBOUND_DONE: u8 = 14;
    pub const RETAIN_FROM: u8 = 15;
}
