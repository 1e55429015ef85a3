//! The bodies of the fuzz targets in `fuzz/fuzz_targets/`, kept in the library so that a saved
//! input replays through the same code under `cargo test` on a stable toolchain.
//!
//! Each target is a function from raw bytes that panics when it finds a bug:
//! - `decode`: arbitrary bytes through [`decode_packet`](crate::protocol::decode_packet) for
//!   every protocol version, with bounds on what each packet consumes and owns.
//! - `decode_chunked`: the same bytes split where the input says, fed through a buffer the way
//!   the reactor feeds the router, must give exactly what decoding them in one piece gives.
//! - `roundtrip` (with the `fuzzing` feature): a structured packet is encoded, decoded back to
//!   an equal packet, and re-encoded to identical bytes.
//! - `session`: a script of client operations (open, send, read, close, wait) driven through
//!   the [`Router`](crate::router::Router), with its invariants checked after every step; an
//!   embedded broker's host program takes part through its handle.
//! - `store`: arbitrary bytes as a persistence store file, read and replayed as at start.
//! - `ws_frames` (with the `websockets` feature): client bytes through the WebSocket handshake
//!   parser and the frame decoder, whole and in pieces, which must agree.
//!
//! [`seeds`] builds the seed corpus of every target: valid packets of every type and version,
//! client scripts, a sample store, and WebSocket requests and frames.

mod decode;
mod samples;
pub mod seeds;
mod session;
mod session_host;
mod session_script;
mod store;
#[cfg(feature = "fuzzing")]
mod structured;
#[cfg(feature = "websockets")]
mod ws_frames;

pub use decode::{decode, decode_chunked};
pub use samples::sample_packets;
pub use session::session;
pub use session_script::{Op, Script};
pub use store::{sample_file, sample_records, store};
#[cfg(feature = "fuzzing")]
pub use structured::{VersionedPacket, check_roundtrip, roundtrip};
#[cfg(feature = "websockets")]
pub use ws_frames::ws_frames;

use crate::protocol::ProtocolVersion;

/// Every version the broker speaks, in the order the targets try them.
pub const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V3_1,
    ProtocolVersion::V3_1_1,
    ProtocolVersion::V5,
];

/// The largest packet any configuration accepts: the broker's default limit.
pub const MAX_PACKET_SIZE: u32 = crate::config::MAX_REMAINING_LENGTH + 5;
