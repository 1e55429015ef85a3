//! The persistence store's format, pure: the file header, the checksummed records, and the
//! replay of a file's records into the state they describe ([`Image`]).
//!
//! The store is a log: a snapshot of the state followed by the changes since, each change one
//! record. Reading never fails: a torn last record (a write cut short by a crash or power loss)
//! is cut off, and anything else that does not decode stops the replay there, with what came
//! before it kept and the reason reported, so the caller can move the file aside and start.
//! The file handling itself (appending, syncing, compaction) is in `crate::disk`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod image;
pub mod record;
mod wire;

#[cfg(test)]
mod tests;

pub use image::{
    Image, StoredDelivery, StoredFlight, StoredMessage, StoredSession, StoredSource, StoredWill,
};
pub use record::{DeliveryRecord, MessageRecord, Record, SessionRecord, SourceRecord, WillRecord};
pub use wire::Malformed;

use record::Damage;

/// The first bytes of every store file: a name no other format uses, then the format version
/// and a checksum of both.
pub const MAGIC: &[u8; 8] = b"mbstore\n";
pub const VERSION: u32 = 1;
pub const HEADER_LEN: usize = 16;
/// How a mosquitto database begins, to say so when one is found where the store should be.
const MOSQUITTO_MAGIC: &[u8] = b"\x00\xb5\x00mosquitto db";

pub fn header() -> [u8; HEADER_LEN] {
    let mut out = [0; HEADER_LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    let crc = crc32fast::hash(&out[..12]);
    out[12..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Why a file could not be read, or not all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not a minibroker store at all.
    NotAStore,
    /// A mosquitto database, whose format minibroker does not read.
    MosquittoDatabase,
    /// A minibroker store of a format version this build does not know.
    UnknownVersion(u32),
    /// Damage at byte `offset` with more data behind it: not a torn write.
    Corrupt { offset: usize, damage: Damage },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::NotAStore => write!(f, "not a minibroker store (unknown header)"),
            Problem::MosquittoDatabase => {
                write!(f, "a mosquitto database, which minibroker does not read")
            }
            Problem::UnknownVersion(v) => write!(f, "store format version {v} is not known"),
            Problem::Corrupt { offset, damage } => write!(f, "{damage} at byte {offset}"),
        }
    }
}

/// What reading a file found.
#[derive(Debug)]
pub struct Scan<'a> {
    pub records: Vec<Record<'a>>,
    /// Bytes of the file that are good: the header and every record read. A torn tail
    /// starts here and is cut off by truncating the file to this length.
    pub good_len: usize,
    /// Bytes after `good_len` that were a torn last record (all of them, to the end).
    pub torn: usize,
    pub problem: Option<Problem>,
}

/// Reads a whole store file. An empty file is an empty store.
pub fn scan(bytes: &[u8]) -> Scan<'_> {
    let mut scan = Scan {
        records: Vec::new(),
        good_len: 0,
        torn: 0,
        problem: None,
    };
    if bytes.is_empty() {
        return scan;
    }
    if let Err(problem) = check_header(bytes) {
        // A header cut short by a crash right after the file was created holds nothing.
        let torn_header = bytes.len() < HEADER_LEN && header().starts_with(bytes);
        if torn_header {
            scan.torn = bytes.len();
        } else {
            scan.problem = Some(problem);
        }
        return scan;
    }
    let mut at = HEADER_LEN;
    while let Some(rest) = bytes.get(at..).filter(|rest| !rest.is_empty()) {
        match record::decode(rest) {
            Ok((record, len)) => {
                scan.records.push(record);
                at += len;
            }
            Err(damage) if is_torn(rest, damage) => {
                scan.torn = rest.len();
                break;
            }
            Err(damage) => {
                scan.problem = Some(Problem::Corrupt { offset: at, damage });
                break;
            }
        }
    }
    scan.good_len = at;
    scan
}

/// A crash during an append leaves the last record short, or its length written but its body
/// not (zeros, on many file systems after a power loss): damage that reaches the end of the
/// file. Damage followed by more records is not a torn write.
fn is_torn(rest: &[u8], damage: Damage) -> bool {
    match damage {
        Damage::Truncated => true,
        Damage::BadLength(_) | Damage::BadChecksum => {
            let declared = rest
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_le_bytes);
            let end = usize::try_from(declared)
                .unwrap_or(usize::MAX)
                .saturating_add(record::FRAME);
            end >= rest.len() || rest.iter().all(|b| *b == 0)
        }
        Damage::BadBody(_) => false,
    }
}

fn check_header(bytes: &[u8]) -> Result<(), Problem> {
    if bytes.starts_with(MOSQUITTO_MAGIC) {
        return Err(Problem::MosquittoDatabase);
    }
    let Some(head) = bytes.get(..HEADER_LEN) else {
        return Err(Problem::NotAStore);
    };
    if !head.starts_with(MAGIC) {
        return Err(Problem::NotAStore);
    }
    let field = |range: std::ops::Range<usize>| {
        head.get(range)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes)
    };
    if crc32fast::hash(head.get(..12).unwrap_or_default()) != field(12..16) {
        return Err(Problem::NotAStore);
    }
    match field(8..12) {
        VERSION => Ok(()),
        other => Err(Problem::UnknownVersion(other)),
    }
}
