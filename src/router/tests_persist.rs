//! The router's journal and restore, through the real store format: what a router journaled,
//! written as records and replayed, gives a router in the same state, and the snapshot of a
//! router says the same as the journal that built it.

use std::time::{Duration, Instant};

use super::persist::Change;
use super::tests::{Harness, connect_packet, pid, publish, subscribe};
use super::{Clocks, LinkLoss, Router};
use crate::config::Config;
use crate::disk::convert::{Encoder, Numbering};
use crate::protocol::{Packet, PubResponse, QoS};
use crate::store::{self, Image};

pub(super) const UNIX_MS: u64 = 1_800_000_000_000;

pub(super) fn persistent(config: Config) -> Harness {
    let mut h = Harness::new(config);
    h.router.enable_journal();
    h
}

/// `changes` as a store file written at `now`, its message numbers starting after `first`.
pub(super) fn file_of(changes: &[Change], now: Instant, first: u64) -> Vec<u8> {
    let clocks = Clocks {
        now,
        unix_ms: UNIX_MS,
    };
    let mut numbering = Numbering {
        last: first,
        file_start: first + 1,
        messages_written: 0,
    };
    let mut encoder = Encoder::default();
    let mut file = store::header().to_vec();
    for change in changes {
        encoder.encode(change, &mut numbering, &clocks, &mut file);
    }
    file
}

pub(super) fn image_of(file: &[u8]) -> Image {
    let found = store::scan(file);
    assert_eq!(found.problem, None);
    assert_eq!(found.torn, 0);
    Image::from_records(found.records)
}

/// The journal so far as a file, and a new router restored from it.
pub(super) fn restart(h: &mut Harness, config: &Config) -> (Harness, Vec<u8>) {
    let mut changes = Vec::new();
    h.router.take_changes(&mut changes);
    let file = file_of(&changes, h.now, 0);
    let mut next = persistent(config.clone());
    next.now = h.now;
    let clocks = Clocks {
        now: h.now,
        unix_ms: UNIX_MS,
    };
    next.router.restore(&image_of(&file), clocks);
    (next, file)
}

/// A readable summary of an image that does not depend on message numbers.
fn digest(image: &Image) -> Vec<String> {
    let payload = |id: &u64| {
        image
            .messages
            .get(id)
            .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
            .unwrap_or_default()
    };
    let mut lines: Vec<String> = image
        .retained
        .iter()
        .map(|(topic, id)| format!("retained {topic} {}", payload(id)))
        .collect();
    for session in image.sessions.values() {
        lines.push(format!(
            "session {} expiry {} subs {:?} inbound {:?}",
            session.client_id, session.expiry_interval, session.subscriptions, session.inbound_qos2
        ));
        for (_, d) in &session.queue {
            lines.push(format!("  queued {} q{}", payload(&d.message), d.qos));
        }
        for (packet_id, flight) in &session.inflight {
            let what = match flight {
                store::StoredFlight::Sent(d) => payload(&d.message),
                store::StoredFlight::Released => "released".into(),
            };
            lines.push(format!("  flight {packet_id} {what}"));
        }
    }
    lines.sort();
    lines
}

/// The snapshot as a file of its own. Its numbers start past any an earlier file gave, as the
/// store's do, so every message is written into it again.
pub(super) fn snapshot_image(router: &mut Router, now: Instant) -> Image {
    let mut changes = Vec::new();
    router.snapshot(|change| changes.push(change));
    image_of(&file_of(&changes, now, 1_000_000))
}

/// A stored session with a subscription, a queue, a QoS 1 delivery in flight, a released QoS 2
/// one and an inbound QoS 2 id comes back whole: [MQTT-4.4.0-1] the in-flight PUBLISH is
/// re-sent with DUP and the PUBREL again, then the queue follows; [MQTT-4.3.3-2] the inbound
/// id still suppresses a second delivery.
#[test]
fn a_restored_session_continues_where_it_stopped() {
    let config = Config {
        max_inflight_messages: 2,
        ..Config::default()
    };
    let mut h = persistent(config.clone());
    let (s, _) = h.connect_with(connect_packet("sub", false));
    h.send(s, &subscribe(1, &[("t/#", QoS::ExactlyOnce)]));
    h.read(s);
    let p = h.connect("pub");
    h.send(p, &publish("t/1", b"one", QoS::AtLeastOnce, Some(1), false));
    h.send(p, &publish("t/2", b"two", QoS::ExactlyOnce, Some(2), false));
    h.send(
        p,
        &publish("t/3", b"three", QoS::AtLeastOnce, Some(3), false),
    );
    h.read(p);
    let sent = h.publishes(s);
    assert_eq!(sent.len(), 2, "the window holds two");
    let qos2_id = sent[1].packet_id.expect("id");
    h.send(s, &Packet::PubRec(PubResponse::new(qos2_id)));
    h.read(s);
    let (q, _) = h.connect_with(connect_packet("sender", false));
    h.send(
        q,
        &publish("elsewhere", b"x", QoS::ExactlyOnce, Some(9), false),
    );
    h.read(q);
    h.router.close_link(s, LinkLoss::PeerClosed, h.now);
    h.router.close_link(q, LinkLoss::PeerClosed, h.now);

    let (mut h2, file) = restart(&mut h, &config);
    let before = snapshot_image(&mut h.router, h.now);
    assert_eq!(
        digest(&image_of(&file)),
        digest(&before),
        "journal and snapshot agree"
    );
    let after = snapshot_image(&mut h2.router, h2.now);
    assert_eq!(
        digest(&after),
        digest(&before),
        "the restored router holds the same"
    );

    let (s, present) = h2.connect_with(connect_packet("sub", false));
    assert!(present);
    let packets = h2.read(s);
    let first = match &packets[0] {
        Packet::Publish(p) => p,
        other => panic!("expected the re-sent PUBLISH, got {other:?}"),
    };
    assert!(first.dup);
    assert_eq!(&*first.payload, b"one");
    assert!(matches!(&packets[1], Packet::PubRel(r) if r.packet_id == qos2_id));
    h2.send(
        s,
        &Packet::PubAck(PubResponse::new(first.packet_id.expect("id"))),
    );
    h2.send(s, &Packet::PubComp(PubResponse::new(qos2_id)));
    let rest = h2.publishes(s);
    assert_eq!(rest.len(), 1);
    assert_eq!(&*rest[0].payload, b"three");

    let (q, _) = h2.connect_with(connect_packet("sender", false));
    let watcher = h2.connect("watcher");
    h2.subscribe(watcher, "elsewhere", QoS::AtMostOnce);
    h2.send(
        q,
        &publish("elsewhere", b"x", QoS::ExactlyOnce, Some(9), false),
    );
    assert!(matches!(h2.read(q).as_slice(), [Packet::PubRec(_)]));
    assert!(h2.publishes(watcher).is_empty(), "not delivered twice");
}

/// Clean sessions that are online cost the store nothing: fan-in to them journals no change.
#[test]
fn messages_to_online_clean_sessions_are_not_journaled() {
    let mut h = persistent(Config::default());
    let s = h.connect("clean-sub");
    h.subscribe(s, "#", QoS::AtLeastOnce);
    let p = h.connect("pub");
    for i in 1..=50 {
        h.send(
            p,
            &publish("a/b", b"reading", QoS::AtLeastOnce, Some(i), false),
        );
    }
    let mut changes = Vec::new();
    h.router.take_changes(&mut changes);
    assert!(changes.is_empty(), "{changes:?}");
    // A retained message is a change, even with nobody subscribed to it.
    h.send(p, &publish("state", b"on", QoS::AtMostOnce, None, true));
    h.router.take_changes(&mut changes);
    assert!(matches!(changes.as_slice(), [Change::Retained { .. }]));
}

/// A session that expired while the broker was down is not restored, and its will, waiting
/// for that end, is published at the restart [MQTT-3.1.2-8].
#[test]
fn a_session_that_expired_while_down_ends_with_its_will() {
    let config = Config::default();
    let mut h = persistent(config.clone());
    let mut connect = connect_packet("short", false);
    connect.protocol = crate::protocol::ProtocolVersion::V5;
    connect.properties = crate::protocol::PropertyValues {
        session_expiry_interval: Some(10),
        ..Default::default()
    }
    .into();
    connect.will = Some(crate::protocol::Will {
        topic: "status/short".into(),
        payload: b"gone".as_slice().into(),
        qos: QoS::AtMostOnce,
        retain: true,
        properties: crate::protocol::PropertyValues {
            will_delay_interval: Some(5),
            ..Default::default()
        }
        .into(),
    });
    let (s, _) = h.connect_with(connect);
    h.router.close_link(s, LinkLoss::PeerClosed, h.now);
    let mut changes = Vec::new();
    h.router.take_changes(&mut changes);
    let file = file_of(&changes, h.now, 0);
    // Restarted a minute later.
    let later = Clocks {
        now: h.now + Duration::from_secs(1),
        unix_ms: UNIX_MS + 60_000,
    };
    let mut h2 = persistent(config);
    let restored = h2.router.restore(&image_of(&file), later);
    assert_eq!(restored.sessions, 0);
    let reader = h2.connect("reader");
    h2.send(reader, &subscribe(1, &[("status/#", QoS::AtMostOnce)]));
    let got = h2.publishes(reader);
    assert_eq!(got.len(), 1, "the will became the retained status");
    assert_eq!(&*got[0].payload, b"gone");
    let _ = pid(1);
}
