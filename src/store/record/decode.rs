//! Bytes to records: the frame checked (length, then checksum) before the body is decoded, and
//! what is wrong with bytes that are not a record.

use super::{
    DeliveryRecord, FRAME, MAX_RECORD, MessageRecord, Record, SessionRecord, SourceRecord,
    WillRecord, kind,
};
use crate::store::wire::{Cursor, Malformed};

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
        kind::RETAIN => Record::Retain {
            message: c.u64()?,
            source: None,
        },
        kind::RETAIN_FROM => Record::Retain {
            message: c.u64()?,
            source: Some(SourceRecord {
                client_id: c.str()?,
                username: c.opt_str()?,
                listener: c.u32()?,
            }),
        },
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
