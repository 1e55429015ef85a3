//! The seed corpus of every target, built from valid packets of every type and version.
//!
//! Written to `fuzz/corpus/<target>/` by the ignored test `generate_seed_corpus` in
//! `tests/fuzz_replay.rs`; see `fuzz/README.md`. One child module per target, or per group of
//! targets fed the same packets:
//! - `codec.rs`: every sample packet, for `decode`, `decode_chunked` and `roundtrip`.
//! - `session.rs`: client scripts, for `session`.
//! - `store.rs`: the sample store, for `store`.
//! - `ws_frames.rs`: upgrade requests and frames, for `ws_frames`.
//! - `packets.rs`: the packets that scripts and frames are built from.

use crate::protocol::{Packet, ProtocolVersion, encode};

mod codec;
mod packets;
mod session;
mod store;
#[cfg(feature = "websockets")]
mod ws_frames;

/// One seed: its target, a file name saying what it holds, and its bytes.
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = codec::seeds();
    seeds.extend(session::seeds());
    seeds.extend(store::seeds());
    #[cfg(feature = "websockets")]
    seeds.extend(ws_frames::seeds());
    seeds
}

fn tag(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::V3_1 => "v31",
        ProtocolVersion::V3_1_1 => "v311",
        ProtocolVersion::V5 => "v5",
    }
}

fn encoded(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode(packet, version, &mut bytes);
    bytes
}
