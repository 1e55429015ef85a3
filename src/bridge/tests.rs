//! Bridge scenarios with a fake clock: a local and a remote router, the bridge between them,
//! and clients on both, all in-process.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Bridge, State};
use crate::config::{self, BridgeAddress, BridgeDirection, BridgeTopic, Config, RestartTimeout};
use crate::protocol::{
    ConnAck, Connect, ConnectReturnCode, Packet, PacketId, Properties, ProtocolVersion,
    PubResponse, Publish, QoS, ReasonCode, Subscribe, SubscriptionOptions, SubscriptionRequest,
    decode_packet, encode,
};
use crate::router::{LinkId, LinkLoss, Router};

const V4: ProtocolVersion = ProtocolVersion::V3_1_1;

fn topic(pattern: &str, direction: BridgeDirection, qos: u8) -> BridgeTopic {
    BridgeTopic {
        pattern: pattern.into(),
        direction,
        qos,
        local_prefix: Some("home/".into()),
        remote_prefix: Some("site/".into()),
    }
}

fn settings(topics: Vec<BridgeTopic>) -> config::Bridge {
    let mut b = config::Bridge::new("b");
    b.addresses = vec![BridgeAddress {
        host: "127.0.0.1".into(),
        port: 1883,
    }];
    b.topics = topics;
    b.try_private = false;
    b.keepalive_interval = 10;
    b.restart_timeout = RestartTimeout::Backoff { base: 5, cap: 30 };
    b
}

struct World {
    local: Router,
    remote: Router,
    bridge: Bridge,
    now: Instant,
    up: Option<LinkId>,
    next_token: usize,
}

impl World {
    fn new(settings: &config::Bridge) -> World {
        let config = Config::default();
        let now = Instant::now();
        let mut local = Router::new(&config);
        let bridge = Bridge::new(settings, "host", 1000, now).unwrap();
        let mut world = World {
            remote: Router::new(&config),
            bridge,
            now,
            up: None,
            next_token: 0,
            local: Router::new(&config),
        };
        std::mem::swap(&mut world.local, &mut local);
        world.bridge.start(&mut world.local, now);
        world
    }

    /// An attempt is due: the TCP connection is made at once; CONNECT goes out.
    fn open(&mut self) {
        assert!(
            self.bridge.attempt_due(&self.local, self.now),
            "{:?}",
            self.bridge.state()
        );
        self.bridge.connecting("remote", self.now);
        let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        self.up = Some(self.remote.open_link(99, peer, self.now));
        self.bridge.transport_up(self.now);
    }

    fn connect(&mut self) {
        self.open();
        self.shuttle();
        assert_eq!(self.bridge.state(), State::Connected);
    }

    /// Moves bytes both ways until neither side has more.
    fn shuttle(&mut self) {
        for _ in 0..100 {
            let Some(up) = self.up else { return };
            let out = self.bridge.output().to_vec();
            self.bridge.consume_output(out.len());
            if !out.is_empty() {
                assert_eq!(self.remote.receive(up, &out, self.now), out.len());
            }
            let back = self.remote.output(up).to_vec();
            self.remote.consume_output(up, back.len(), self.now);
            if !back.is_empty() {
                self.bridge.receive(&mut self.local, &back, self.now);
            }
            self.bridge.pump(&mut self.local, self.now);
            if out.is_empty() && back.is_empty() && self.bridge.output().is_empty() {
                return;
            }
        }
        panic!("no quiet state after 100 rounds");
    }

    /// The remote end goes away; the bridge notices.
    fn drop_remote(&mut self) {
        if let Some(up) = self.up.take() {
            self.remote.close_link(up, LinkLoss::PeerClosed, self.now);
        }
        self.bridge.lost(&mut self.local, "test", self.now);
    }

    fn client(&mut self, remote: bool, id: &str) -> LinkId {
        self.next_token += 1;
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let now = self.now;
        let router = if remote {
            &mut self.remote
        } else {
            &mut self.local
        };
        let link = router.open_link(self.next_token, peer, now);
        let connect = Connect {
            protocol: V4,
            clean_start: true,
            keep_alive: 0,
            client_id: id.into(),
            will: None,
            username: None,
            password: None,
            properties: Properties::default(),
        };
        send(router, link, &Packet::Connect(Box::new(connect)), now);
        let _ = read(router, link, now);
        link
    }
}

fn send(router: &mut Router, link: LinkId, packet: &Packet, now: Instant) {
    let mut bytes = Vec::new();
    encode(packet, V4, &mut bytes);
    router.receive(link, &bytes, now);
}

fn read(router: &mut Router, link: LinkId, now: Instant) -> Vec<Packet> {
    let bytes = router.output(link).to_vec();
    router.consume_output(link, bytes.len(), now);
    let mut rest = bytes.as_slice();
    let mut packets = Vec::new();
    while let Some((packet, n)) = decode_packet(rest, V4, u32::MAX).unwrap() {
        packets.push(packet);
        rest = &rest[n..];
    }
    packets
}

fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

/// Subscribes at QoS 2; returns what came with the SUBACK (retained messages).
fn subscribe(router: &mut Router, link: LinkId, filter: &str, now: Instant) -> Vec<Packet> {
    let subscribe = Subscribe {
        packet_id: pid(1),
        filters: vec![SubscriptionRequest {
            filter: filter.into(),
            options: SubscriptionOptions {
                qos: QoS::ExactlyOnce,
                ..SubscriptionOptions::default()
            },
        }],
        properties: Properties::default(),
    };
    send(router, link, &Packet::Subscribe(subscribe), now);
    read(router, link, now)
}

fn publish(topic: &str, payload: &str, qos: QoS, id: u16) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id: (qos != QoS::AtMostOnce).then(|| pid(id)),
        properties: Properties::default(),
        payload: payload.as_bytes().into(),
    })
}

/// The PUBLISH packets among `packets`, as (topic, payload, QoS).
fn published(packets: &[Packet]) -> Vec<(String, String, QoS)> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some((
                p.topic.to_string(),
                String::from_utf8_lossy(&p.payload).into_owned(),
                p.qos,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn prefixes_are_rewritten_both_ways_at_every_qos() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Both, 2)]));
    w.connect();
    let (remote_sub, local_sub) = (w.client(true, "rs"), w.client(false, "ls"));
    let now = w.now;
    subscribe(&mut w.remote, remote_sub, "site/#", now);
    subscribe(&mut w.local, local_sub, "home/#", now);
    let (remote_pub, local_pub) = (w.client(true, "rp"), w.client(false, "lp"));
    for (n, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        send(
            &mut w.local,
            local_pub,
            &publish("home/t/out", "o", qos, 1),
            now,
        );
        w.shuttle();
        assert_eq!(
            published(&read(&mut w.remote, remote_sub, now)),
            [("site/t/out".into(), "o".into(), qos)],
            "qos {n}"
        );
        send(
            &mut w.remote,
            remote_pub,
            &publish("site/t/in", "i", qos, 1),
            now,
        );
        w.shuttle();
        let got = published(&read(&mut w.local, local_sub, now));
        // The local subscriber saw its own broker's "o" too, and nothing went round again:
        // the 3.1.1 remote end sent "o" back (it matches `site/t/#`), and the bridge's echo
        // check dropped it; "i" was not offered back to the bridge (No Local locally).
        assert_eq!(
            got,
            [
                ("home/t/out".into(), "o".into(), qos),
                ("home/t/in".into(), "i".into(), qos)
            ]
        );
        assert!(
            published(&read(&mut w.remote, remote_sub, now))
                .iter()
                .all(|m| m.0 == "site/t/in")
        );
        // Finish QoS 2 on both publishers' side.
        for (router, link) in [(&mut w.local, local_pub), (&mut w.remote, remote_pub)] {
            for packet in read(router, link, now) {
                if let Packet::PubRec(rec) = packet {
                    send(
                        router,
                        link,
                        &Packet::PubRel(PubResponse::new(rec.packet_id)),
                        now,
                    );
                }
            }
        }
        w.shuttle();
    }
}

#[test]
fn a_refused_connect_waits_the_backoff_and_a_success_resets_it() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.open();
    let refusal = ConnAck {
        session_present: false,
        return_code: ConnectReturnCode::NotAuthorized,
        reason: ReasonCode::NOT_AUTHORIZED,
        properties: Properties::default(),
    };
    let mut bytes = Vec::new();
    encode(&Packet::ConnAck(refusal), V4, &mut bytes);
    w.bridge.receive(&mut w.local, &bytes, w.now);
    let why = w
        .bridge
        .take_close()
        .expect("the bridge closes on a refusal");
    assert!(why.contains("code 5"), "{why}");
    w.up = None;
    w.bridge.lost(&mut w.local, &why, w.now);
    // The first delay after a failure is the base, 5 s: not due before.
    assert_eq!(
        w.bridge.state(),
        State::Idle(Some(w.now + Duration::from_secs(5)))
    );
    assert!(
        !w.bridge
            .attempt_due(&w.local, w.now + Duration::from_secs(4))
    );
    w.now += Duration::from_secs(5);
    w.connect();
    w.drop_remote();
    assert_eq!(
        w.bridge.state(),
        State::Idle(Some(w.now + Duration::from_secs(5))),
        "reset by the success"
    );
}

#[test]
fn keepalive_sends_pingreq_and_a_missing_pingresp_ends_the_connection() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.connect();
    let next = w.bridge.tick(&mut w.local, w.now).unwrap();
    assert_eq!(next, w.now + Duration::from_secs(10));
    w.now = next;
    w.bridge.tick(&mut w.local, w.now);
    let (packet, _) = decode_packet(w.bridge.output(), V4, u32::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(packet, Packet::PingReq);
    // A PINGRESP clears it...
    w.shuttle();
    assert!(w.bridge.take_close().is_none());
    // ...a remote end that stops answering is given one keepalive period.
    w.up = None;
    w.now += Duration::from_secs(10);
    w.bridge.tick(&mut w.local, w.now);
    w.bridge.consume_output(usize::MAX);
    w.now += Duration::from_secs(10);
    w.bridge.tick(&mut w.local, w.now);
    let why = w.bridge.take_close().expect("keepalive loss");
    assert!(why.contains("keepalive"), "{why}");
}

/// While the broker holds the bridge's reads (its memory budget), a PINGRESP that cannot be
/// read is not a lost connection; once reads go on, a silent remote end is given one period.
#[test]
fn a_pingresp_is_not_awaited_while_reads_are_held() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.connect();
    w.up = None;
    w.now += Duration::from_secs(10);
    w.bridge.tick(&mut w.local, w.now);
    w.bridge.consume_output(usize::MAX);
    w.bridge.hold_reads(true);
    for _ in 0..5 {
        w.now += Duration::from_secs(10);
        let next = w.bridge.tick(&mut w.local, w.now).unwrap();
        assert!(next > w.now, "a held bridge's timer must lie ahead");
        assert!(w.bridge.take_close().is_none());
    }
    w.bridge.hold_reads(false);
    w.now += Duration::from_secs(10);
    w.bridge.tick(&mut w.local, w.now);
    let why = w.bridge.take_close().expect("keepalive loss");
    assert!(why.contains("keepalive"), "{why}");
}

#[test]
fn messages_queue_while_the_remote_end_is_down_and_flush_in_order() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.connect();
    let remote_sub = w.client(true, "rs");
    let now = w.now;
    subscribe(&mut w.remote, remote_sub, "site/#", now);
    w.drop_remote();
    let local_pub = w.client(false, "lp");
    for i in 0..5 {
        let payload = format!("m{i}");
        send(
            &mut w.local,
            local_pub,
            &publish("home/t/x", &payload, QoS::AtLeastOnce, i + 1),
            now,
        );
    }
    // Nothing reaches the remote end while it is down; the local publisher is answered.
    assert_eq!(read(&mut w.local, local_pub, now).len(), 5);
    assert_eq!(w.local.queued_for("local.host.b"), 5);
    w.now += Duration::from_secs(5);
    w.connect();
    let got: Vec<String> = published(&read(&mut w.remote, remote_sub, w.now))
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(got, ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(w.local.queued_for("local.host.b"), 0);
}

#[test]
fn a_delivery_unacknowledged_remotely_is_sent_again_after_a_reconnect() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    w.connect();
    let local_pub = w.client(false, "lp");
    let now = w.now;
    send(
        &mut w.local,
        local_pub,
        &publish("home/t/x", "once", QoS::AtLeastOnce, 1),
        now,
    );
    // Taken from the local side and written, but the remote end is gone before its PUBACK.
    w.bridge.pump(&mut w.local, now);
    assert!(!w.bridge.output().is_empty());
    w.drop_remote();
    let remote_sub = w.client(true, "rs");
    subscribe(&mut w.remote, remote_sub, "site/#", now);
    w.now += Duration::from_secs(5);
    w.connect();
    let got = read(&mut w.remote, remote_sub, w.now);
    assert_eq!(
        published(&got),
        [("site/t/x".into(), "once".into(), QoS::AtLeastOnce)]
    );
}

#[test]
fn a_refused_bridge_bit_is_dropped_and_retried_at_once() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    s.try_private = true;
    let mut w = World::new(&s);
    w.open();
    w.shuttle();
    let why = w
        .bridge
        .take_close()
        .expect("the remote router refuses level 0x84");
    assert!(why.contains("code 1"), "{why}");
    w.up = None;
    w.bridge.lost(&mut w.local, &why, w.now);
    assert_eq!(w.bridge.state(), State::Idle(Some(w.now)));
    w.connect();
}

#[test]
fn the_local_state_topic_says_0_then_1() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    let watcher = w.client(false, "watch");
    let now = w.now;
    let got = subscribe(&mut w.local, watcher, "$SYS/broker/connection/b/state", now);
    assert_eq!(published(&got)[0].1, "0", "retained from the start");
    w.connect();
    assert_eq!(published(&read(&mut w.local, watcher, w.now))[0].1, "1");
    w.drop_remote();
    assert_eq!(published(&read(&mut w.local, watcher, w.now))[0].1, "0");
}

/// A failed attempt (the connection refused before CONNACK, say).
fn fail_attempt(w: &mut World) {
    w.open();
    w.up = None;
    w.bridge.lost(&mut w.local, "refused", w.now);
}

#[test]
fn failover_tries_each_address_then_waits_and_returns_to_the_primary() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    let address = |port| BridgeAddress {
        host: "127.0.0.1".into(),
        port,
    };
    s.addresses = vec![address(1), address(2), address(3)];
    let mut w = World::new(&s);
    let mut tried = Vec::new();
    for _ in 0..3 {
        tried.push(w.bridge.address());
        fail_attempt(&mut w);
    }
    assert_eq!(tried, [0, 1, 2]);
    // A full round failed: back to the primary, after the backoff.
    assert_eq!(w.bridge.address(), 0);
    assert_eq!(
        w.bridge.state(),
        State::Idle(Some(w.now + Duration::from_secs(5)))
    );
    w.now += Duration::from_secs(5);
    fail_attempt(&mut w);
    w.connect();
    assert_eq!(w.bridge.address(), 1, "connected on the secondary");
    w.drop_remote();
    assert_eq!(
        w.bridge.address(),
        0,
        "the primary first after a lost connection"
    );
    // Round robin moves on instead.
    s.round_robin = true;
    let mut w = World::new(&s);
    w.connect();
    w.drop_remote();
    assert_eq!(w.bridge.address(), 1);
}

#[test]
fn start_type_once_does_not_reconnect() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    s.start_type = config::StartType::Once;
    let mut w = World::new(&s);
    w.connect();
    w.drop_remote();
    assert_eq!(w.bridge.state(), State::Idle(None));
    w.now += Duration::from_secs(3600);
    assert!(!w.bridge.attempt_due(&w.local, w.now));
}

#[test]
fn a_lazy_bridge_connects_at_its_threshold_and_leaves_when_idle() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    s.start_type = config::StartType::Lazy;
    s.threshold = 3;
    s.idle_timeout = 20;
    let mut w = World::new(&s);
    assert!(!w.bridge.attempt_due(&w.local, w.now));
    let local_pub = w.client(false, "lp");
    let now = w.now;
    // QoS 0 counts too: a lazy bridge's session queues it, as mosquitto's does.
    for i in 0..2 {
        send(
            &mut w.local,
            local_pub,
            &publish("home/t/x", "m", QoS::AtMostOnce, i + 1),
            now,
        );
    }
    assert!(
        !w.bridge.attempt_due(&w.local, w.now),
        "below the threshold"
    );
    send(
        &mut w.local,
        local_pub,
        &publish("home/t/x", "m", QoS::AtLeastOnce, 3),
        now,
    );
    w.connect();
    assert_eq!(w.local.queued_for("local.host.b"), 0, "the queue went out");
    w.now += Duration::from_secs(20);
    w.bridge.tick(&mut w.local, w.now);
    let why = w.bridge.take_close().expect("idle");
    assert!(why.contains("idle"), "{why}");
    w.drop_remote();
    assert_eq!(
        w.bridge.state(),
        State::Idle(None),
        "until the threshold again"
    );
}

#[test]
fn outgoing_retain_false_clears_the_flag() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    s.outgoing_retain = false;
    let mut w = World::new(&s);
    w.connect();
    let local_pub = w.client(false, "lp");
    let now = w.now;
    let mut retained = publish("home/t/r", "kept", QoS::AtLeastOnce, 1);
    if let Packet::Publish(p) = &mut retained {
        p.retain = true;
    }
    send(&mut w.local, local_pub, &retained, now);
    w.shuttle();
    let late = w.client(true, "late");
    assert!(published(&subscribe(&mut w.remote, late, "site/#", now)).is_empty());
}

#[test]
fn retained_messages_go_out_again_on_every_connection() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Out, 1)]));
    let local_pub = w.client(false, "lp");
    let now = w.now;
    let mut retained = publish("home/t/r", "kept", QoS::AtLeastOnce, 1);
    if let Packet::Publish(p) = &mut retained {
        p.retain = true;
    }
    send(&mut w.local, local_pub, &retained, now);
    for round in 0..2 {
        let watcher = w.client(true, "watch");
        subscribe(&mut w.remote, watcher, "site/#", w.now);
        w.connect();
        let mut got = published(&read(&mut w.remote, watcher, w.now));
        // The first time it also waited in the queue (published while the bridge was down),
        // so it comes twice: at least once is the promise of QoS 1.
        got.dedup();
        assert_eq!(
            got,
            [("site/t/r".into(), "kept".into(), QoS::AtLeastOnce)],
            "round {round}"
        );
        w.drop_remote();
        w.now += Duration::from_secs(30);
    }
}

#[test]
fn attempt_unsubscribe_removes_what_an_earlier_in_line_left_remotely() {
    let mut w = World::new(&settings(vec![topic("t/#", BridgeDirection::Both, 1)]));
    w.connect();
    let has = |w: &World| {
        w.remote
            .subscription_lines()
            .iter()
            .any(|l| l.starts_with("host.b site/t/#"))
    };
    assert!(has(&w));
    w.drop_remote();
    // The same bridge, now `out` only, with its remote session kept.
    w.bridge = Bridge::new(
        &settings(vec![topic("t/#", BridgeDirection::Out, 1)]),
        "host",
        1000,
        w.now,
    )
    .unwrap();
    w.bridge.start(&mut w.local, w.now);
    w.connect();
    assert!(!has(&w), "{:?}", w.remote.subscription_lines());
}

#[test]
fn the_will_and_the_protocol_follow_the_settings() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    let will = World::new(&s).bridge.connect_packet().will.expect("a will");
    assert_eq!(
        (&*will.topic, &*will.payload, will.retain),
        ("$SYS/broker/connection/b/state", &b"0"[..], true)
    );
    s.notifications_local_only = true;
    assert!(World::new(&s).bridge.connect_packet().will.is_none());
    s.notification_topic = Some("gw/state".into());
    s.notifications_local_only = false;
    assert_eq!(
        &*World::new(&s).bridge.connect_packet().will.unwrap().topic,
        "gw/state"
    );
    // MQTT 3.1 (MQIsdp) is spoken and accepted.
    s.protocol_version = config::BridgeProtocol::V31;
    let mut w = World::new(&s);
    w.connect();
}

#[test]
fn a_bridge_on_a_secondary_address_goes_back_when_the_primary_answers() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::Out, 1)]);
    let address = |port| BridgeAddress {
        host: "127.0.0.1".into(),
        port,
    };
    s.addresses = vec![address(1), address(2)];
    let mut w = World::new(&s);
    assert!(!w.bridge.probing_primary());
    fail_attempt(&mut w);
    w.connect();
    assert!(w.bridge.probing_primary(), "connected on the secondary");
    w.bridge.primary_is_back();
    let why = w.bridge.take_close().expect("the connection ends");
    assert!(why.contains("primary"), "{why}");
    w.drop_remote();
    assert_eq!(w.bridge.address(), 0);
    assert_eq!(w.bridge.state(), State::Idle(Some(w.now)), "at once");
    // Round robin does not probe.
    s.round_robin = true;
    let mut w = World::new(&s);
    fail_attempt(&mut w);
    w.connect();
    assert!(!w.bridge.probing_primary());
}

#[test]
fn a_packet_above_bridge_max_packet_size_ends_the_connection() {
    let mut s = settings(vec![topic("t/#", BridgeDirection::In, 1)]);
    s.max_packet_size = 100;
    let mut w = World::new(&s);
    w.connect();
    let remote_pub = w.client(true, "rp");
    let now = w.now;
    let big = "x".repeat(500);
    send(
        &mut w.remote,
        remote_pub,
        &publish("site/t/big", &big, QoS::AtLeastOnce, 1),
        now,
    );
    let Some(up) = w.up else { panic!("connected") };
    let bytes = w.remote.output(up).to_vec();
    w.bridge.receive(&mut w.local, &bytes, now);
    let why = w.bridge.take_close().expect("closed");
    assert!(why.contains("bad packet"), "{why}");
}
