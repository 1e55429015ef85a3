//! What a restart keeps of MQTT 5 state and of the delivery options, through the real store
//! format and a fake clock that jumps over the time the broker was down: message expiry and
//! will delays keep running in wall-clock time, subscription identifiers stay with their
//! subscriptions, and QoS 0 messages queued by `queue_qos0_messages` are kept.

use std::time::Duration;

use super::Clocks;
use super::tests::{Harness, connect_packet, pid, publish};
use super::tests_persist::{UNIX_MS, file_of, image_of, persistent};
use super::tests_will;
use super::{LinkId, LinkLoss};
use crate::config::Config;
use crate::protocol::{
    Connect, Packet, Properties, PropertyValues, ProtocolVersion, PubResponse, QoS, Subscribe,
    SubscriptionOptions, SubscriptionRequest,
};

/// An MQTT 5 CONNECT with Clean Start `clean` and an hour's Session Expiry Interval.
fn connect_v5(client_id: &str, clean: bool) -> Connect {
    tests_will::connect_v5(client_id, clean, 3600)
}

/// [`connect_v5`] with a will on `wills/<client_id>` delayed by `delay` seconds.
fn with_will(client_id: &str, delay: u32) -> Connect {
    tests_will::with_will(client_id, false, 3600, delay)
}

fn subscribe_with_id(filter: &str, qos: QoS, identifier: u32) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: pid(1),
        filters: vec![SubscriptionRequest {
            filter: filter.to_owned(),
            options: SubscriptionOptions {
                qos,
                ..SubscriptionOptions::default()
            },
        }],
        properties: PropertyValues {
            subscription_identifiers: vec![identifier],
            ..PropertyValues::default()
        }
        .into(),
    })
}

/// A QoS 1 PUBLISH with a Message Expiry Interval of `seconds`.
fn expiring(topic: &str, payload: &[u8], id: u16, seconds: u32) -> Packet {
    let mut packet = publish(topic, payload, QoS::AtLeastOnce, Some(id), false);
    if let Packet::Publish(p) = &mut packet {
        p.properties = Properties::from(PropertyValues {
            message_expiry_interval: Some(seconds),
            ..PropertyValues::default()
        });
    }
    packet
}

/// The journal so far as a store file, replayed into a new router `down` later: both its
/// monotonic and its wall clock have moved on by that much, as after a real restart.
fn restart_after(h: &mut Harness, config: &Config, down: Duration) -> Harness {
    let mut changes = Vec::new();
    h.router.take_changes(&mut changes);
    let file = file_of(&changes, h.now, 0);
    let mut next = persistent(config.clone());
    next.now = h.now + down;
    let clocks = Clocks {
        now: next.now,
        unix_ms: UNIX_MS + u64::try_from(down.as_millis()).unwrap(),
    };
    next.router.restore(&image_of(&file), clocks);
    next
}

/// A persistent MQTT 5 session subscribed to `filter`, then offline.
fn offline_subscriber(h: &mut Harness, client_id: &str, subscribe: &Packet) {
    let (link, _) = h.connect_with(connect_v5(client_id, true));
    h.send(link, subscribe);
    assert!(matches!(h.read(link).as_slice(), [Packet::SubAck(_)]));
    h.router.close_link(link, LinkLoss::PeerClosed, h.now);
}

/// A clean MQTT 5 publisher.
fn publisher(h: &mut Harness) -> LinkId {
    h.connect_with(Connect {
        protocol: ProtocolVersion::V5,
        ..connect_packet("pub", true)
    })
    .0
}

/// Message expiry runs across the restart in wall-clock time: a queued message with 100 s
/// left is delivered after 40 s down with 60 s left [MQTT-3.3.2-6]; one with 10 s, which ran
/// out while the broker was down, is not delivered [MQTT-3.3.2-5].
#[test]
fn message_expiry_continues_across_a_restart() {
    let config = Config::default();
    let mut h = persistent(config.clone());
    offline_subscriber(&mut h, "s", &subscribe_with_id("t", QoS::AtLeastOnce, 1));
    let p = publisher(&mut h);
    h.send(p, &expiring("t", b"short", 1, 10));
    h.send(p, &expiring("t", b"long", 2, 100));
    h.send(
        p,
        &publish("t", b"forever", QoS::AtLeastOnce, Some(3), false),
    );
    h.read(p);

    let mut h2 = restart_after(&mut h, &config, Duration::from_secs(40));
    let (s, present) = h2.connect_with(connect_v5("s", false));
    assert!(present);
    let got = h2.publishes(s);
    let payloads: Vec<&[u8]> = got.iter().map(|p| &*p.payload).collect();
    assert_eq!(
        payloads,
        [&b"long"[..], b"forever"],
        "the expired one dropped"
    );
    assert_eq!(got[0].properties.message_expiry_interval, Some(60));
    assert_eq!(got[1].properties.message_expiry_interval, None);
}

/// A will waiting out its Will Delay Interval when the broker stopped keeps waiting in
/// wall-clock time: published once the rest of the delay has passed after the restart, not at
/// once [MQTT-3.1.3-9]; cancelled if its client comes back to the session first
/// [MQTT-3.1.3-9]; published at the first tick if the delay ran out while the broker was down.
#[test]
fn will_delays_continue_across_a_restart() {
    let config = Config::default();
    let mut h = persistent(config.clone());
    for (client_id, delay) in [("late", 30), ("back", 30), ("overdue", 5)] {
        let (link, _) = h.connect_with(with_will(client_id, delay));
        h.router.close_link(link, LinkLoss::PeerClosed, h.now);
    }

    let mut h2 = restart_after(&mut h, &config, Duration::from_secs(10));
    let watcher = h2.connect("watcher");
    h2.subscribe(watcher, "wills/#", QoS::AtMostOnce);
    let next = h2.router.tick(h2.now);
    let got = h2.publishes(watcher);
    let topics: Vec<&str> = got.iter().map(|p| &*p.topic).collect();
    assert_eq!(
        topics,
        ["wills/overdue"],
        "only the will whose delay ran out"
    );
    assert!(
        next.is_some_and(|at| at <= h2.now + Duration::from_secs(20)),
        "the loop is woken for the rest of the 30 s delay: {next:?}"
    );
    // "back" returns to its session before the delay ends: its will is never published.
    h2.connect_with(connect_v5("back", false));
    h2.now += Duration::from_secs(19);
    h2.router.tick(h2.now);
    assert!(h2.publishes(watcher).is_empty(), "29 s after the loss");
    h2.now += Duration::from_secs(1);
    h2.router.tick(h2.now);
    let got = h2.publishes(watcher);
    let topics: Vec<&str> = got.iter().map(|p| &*p.topic).collect();
    assert_eq!(topics, ["wills/late"]);
}

/// A subscription's identifier is kept with it: a message queued before the restart and one
/// published after it both carry it to the resumed session [MQTT-3.3.4-3].
#[test]
fn subscription_identifiers_survive_a_restart() {
    let config = Config::default();
    let mut h = persistent(config.clone());
    offline_subscriber(
        &mut h,
        "s",
        &subscribe_with_id("home/#", QoS::AtLeastOnce, 42),
    );
    let p = publisher(&mut h);
    h.send(
        p,
        &publish("home/a", b"before", QoS::AtLeastOnce, Some(1), false),
    );
    h.read(p);

    let mut h2 = restart_after(&mut h, &config, Duration::from_secs(1));
    let (s, present) = h2.connect_with(connect_v5("s", false));
    assert!(present);
    let p = publisher(&mut h2);
    h2.send(
        p,
        &publish("home/b", b"after", QoS::AtLeastOnce, Some(1), false),
    );
    let got = h2.publishes(s);
    assert_eq!(got.len(), 2, "{got:?}");
    for publish in &got {
        assert_eq!(
            publish.properties.subscription_identifiers,
            [42],
            "{:?}",
            publish.payload
        );
    }
    // Acknowledged, nothing more is owed.
    for publish in got {
        let id = publish.packet_id.expect("QoS 1");
        h2.send(s, &Packet::PubAck(PubResponse::new(id)));
    }
    assert!(h2.publishes(s).is_empty());
}

/// With `queue_qos0_messages true` the QoS 0 messages queued for an offline session are
/// stored like QoS 1 ones and delivered, in order, after the restart; without it none are
/// queued at all.
#[test]
fn queued_qos0_messages_are_kept_with_queue_qos0_messages() {
    for queue_qos0 in [true, false] {
        let config = Config {
            queue_qos0_offline: queue_qos0,
            ..Config::default()
        };
        let mut h = persistent(config.clone());
        let (s, _) = h.connect_with(connect_packet("s", false));
        h.subscribe(s, "sensor/#", QoS::AtMostOnce);
        h.router.close_link(s, LinkLoss::PeerClosed, h.now);
        let p = h.connect("pub");
        for payload in ["20.5", "20.7", "21.0"] {
            h.send(
                p,
                &publish("sensor/t", payload.as_bytes(), QoS::AtMostOnce, None, false),
            );
        }

        let mut h2 = restart_after(&mut h, &config, Duration::from_secs(5));
        let (s, present) = h2.connect_with(connect_packet("s", false));
        assert!(present);
        let got: Vec<String> = h2
            .publishes(s)
            .iter()
            .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
            .collect();
        let expected: &[&str] = if queue_qos0 {
            &["20.5", "20.7", "21.0"]
        } else {
            &[]
        };
        assert_eq!(got, expected, "queue_qos0_messages {queue_qos0}");
    }
}
