//! The records of the store file and their encoding: bytes in, records out, no file touched.
//!
//! A record is framed as `length: u32 LE | crc32: u32 LE | body`, the checksum (crc32fast, the
//! IEEE polynomial) covering the body, whose first byte is the record type. Integers are
//! little-endian, strings and byte strings carry a `u32` length. Records refer to sessions by a
//! number the `Session` record gives them and to messages by a number the `Message` record gives
//! them, so a message fanned out to several sessions is written once and a session's client id
//! is not repeated in every record.

use super::wire::{Cursor, Malformed, put_bytes, put_opt_str, put_str};

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
    /// The message is the retained message of its topic.
    Retain {
        message: u64,
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
}

/// Appends the framed record to `out`.
pub fn encode(record: &Record<'_>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME]);
    encode_body(record, out);
    let body = out.get(start + FRAME..).unwrap_or_default();
    let crc = crc32fast::hash(body);
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut frame = [0; FRAME];
    frame[..4].copy_from_slice(&len.to_le_bytes());
    frame[4..].copy_from_slice(&crc.to_le_bytes());
    if let Some(slot) = out.get_mut(start..start + FRAME) {
        slot.copy_from_slice(&frame);
    }
}

fn encode_body(record: &Record<'_>, out: &mut Vec<u8>) {
    match record {
        Record::Message(m) => {
            out.push(kind::MESSAGE);
            out.extend_from_slice(&m.id.to_le_bytes());
            put_str(out, m.topic);
            put_bytes(out, m.payload);
            out.push(m.qos | (u8::from(m.retain) << 2));
            out.extend_from_slice(&m.expires_ms.to_le_bytes());
            put_bytes(out, m.properties);
        }
        Record::Retain { message } => {
            out.push(kind::RETAIN);
            out.extend_from_slice(&message.to_le_bytes());
        }
        Record::Unretain { topic } => {
            out.push(kind::UNRETAIN);
            put_str(out, topic);
        }
        Record::Session(s) => encode_session(s, out),
        Record::SessionEnd { session } => session_only(out, kind::SESSION_END, *session),
        Record::Subscribe {
            session,
            filter,
            options,
            identifier,
        } => {
            session_only(out, kind::SUBSCRIBE, *session);
            put_str(out, filter);
            out.push(*options);
            out.extend_from_slice(&identifier.to_le_bytes());
        }
        Record::Unsubscribe { session, filter } => {
            session_only(out, kind::UNSUBSCRIBE, *session);
            put_str(out, filter);
        }
        Record::Queue {
            session,
            entry,
            delivery,
        } => {
            session_only(out, kind::QUEUE, *session);
            out.extend_from_slice(&entry.to_le_bytes());
            encode_delivery(delivery, out);
        }
        Record::Unqueue { session, entry } => {
            session_only(out, kind::UNQUEUE, *session);
            out.extend_from_slice(&entry.to_le_bytes());
        }
        Record::Flight {
            session,
            packet_id,
            delivery,
        } => {
            session_packet(out, kind::FLIGHT, *session, *packet_id);
            encode_delivery(delivery, out);
        }
        Record::Released { session, packet_id } => {
            session_packet(out, kind::RELEASED, *session, *packet_id);
        }
        Record::Landed { session, packet_id } => {
            session_packet(out, kind::LANDED, *session, *packet_id);
        }
        Record::Inbound { session, packet_id } => {
            session_packet(out, kind::INBOUND, *session, *packet_id);
        }
        Record::InboundDone { session, packet_id } => {
            session_packet(out, kind::INBOUND_DONE, *session, *packet_id);
        }
    }
}

fn session_only(out: &mut Vec<u8>, kind: u8, session: u64) {
    out.push(kind);
    out.extend_from_slice(&session.to_le_bytes());
}

fn session_packet(out: &mut Vec<u8>, kind: u8, session: u64, packet_id: u16) {
    session_only(out, kind, session);
    out.extend_from_slice(&packet_id.to_le_bytes());
}

fn encode_session(s: &SessionRecord<'_>, out: &mut Vec<u8>) {
    session_only(out, kind::SESSION, s.session);
    put_str(out, s.client_id);
    out.extend_from_slice(&s.expiry_interval.to_le_bytes());
    out.push(s.protocol);
    put_opt_str(out, s.username);
    out.extend_from_slice(&s.listener.to_le_bytes());
    out.extend_from_slice(&s.expires_ms.to_le_bytes());
    match &s.will {
        None => out.push(0),
        Some(w) => {
            out.push(1);
            out.extend_from_slice(&w.at_ms.to_le_bytes());
            put_str(out, w.topic);
            put_bytes(out, w.payload);
            out.push(w.qos | (u8::from(w.retain) << 2));
            put_bytes(out, w.properties);
        }
    }
}

fn encode_delivery(d: &DeliveryRecord<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(&d.message.to_le_bytes());
    out.push(d.qos | (u8::from(d.retain) << 2));
    let count = u32::try_from(d.subscription_ids.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_le_bytes());
    for id in &d.subscription_ids {
        out.extend_from_slice(&id.to_le_bytes());
    }
    put_opt_str(out, d.shared_group);
}

/// Why a record's bytes are not a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The frame runs past the end of the bytes: a write cut short.
    Truncated,
    /// The length field is 0 or beyond [`MAX_RECORD`].
    BadLength(u32),
    BadChecksum,
    /// The checksum holds but the body does not decode (a record type from a newer format,
    /// or a writer's bug).
    BadBody(Malformed),
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::Truncated => write!(f, "record cut short"),
            Damage::BadLength(len) => write!(f, "impossible record length {len}"),
            Damage::BadChecksum => write!(f, "checksum mismatch"),
            Damage::BadBody(why) => write!(f, "undecodable record: {why}"),
        }
    }
}

/// Decodes the framed record at the start of `bytes`; returns it and its framed length.
pub fn decode(bytes: &[u8]) -> Result<(Record<'_>, usize), Damage> {
    let (Some(len), Some(crc)) = (read_u32(bytes, 0), read_u32(bytes, 4)) else {
        return Err(Damage::Truncated);
    };
    let size = usize::try_from(len).unwrap_or(usize::MAX);
    if size == 0 || size > MAX_RECORD {
        return Err(Damage::BadLength(len));
    }
    let Some(body) = bytes.get(FRAME..FRAME + size) else {
        return Err(Damage::Truncated);
    };
    if crc32fast::hash(body) != crc {
        return Err(Damage::BadChecksum);
    }
    let record = decode_body(body).map_err(Damage::BadBody)?;
    Ok((record, FRAME + size))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let four: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(four))
}

fn decode_body(body: &[u8]) -> Result<Record<'_>, Malformed> {
    let mut c = Cursor::new(body);
    let record = match c.u8()? {
        kind::MESSAGE => {
            let id = c.u64()?;
            let topic = c.str()?;
            let payload = c.bytes()?;
            let (qos, retain) = c.qos_retain()?;
            Record::Message(MessageRecord {
                id,
                topic,
                payload,
                qos,
                retain,
                expires_ms: c.u64()?,
                properties: c.bytes()?,
            })
        }
        kind::RETAIN => Record::Retain { message: c.u64()? },
        kind::UNRETAIN => Record::Unretain { topic: c.str()? },
        kind::SESSION => Record::Session(decode_session(&mut c)?),
        kind::SESSION_END => Record::SessionEnd { session: c.u64()? },
        kind::SUBSCRIBE => Record::Subscribe {
            session: c.u64()?,
            filter: c.str()?,
            options: c.u8()?,
            identifier: c.u32()?,
        },
        kind::UNSUBSCRIBE => Record::Unsubscribe {
            session: c.u64()?,
            filter: c.str()?,
        },
        kind::QUEUE => Record::Queue {
            session: c.u64()?,
            entry: c.u64()?,
            delivery: decode_delivery(&mut c)?,
        },
        kind::UNQUEUE => Record::Unqueue {
            session: c.u64()?,
            entry: c.u64()?,
        },
        kind::FLIGHT => Record::Flight {
            session: c.u64()?,
            packet_id: c.u16()?,
            delivery: decode_delivery(&mut c)?,
        },
        kind::RELEASED => Record::Released {
            session: c.u64()?,
            packet_id: c.u16()?,
        },
        kind::LANDED => Record::Landed {
            session: c.u64()?,
            packet_id: c.u16()?,
        },
        kind::INBOUND => Record::Inbound {
            session: c.u64()?,
            packet_id: c.u16()?,
        },
        kind::INBOUND_DONE => Record::InboundDone {
            session: c.u64()?,
            packet_id: c.u16()?,
        },
        other => return Err(Malformed::UnknownType(other)),
    };
    c.finish()?;
    Ok(record)
}

fn decode_session<'a>(c: &mut Cursor<'a>) -> Result<SessionRecord<'a>, Malformed> {
    let session = c.u64()?;
    let client_id = c.str()?;
    let expiry_interval = c.u32()?;
    let protocol = c.u8()?;
    let username = c.opt_str()?;
    let listener = c.u32()?;
    let expires_ms = c.u64()?;
    let will = match c.u8()? {
        0 => None,
        1 => {
            let at_ms = c.u64()?;
            let topic = c.str()?;
            let payload = c.bytes()?;
            let (qos, retain) = c.qos_retain()?;
            Some(WillRecord {
                at_ms,
                topic,
                payload,
                qos,
                retain,
                properties: c.bytes()?,
            })
        }
        _ => return Err(Malformed::BadFlag),
    };
    Ok(SessionRecord {
        session,
        client_id,
        expiry_interval,
        protocol,
        username,
        listener,
        expires_ms,
        will,
    })
}

fn decode_delivery<'a>(c: &mut Cursor<'a>) -> Result<DeliveryRecord<'a>, Malformed> {
    let message = c.u64()?;
    let (qos, retain) = c.qos_retain()?;
    let count = c.u32()?;
    // Each id takes four bytes, so a count beyond what is left is damage, found before any
    // allocation it would size.
    if usize::try_from(count).map_or(true, |n| n.saturating_mul(4) > c.remaining()) {
        return Err(Malformed::Truncated);
    }
    let mut subscription_ids = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        subscription_ids.push(c.u32()?);
    }
    Ok(DeliveryRecord {
        message,
        qos,
        retain,
        subscription_ids,
        shared_group: c.opt_str()?,
    })
}
