//! The `store` target: arbitrary bytes as a persistence store file, read as the broker reads
//! one at start. Reading must never panic, keep only records that re-encode to the very bytes
//! they came from, and replay them into an image without failing.

use crate::store::record::{self, Record};
use crate::store::{
    DeliveryRecord, HEADER_LEN, Image, MessageRecord, SessionRecord, SourceRecord, WillRecord,
    header, scan,
};

/// Reads `data` as a whole file, and again behind a valid header so the records are reached.
pub fn store(data: &[u8]) {
    check(data);
    let mut file = header().to_vec();
    file.extend_from_slice(data);
    check(&file);
}

fn check(file: &[u8]) {
    let found = scan(file);
    assert!(found.good_len + found.torn <= file.len());
    let mut at = if found.good_len == 0 { 0 } else { HEADER_LEN };
    for record in &found.records {
        let mut again = Vec::new();
        record::encode(record, &mut again);
        let original = file.get(at..at + again.len());
        assert_eq!(
            original,
            Some(&again[..]),
            "record at {at} re-encodes differently"
        );
        at += again.len();
    }
    if found.good_len >= HEADER_LEN {
        assert_eq!(at, found.good_len, "the records are the good part, exactly");
    }
    let image = Image::from_records(found.records);
    assert!(image.skipped <= file.len());
}

/// One record of every type, in an order that replays to a session holding something of each
/// kind; the unit tests and the seed corpus start from it.
pub fn sample_records() -> Vec<Record<'static>> {
    let delivery = |message| DeliveryRecord {
        message,
        qos: 1,
        retain: false,
        subscription_ids: vec![7, 300],
        shared_group: Some("$share/g/cmd/#"),
    };
    vec![
        Record::Message(MessageRecord {
            id: 1,
            topic: "Erdgeschoss/Wohnzimmer/Temp",
            payload: b"21.5",
            qos: 1,
            retain: true,
            expires_ms: 0,
            properties: &[0],
        }),
        Record::Retain {
            message: 1,
            source: None,
        },
        // The same message again, from a client recorded for `check_retain_source`.
        Record::Retain {
            message: 1,
            source: Some(SourceRecord {
                client_id: "sensor-1",
                username: Some("sensor"),
                listener: 0,
            }),
        },
        Record::Message(MessageRecord {
            id: 2,
            topic: "cmd/light",
            payload: b"on",
            qos: 2,
            retain: false,
            expires_ms: 4_102_444_800_000,
            properties: &[5, 2, 0, 0, 0, 60],
        }),
        Record::Session(SessionRecord {
            session: 1,
            client_id: "dashboard",
            expiry_interval: u32::MAX,
            protocol: 5,
            username: Some("anna"),
            listener: 0,
            expires_ms: 4_102_444_800_000,
            will: Some(WillRecord {
                at_ms: 4_102_444_800_000,
                topic: "status/dashboard",
                payload: b"offline",
                qos: 1,
                retain: true,
                properties: &[0],
            }),
        }),
        Record::Subscribe {
            session: 1,
            filter: "cmd/#",
            options: 0b0010_0110,
            identifier: 7,
        },
        Record::Subscribe {
            session: 1,
            filter: "old/#",
            options: 1,
            identifier: 0,
        },
        Record::Unsubscribe {
            session: 1,
            filter: "old/#",
        },
        Record::Queue {
            session: 1,
            entry: 1,
            delivery: delivery(2),
        },
        Record::Queue {
            session: 1,
            entry: 2,
            delivery: delivery(1),
        },
        Record::Unqueue {
            session: 1,
            entry: 1,
        },
        Record::Flight {
            session: 1,
            packet_id: 10,
            delivery: delivery(2),
        },
        Record::Flight {
            session: 1,
            packet_id: 11,
            delivery: delivery(1),
        },
        Record::Released {
            session: 1,
            packet_id: 11,
        },
        Record::Flight {
            session: 1,
            packet_id: 12,
            delivery: delivery(1),
        },
        Record::Landed {
            session: 1,
            packet_id: 12,
        },
        Record::Inbound {
            session: 1,
            packet_id: 3,
        },
        Record::Inbound {
            session: 1,
            packet_id: 4,
        },
        Record::InboundDone {
            session: 1,
            packet_id: 4,
        },
        Record::Session(SessionRecord {
            session: 2,
            client_id: "gone",
            expiry_interval: 60,
            protocol: 4,
            username: None,
            listener: 1,
            expires_ms: 0,
            will: None,
        }),
        Record::SessionEnd { session: 2 },
        Record::Unretain {
            topic: "nobody/had/this",
        },
    ]
}

/// [`sample_records`] as a store file.
pub fn sample_file() -> Vec<u8> {
    let mut file = header().to_vec();
    for record in sample_records() {
        record::encode(&record, &mut file);
    }
    file
}
