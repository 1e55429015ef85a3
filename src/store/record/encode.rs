//! Records to bytes: the frame with its length and checksum, and each record type's body.

use super::{DeliveryRecord, FRAME, Record, SessionRecord, kind};
use crate::store::wire::{put_bytes, put_opt_str, put_str};

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
        Record::Retain {
            message,
            source: None,
        } => {
            out.push(kind::RETAIN);
            out.extend_from_slice(&message.to_le_bytes());
        }
        Record::Retain {
            message,
            source: Some(source),
        } => {
            out.push(kind::RETAIN_FROM);
            out.extend_from_slice(&message.to_le_bytes());
            put_str(out, source.client_id);
            put_opt_str(out, source.username);
            out.extend_from_slice(&source.listener.to_le_bytes());
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
