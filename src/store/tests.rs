//! The store format: every record type round-trips, and every truncation and bit flip of a
//! file is either recovered (a torn tail cut off) or reported, never a panic, and never a
//! record that was not written.

use super::record::{self, Damage, Record};
use super::{HEADER_LEN, Image, Problem, StoredFlight, header, scan};
use crate::fuzzing::{sample_file, sample_records};

#[test]
fn every_record_type_round_trips() {
    let mut kinds = std::collections::BTreeSet::new();
    for original in sample_records() {
        let mut bytes = Vec::new();
        record::encode(&original, &mut bytes);
        // The type byte opens the body, after the frame.
        kinds.insert(bytes[record::FRAME]);
        let (decoded, len) = record::decode(&bytes).expect("decodes");
        assert_eq!(decoded, original);
        assert_eq!(len, bytes.len());
    }
    assert_eq!(kinds.len(), 15, "the sample has every record type");
}

#[test]
fn a_whole_file_reads_back_and_replays() {
    let file = sample_file();
    let found = scan(&file);
    assert_eq!(found.problem, None);
    assert_eq!(found.torn, 0);
    assert_eq!(found.good_len, file.len());
    assert_eq!(found.records, sample_records());
    let image = Image::from_records(found.records);
    assert_eq!(
        image.skipped, 0,
        "every record refers to what came before it"
    );
}

#[test]
fn replay_builds_the_state_the_records_describe() {
    let image = Image::from_records(sample_records());
    assert_eq!(image.retained.get("Erdgeschoss/Wohnzimmer/Temp"), Some(&1));
    let source = &image.retained_sources["Erdgeschoss/Wohnzimmer/Temp"];
    assert_eq!(
        (source.client_id.as_str(), source.username.as_deref()),
        ("sensor-1", Some("sensor"))
    );
    assert_eq!(image.sessions.len(), 1, "session 2 ended");
    let session = &image.sessions[&1];
    assert_eq!(session.client_id, "dashboard");
    assert_eq!(session.username.as_deref(), Some("anna"));
    assert!(session.will.is_some());
    assert_eq!(session.subscriptions.keys().collect::<Vec<_>>(), ["cmd/#"]);
    assert_eq!(
        session.queue.iter().map(|(e, _)| *e).collect::<Vec<_>>(),
        [2]
    );
    let flights: Vec<(u16, bool)> = session
        .inflight
        .iter()
        .map(|(id, f)| (*id, matches!(f, StoredFlight::Released)))
        .collect();
    assert_eq!(flights, [(10, false), (11, true)]);
    assert_eq!(
        session.inbound_qos2.iter().copied().collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(image.messages.len(), 2);
}

#[test]
fn records_about_unknown_sessions_or_messages_are_skipped() {
    let records = vec![
        Record::Retain {
            message: 99,
            source: None,
        },
        Record::Subscribe {
            session: 5,
            filter: "a",
            options: 0,
            identifier: 0,
        },
        Record::SessionEnd { session: 5 },
    ];
    let image = Image::from_records(records);
    assert_eq!(image.skipped, 3);
    assert!(image.sessions.is_empty() && image.retained.is_empty());
}

/// A crash can cut the file anywhere: every prefix reads as the records wholly before the
/// cut, with the rest reported as a torn tail.
#[test]
fn every_truncation_keeps_the_whole_records_before_it() {
    let file = sample_file();
    let records = sample_records();
    let mut ends = vec![HEADER_LEN];
    for r in &records {
        let mut bytes = Vec::new();
        record::encode(r, &mut bytes);
        ends.push(ends.last().copied().unwrap_or(0) + bytes.len());
    }
    for cut in 0..file.len() {
        let found = scan(&file[..cut]);
        assert_eq!(found.problem, None, "cut at {cut}");
        let whole = ends
            .iter()
            .filter(|end| **end <= cut)
            .count()
            .saturating_sub(1);
        assert_eq!(found.records.len(), whole, "cut at {cut}");
        assert_eq!(found.records[..], records[..whole]);
        assert_eq!(found.good_len + found.torn, cut, "cut at {cut}");
    }
}

/// One flipped bit anywhere is noticed: the records read are a prefix of those written, and
/// either a problem or a torn tail is reported.
#[test]
fn every_bit_flip_is_detected() {
    let file = sample_file();
    let records = sample_records();
    for at in 0..file.len() {
        for bit in 0..8 {
            let mut flipped = file.clone();
            flipped[at] ^= 1 << bit;
            let found = scan(&flipped);
            assert!(
                found.problem.is_some() || found.torn > 0,
                "flip of bit {bit} at {at} went unnoticed"
            );
            assert_eq!(found.records[..], records[..found.records.len()], "at {at}");
        }
    }
}

#[test]
fn headers_of_other_formats_are_named() {
    assert_eq!(scan(b"").problem, None);
    assert_eq!(
        scan(&header()[..5]).problem,
        None,
        "a torn header is an empty store"
    );
    let mosquitto = b"\x00\xb5\x00mosquitto db\x00\x00\x00\x06";
    assert_eq!(scan(mosquitto).problem, Some(Problem::MosquittoDatabase));
    assert_eq!(
        scan(b"hello world, not a store").problem,
        Some(Problem::NotAStore)
    );
    let mut newer = header();
    newer[8] = 9;
    let crc = crc32fast::hash(&newer[..12]);
    newer[12..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(scan(&newer).problem, Some(Problem::UnknownVersion(9)));
}

#[test]
fn zeros_after_the_last_record_are_a_torn_tail() {
    let mut file = sample_file();
    let len = file.len();
    file.extend_from_slice(&[0; 4096]);
    let found = scan(&file);
    assert_eq!(found.problem, None);
    assert_eq!(found.good_len, len);
    assert_eq!(found.torn, 4096);
}

#[test]
fn damage_followed_by_records_is_corruption() {
    let mut file = sample_file();
    // The body of the first record (its topic), with whole records after it.
    file[HEADER_LEN + 20] ^= 0xFF;
    let found = scan(&file);
    assert_eq!(
        found.problem,
        Some(Problem::Corrupt {
            offset: HEADER_LEN,
            damage: Damage::BadChecksum
        })
    );
    assert!(found.records.is_empty());
}

#[test]
fn an_unknown_record_type_with_a_valid_checksum_is_corruption() {
    let mut file = header().to_vec();
    let body = [200u8, 1, 2, 3];
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    file.extend_from_slice(&body);
    let found = scan(&file);
    assert!(matches!(
        found.problem,
        Some(Problem::Corrupt {
            damage: Damage::BadBody(super::Malformed::UnknownType(200)),
            ..
        })
    ));
}
