//! The `decode`, `decode_chunked` and `roundtrip` seeds: every sample packet of every version,
//! alone, all in one stream, and that stream read whole and in pieces.

use super::{Seed, encoded, tag};
use crate::fuzzing::{VERSIONS, sample_packets};
use crate::protocol::Packet;

/// The seeds of the three targets, version by version.
pub(super) fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (index, version) in VERSIONS.into_iter().enumerate() {
        let mut stream = Vec::new();
        for (kind, (name, packet)) in sample_packets(version).into_iter().enumerate() {
            let bytes = encoded(&packet, version);
            stream.extend_from_slice(&bytes);
            let name = format!("{}-{name}", tag(version));
            // The roundtrip input: version, packet type, then the packet's own bytes as the
            // material for its fields.
            let wire_type = u8::try_from(wire_type(&packet)).unwrap_or(0);
            let mut structured = vec![index as u8, wire_type];
            structured.extend_from_slice(&bytes);
            seeds.push(Seed {
                target: "roundtrip",
                name: format!("{name}-{kind}"),
                bytes: structured,
            });
            seeds.push(Seed {
                target: "decode",
                name,
                bytes,
            });
        }
        let name = format!("{}-all-types", tag(version));
        seeds.push(Seed {
            target: "decode",
            name: name.clone(),
            bytes: stream.clone(),
        });
        // One piece, then reads of 1, 2, 3 and 7 bytes.
        for (split, sizes) in [("whole", &[][..]), ("split", &[1, 2, 3, 7][..])] {
            let mut bytes = vec![index as u8, sizes.len() as u8];
            bytes.extend_from_slice(sizes);
            bytes.extend_from_slice(&stream);
            seeds.push(Seed {
                target: "decode_chunked",
                name: format!("{name}-{split}"),
                bytes,
            });
        }
    }
    seeds
}

/// The index in [`crate::fuzzing::structured`]'s type choice: wire type minus one, AUTH last.
fn wire_type(packet: &Packet) -> usize {
    match packet {
        Packet::Connect(_) => 0,
        Packet::ConnAck(_) => 1,
        Packet::Publish(_) => 2,
        Packet::PubAck(_) => 3,
        Packet::PubRec(_) => 4,
        Packet::PubRel(_) => 5,
        Packet::PubComp(_) => 6,
        Packet::Subscribe(_) => 7,
        Packet::SubAck(_) => 8,
        Packet::Unsubscribe(_) => 9,
        Packet::UnsubAck(_) => 10,
        Packet::PingReq => 11,
        Packet::PingResp => 12,
        Packet::Disconnect(_) => 13,
        Packet::Auth(_) => 14,
    }
}
