//! The `decode` and `decode_chunked` targets: the decoder on hostile bytes, whole and in pieces.

use super::{MAX_PACKET_SIZE, VERSIONS};
use crate::protocol::{DecodeError, Packet, Properties, ProtocolVersion, decode_packet};

/// A limit small enough that ordinary fuzz inputs cross it, so both sides of the size check run.
const SMALL_MAX: u32 = 64;

/// What decoding a byte stream front to back gives: each packet with the bytes it took, then
/// the error that stopped decoding, if any, and the bytes left over (a partial packet).
#[derive(Debug, PartialEq)]
struct Decoded {
    packets: Vec<(Packet, usize)>,
    error: Option<DecodeError>,
    rest: usize,
}

/// Decodes packets from the front of `data` until it runs out or an error stops it, checking
/// what every step consumed and what every packet holds.
fn decode_stream(data: &[u8], version: ProtocolVersion, max: u32) -> Decoded {
    let mut packets = Vec::new();
    let mut offset = 0;
    let mut error = None;
    while let Some(rest) = data.get(offset..) {
        match decode_packet(rest, version, max) {
            Ok(None) => break,
            Ok(Some((packet, consumed))) => {
                assert!(
                    (2..=rest.len()).contains(&consumed),
                    "consumed {consumed} of {} bytes",
                    rest.len()
                );
                assert!(
                    consumed <= max as usize,
                    "{consumed}-byte packet over {max}"
                );
                let owned = owned_len(&packet);
                assert!(
                    owned <= consumed,
                    "{consumed}-byte packet owns {owned} units: {packet:?}"
                );
                offset += consumed;
                packets.push((packet, consumed));
            }
            Err(e) => {
                if let DecodeError::PacketTooLarge { size, max: limit } = e {
                    assert!(size > limit && limit == max, "{e:?} with limit {max}");
                }
                error = Some(e);
                break;
            }
        }
    }
    Decoded {
        packets,
        error,
        rest: data.len() - offset.min(data.len()),
    }
}

/// Target `decode`: `data` as a stream of packets on a connection of each version, under the
/// default size limit and a small one.
///
/// Panics if a decode consumes nothing or more than it was given, if a packet owns more
/// strings, bytes or list entries than its encoding had bytes (an allocation sized by a length
/// the peer claimed), or if the small limit changes anything but where decoding stops.
pub fn decode(data: &[u8]) {
    for version in VERSIONS {
        let large = decode_stream(data, version, MAX_PACKET_SIZE);
        let small = decode_stream(data, version, SMALL_MAX);
        assert!(small.packets.len() <= large.packets.len());
        assert_eq!(small.packets[..], large.packets[..small.packets.len()]);
        match &small.error {
            Some(DecodeError::PacketTooLarge { .. }) | None => {}
            Some(error) if small.packets.len() == large.packets.len() => {
                assert_eq!(Some(error), large.error.as_ref());
            }
            Some(error) => panic!("{error:?} under the small limit only"),
        }
    }
}

/// Target `decode_chunked`. Layout of `data`:
/// - byte 0: bits 0-1 the version (index into [`VERSIONS`], 3 meaning 5.0), bit 2 the small
///   size limit;
/// - byte 1: the number `n` of chunk sizes that follow (modulo 17);
/// - `n` bytes: chunk sizes, used in turn and cycled (a zero is a read that brought nothing);
/// - the rest: the byte stream.
///
/// The stream is fed chunk by chunk into a buffer that is decoded from the front and drained of
/// what each packet consumed, as the reactor and router do. The packets, the error and the bytes
/// left over must be exactly those of decoding the stream in one piece.
pub fn decode_chunked(data: &[u8]) {
    let [head, count, rest @ ..] = data else {
        return;
    };
    let version = VERSIONS
        .get(usize::from(head & 0b11))
        .copied()
        .unwrap_or(ProtocolVersion::V5);
    let max = if head & 0b100 != 0 {
        SMALL_MAX
    } else {
        MAX_PACKET_SIZE
    };
    let (sizes, stream) = rest.split_at(usize::from(count % 17).min(rest.len()));
    let whole = decode_stream(stream, version, max);
    let chunked = decode_in_chunks(stream, sizes, version, max);
    assert_eq!(whole, chunked, "chunk sizes {sizes:?}");
}

fn decode_in_chunks(stream: &[u8], sizes: &[u8], version: ProtocolVersion, max: u32) -> Decoded {
    let mut buffer = Vec::new();
    let mut packets = Vec::new();
    let mut error = None;
    let mut offset = 0;
    let mut turn = 0;
    let all_zero = sizes.iter().all(|&size| size == 0);
    while offset < stream.len() && error.is_none() {
        let size = match sizes.get(turn % sizes.len().max(1)) {
            Some(&size) if !all_zero => usize::from(size),
            _ => stream.len(),
        };
        turn += 1;
        let end = (offset + size).min(stream.len());
        buffer.extend_from_slice(&stream[offset..end]);
        offset = end;
        loop {
            match decode_packet(&buffer, version, max) {
                Ok(None) => break,
                Ok(Some((packet, consumed))) => {
                    buffer.drain(..consumed);
                    packets.push((packet, consumed));
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
    }
    Decoded {
        packets,
        error,
        // After an error the unread stream counts as left over too, as in `decode_stream`.
        rest: buffer.len() + (stream.len() - offset),
    }
}

/// Strings and binary fields in bytes, lists in entries (their capacity, so that a list
/// reserved from a claimed length counts in full): a packet decoded from `n` bytes may own at
/// most `n` of these units, since every one of them has at least a byte on the wire.
fn owned_len(packet: &Packet) -> usize {
    match packet {
        Packet::Connect(c) => {
            let will = c.will.as_ref().map_or(0, |w| {
                w.topic.len() + w.payload.len() + properties_len(&w.properties)
            });
            c.client_id.capacity()
                + will
                + c.username.as_ref().map_or(0, String::capacity)
                + c.password.as_ref().map_or(0, Vec::capacity)
                + properties_len(&c.properties)
        }
        Packet::ConnAck(c) => properties_len(&c.properties),
        Packet::Publish(p) => p.topic.len() + p.payload.len() + properties_len(&p.properties),
        Packet::PubAck(r) | Packet::PubRec(r) | Packet::PubRel(r) | Packet::PubComp(r) => {
            properties_len(&r.properties)
        }
        Packet::Subscribe(s) => {
            s.filters.capacity()
                + s.filters.iter().map(|f| f.filter.capacity()).sum::<usize>()
                + properties_len(&s.properties)
        }
        Packet::SubAck(s) => s.reasons.capacity() + properties_len(&s.properties),
        Packet::Unsubscribe(u) => {
            u.filters.capacity()
                + u.filters.iter().map(String::capacity).sum::<usize>()
                + properties_len(&u.properties)
        }
        Packet::UnsubAck(u) => u.reasons.capacity() + properties_len(&u.properties),
        Packet::PingReq | Packet::PingResp => 0,
        Packet::Disconnect(d) => properties_len(&d.properties),
        Packet::Auth(a) => properties_len(&a.properties),
    }
}

fn properties_len(p: &Properties) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
    let data = |d: &Option<Vec<u8>>| d.as_ref().map_or(0, Vec::capacity);
    text(&p.content_type)
        + text(&p.response_topic)
        + data(&p.correlation_data)
        + p.subscription_identifiers.capacity()
        + text(&p.assigned_client_identifier)
        + text(&p.authentication_method)
        + data(&p.authentication_data)
        + text(&p.response_information)
        + text(&p.server_reference)
        + text(&p.reason_string)
        + p.user_properties.capacity()
        + p.user_properties
            .iter()
            .map(|(k, v)| k.capacity() + v.capacity())
            .sum::<usize>()
}
