//! Router scenario tests: many clients driven in-process with a fake clock, no sockets.
//!
//! This file holds the harness the other `tests_*.rs` files share, and the basics of routing:
//! fan-out, overlapping subscriptions, retained messages, wills, unsubscribing, and what the
//! router does with stale link ids and partial packets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::{LinkId, LinkLoss, Router};
use crate::config::Config;
use crate::protocol::{Connect, PacketId};
use crate::protocol::{
    ConnectReturnCode, Packet, Properties, ProtocolVersion, Publish, QoS, Subscribe,
    SubscriptionOptions, SubscriptionRequest, Unsubscribe, Will, decode_packet, encode,
};

const V4: ProtocolVersion = ProtocolVersion::V3_1_1;

pub(super) struct Harness {
    pub(super) router: Router,
    pub(super) now: Instant,
    next_token: usize,
    /// The version each link speaks, for encoding and decoding its packets.
    versions: std::collections::HashMap<LinkId, ProtocolVersion>,
    /// Packets read along with a CONNACK, returned by the next `read`.
    pub(super) unread: Vec<(LinkId, Packet)>,
}

pub(super) fn pid(value: u16) -> PacketId {
    PacketId::new(value).unwrap()
}

pub(super) fn connect_packet(client_id: &str, clean: bool) -> Connect {
    Connect {
        protocol: V4,
        clean_start: clean,
        keep_alive: 0,
        client_id: client_id.to_owned(),
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    }
}

pub(super) fn publish(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    id: Option<u16>,
    retain: bool,
) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain,
        topic: topic.into(),
        packet_id: id.map(pid),
        properties: Properties::default(),
        payload: payload.into(),
    })
}

pub(super) fn subscribe(id: u16, filters: &[(&str, QoS)]) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: pid(id),
        filters: filters
            .iter()
            .map(|(filter, qos)| SubscriptionRequest {
                filter: (*filter).to_owned(),
                options: SubscriptionOptions {
                    qos: *qos,
                    ..SubscriptionOptions::default()
                },
            })
            .collect(),
        properties: Properties::default(),
    })
}

impl Harness {
    pub(super) fn new(config: Config) -> Harness {
        Harness {
            router: Router::new(&config),
            now: Instant::now(),
            next_token: 0,
            versions: std::collections::HashMap::new(),
            unread: Vec::new(),
        }
    }

    pub(super) fn open(&mut self) -> LinkId {
        self.next_token += 1;
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        self.router.open_link(self.next_token, peer, self.now)
    }

    fn version(&self, link: LinkId) -> ProtocolVersion {
        self.versions.get(&link).copied().unwrap_or(V4)
    }

    pub(super) fn send(&mut self, link: LinkId, packet: &Packet) {
        if let Packet::Connect(connect) = packet {
            self.versions.insert(link, connect.protocol);
        }
        let mut bytes = Vec::new();
        encode(packet, self.version(link), &mut bytes);
        let consumed = self.router.receive(link, &bytes, self.now);
        assert_eq!(consumed, bytes.len());
    }

    /// Everything the router wrote to `link`, decoded; the output counts as written.
    pub(super) fn read(&mut self, link: LinkId) -> Vec<Packet> {
        let mut ready = Vec::new();
        self.router.take_ready(&mut ready);
        let bytes = self.router.output(link).to_vec();
        self.router.consume_output(link, bytes.len(), self.now);
        let (mut packets, others): (Vec<_>, Vec<_>) =
            self.unread.drain(..).partition(|(id, _)| *id == link);
        self.unread = others;
        let mut packets: Vec<Packet> = packets.drain(..).map(|(_, packet)| packet).collect();
        let mut rest = bytes.as_slice();
        let version = self.version(link);
        while let Some((packet, used)) = decode_packet(rest, version, u32::MAX).unwrap() {
            packets.push(packet);
            rest = &rest[used..];
        }
        assert!(rest.is_empty(), "trailing partial packet in output");
        packets
    }

    pub(super) fn connect_with(&mut self, connect: Connect) -> (LinkId, bool) {
        let link = self.open();
        self.send(link, &Packet::Connect(Box::new(connect)));
        let mut packets = self.read(link).into_iter();
        match packets.next() {
            Some(Packet::ConnAck(ack)) => {
                assert_eq!(ack.return_code, ConnectReturnCode::Accepted);
                self.unread.extend(packets.map(|packet| (link, packet)));
                (link, ack.session_present)
            }
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    pub(super) fn connect(&mut self, client_id: &str) -> LinkId {
        self.connect_with(connect_packet(client_id, true)).0
    }

    pub(super) fn subscribe(&mut self, link: LinkId, filter: &str, qos: QoS) {
        self.send(link, &subscribe(1, &[(filter, qos)]));
        let packets = self.read(link);
        assert!(
            matches!(packets.first(), Some(Packet::SubAck(_))),
            "{packets:?}"
        );
    }

    pub(super) fn publishes(&mut self, link: LinkId) -> Vec<Publish> {
        self.read(link)
            .into_iter()
            .filter_map(|packet| match packet {
                Packet::Publish(publish) => Some(publish),
                _ => None,
            })
            .collect()
    }

    /// Every PUBLISH the router has for `link`, read batch after batch as the output room
    /// frees, until it has nothing more (QoS 0: nothing awaits an acknowledgement).
    pub(super) fn all_publishes(&mut self, link: LinkId) -> Vec<Publish> {
        let mut all = Vec::new();
        loop {
            let batch = self.publishes(link);
            if batch.is_empty() {
                return all;
            }
            all.extend(batch);
        }
    }
}

#[test]
fn qos0_fans_out_to_every_subscriber_and_not_to_others() {
    let mut h = Harness::new(Config::default());
    let a = h.connect("a");
    let b = h.connect("b");
    let c = h.connect("c");
    h.subscribe(a, "Ergeschoss/Wohnzimmer/Temp", QoS::AtMostOnce);
    h.subscribe(b, "Ergeschoss/+/Temp", QoS::AtMostOnce);
    h.subscribe(c, "Keller/#", QoS::AtMostOnce);
    let p = h.connect("p");
    h.send(
        p,
        &publish(
            "Ergeschoss/Wohnzimmer/Temp",
            b"22",
            QoS::AtMostOnce,
            None,
            false,
        ),
    );
    for link in [a, b] {
        let got = h.publishes(link);
        assert_eq!(got.len(), 1);
        assert_eq!(&*got[0].payload, b"22");
        assert!(!got[0].retain);
    }
    assert!(h.publishes(c).is_empty());
}

#[test]
fn overlapping_subscriptions_deliver_once_at_the_highest_qos() {
    let mut h = Harness::new(Config::default());
    let s = h.connect("s");
    h.send(
        s,
        &subscribe(1, &[("a/+", QoS::AtMostOnce), ("a/#", QoS::ExactlyOnce)]),
    );
    h.read(s);
    let p = h.connect("p");
    h.send(p, &publish("a/b", b"x", QoS::AtLeastOnce, Some(7), false));
    let got = h.publishes(s);
    assert_eq!(got.len(), 1);
    // Delivered QoS is the minimum of published (1) and the highest granted (2).
    assert_eq!(got[0].qos, QoS::AtLeastOnce);
}

#[test]
fn retained_message_is_sent_on_subscribe_replaced_and_deleted() {
    let mut h = Harness::new(Config::default());
    let p = h.connect("p");
    h.send(p, &publish("home/temp", b"20", QoS::AtMostOnce, None, true));
    h.send(p, &publish("home/temp", b"21", QoS::AtMostOnce, None, true));
    let s = h.connect("s");
    h.send(s, &subscribe(1, &[("home/#", QoS::AtLeastOnce)]));
    let packets = h.read(s);
    assert!(matches!(packets[0], Packet::SubAck(_)));
    match &packets[1..] {
        [Packet::Publish(publish)] => {
            assert!(publish.retain);
            assert_eq!(&*publish.payload, b"21");
            assert_eq!(publish.qos, QoS::AtMostOnce);
        }
        other => panic!("{other:?}"),
    }
    h.send(p, &publish("home/temp", b"", QoS::AtMostOnce, None, true));
    // The empty retained message is forwarded as normal [MQTT-3.3.1-10] ...
    assert_eq!(h.publishes(s).len(), 1);
    // ... and a later subscriber gets nothing.
    let late = h.connect("late");
    h.send(late, &subscribe(1, &[("home/#", QoS::AtMostOnce)]));
    assert_eq!(h.read(late).len(), 1);
}

#[test]
fn will_is_published_on_loss_but_not_after_disconnect() {
    let mut h = Harness::new(Config::default());
    let s = h.connect("s");
    h.subscribe(s, "wills/#", QoS::AtMostOnce);
    for (id, clean_exit) in [("lost", false), ("polite", true)] {
        let mut connect = connect_packet(id, true);
        connect.will = Some(Will {
            topic: format!("wills/{id}").into(),
            payload: Arc::from(&b"gone"[..]),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: Properties::default(),
        });
        let (link, _) = h.connect_with(connect);
        if clean_exit {
            h.send(link, &Packet::Disconnect(Default::default()));
            assert!(h.router.wants_close(link));
        }
        h.router.close_link(link, LinkLoss::PeerClosed, h.now);
    }
    let got = h.publishes(s);
    assert_eq!(got.len(), 1);
    assert_eq!(&*got[0].topic, "wills/lost");
}

#[test]
fn unsubscribe_stops_delivery() {
    let mut h = Harness::new(Config::default());
    let s = h.connect("s");
    h.subscribe(s, "t/#", QoS::AtMostOnce);
    h.send(
        s,
        &Packet::Unsubscribe(Unsubscribe {
            packet_id: pid(3),
            filters: vec!["t/#".to_owned()],
            properties: Properties::default(),
        }),
    );
    assert!(matches!(h.read(s).as_slice(), [Packet::UnsubAck(ack)] if ack.packet_id == pid(3)));
    let p = h.connect("p");
    h.send(p, &publish("t/x", b"x", QoS::AtMostOnce, None, false));
    assert!(h.publishes(s).is_empty());
}

#[test]
fn a_stale_link_id_reaches_nobody() {
    let mut h = Harness::new(Config::default());
    let old = h.connect("a");
    h.router.close_link(old, LinkLoss::PeerClosed, h.now);
    let new = h.connect("b");
    assert_ne!(old, new);
    assert!(h.router.output(old).is_empty());
    assert!(h.router.wants_close(old));
    assert_eq!(h.router.receive(old, b"\x30\x03\x00\x01a", h.now), 5);
}

#[test]
fn partial_packets_are_left_for_the_next_read() {
    let mut h = Harness::new(Config::default());
    let link = h.open();
    let mut bytes = Vec::new();
    encode(
        &Packet::Connect(Box::new(connect_packet("slow", true))),
        V4,
        &mut bytes,
    );
    for (i, _) in bytes.iter().enumerate().take(bytes.len() - 1) {
        assert_eq!(h.router.receive(link, &bytes[..=i], h.now), 0);
    }
    assert_eq!(h.router.receive(link, &bytes, h.now), bytes.len());
    assert!(matches!(h.read(link).as_slice(), [Packet::ConnAck(_)]));
}
