//! The `ws_frames` seeds: a WebSocket upgrade request, and client frames carrying MQTT
//! packets, whole, fragmented and in pieces, with the frames the decoder refuses.

use super::packets::connect;
use super::{Seed, encoded};
use crate::fuzzing::sample_packets;
use crate::protocol::ProtocolVersion;

/// A masked client frame (RFC 6455 section 5.2), its length in the shortest form.
fn masked(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x5A, 0x01, 0xC3, 0x7E];
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match u16::try_from(payload.len()) {
        Ok(n @ 0..=125) => out.push(0x80 | n as u8),
        Ok(n) => {
            out.push(0x80 | 126);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Err(_) => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, k)| b ^ k));
    out
}

/// The upgrade request alone and followed by frames, then frame sequences (MQTT packets
/// across frames and fragments, control frames between them, a close) whole and in pieces,
/// and the frames the decoder refuses. The first byte is the piece size.
pub(super) fn seeds() -> Vec<Seed> {
    let v = ProtocolVersion::V3_1_1;
    let stream: Vec<u8> = sample_packets(v)
        .iter()
        .flat_map(|(_, packet)| encoded(packet, v))
        .collect();
    let connect = encoded(&connect(v, "ws", true, true), v);
    let (head, tail) = connect.split_at(connect.len() / 2);
    let mut frames = masked(true, 0x2, &[&connect[..], &[0xC0, 0x00]].concat());
    frames.extend(masked(false, 0x2, head));
    frames.extend(masked(true, 0x9, b"ping"));
    frames.extend(masked(false, 0x0, &tail[..1]));
    frames.extend(masked(true, 0xA, b""));
    frames.extend(masked(true, 0x0, &tail[1..]));
    frames.extend(masked(true, 0x2, &stream));
    frames.extend(masked(true, 0x8, &1000u16.to_be_bytes()));
    let request = b"GET /mqtt HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt, mqttv3.1\r\n\r\n";
    let huge = [
        &[0x82, 0xFF][..],
        &(1u64 << 40).to_be_bytes(),
        &[1, 2, 3, 4],
    ]
    .concat();
    let cases: [(&str, u8, Vec<u8>); 9] = [
        ("handshake", 0, request.to_vec()),
        ("handshake-then-frames", 5, [&request[..], &frames].concat()),
        ("frames", 0, frames.clone()),
        ("frames-in-pieces-of-1", 1, frames.clone()),
        ("frames-in-pieces-of-3", 3, frames),
        ("frame-16-bit-length", 2, masked(true, 0x2, &[0x30; 300])),
        ("frame-announcing-1-tib", 0, huge),
        ("text-frame", 0, masked(true, 0x1, b"{}")),
        ("unmasked-frame", 0, vec![0x82, 0x02, 0xC0, 0x00]),
    ];
    cases
        .into_iter()
        .map(|(name, size, bytes)| Seed {
            target: "ws_frames",
            name: name.into(),
            bytes: [&[size][..], &bytes].concat(),
        })
        .collect()
}
