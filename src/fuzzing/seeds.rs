//! The seed corpus of every target, built from valid packets of every type and version.
//!
//! Written to `fuzz/corpus/<target>/` by the ignored test `generate_seed_corpus` in
//! `tests/fuzz_replay.rs`; see `fuzz/README.md`.

use super::{Op, Script, VERSIONS, sample_packets};
use crate::protocol::{
    Connect, Disconnect, Packet, PacketId, Properties, ProtocolVersion, PubResponse, Publish, QoS,
    Subscribe, SubscriptionOptions, SubscriptionRequest, Unsubscribe, Will, encode,
};

/// One seed: its target, a file name saying what it holds, and its bytes.
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
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

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
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
    seeds.extend(session_seeds());
    seeds.extend(store_seeds());
    #[cfg(feature = "websockets")]
    seeds.extend(ws_frames_seeds());
    seeds
}

/// A masked client frame (RFC 6455 section 5.2), its length in the shortest form.
#[cfg(feature = "websockets")]
fn masked(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x5A, 0x01, 0xC3, 0x7E];
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match u16::try_from(payload.len()) {
        Ok(n @ 0..=125) => out.push(0x80 | n as u8),
        Ok(n) => {
            out.push(0x80 | 126);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Err(_) => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, k)| b ^ k));
    out
}

/// The upgrade request alone and followed by frames, then frame sequences (MQTT packets
/// across frames and fragments, control frames between them, a close) whole and in pieces,
/// and the frames the decoder refuses. The first byte is the piece size.
#[cfg(feature = "websockets")]
fn ws_frames_seeds() -> Vec<Seed> {
    let v = ProtocolVersion::V3_1_1;
    let stream: Vec<u8> = sample_packets(v)
        .iter()
        .flat_map(|(_, packet)| encoded(packet, v))
        .collect();
    let connect = encoded(&connect(v, "ws", true, true), v);
    let (head, tail) = connect.split_at(connect.len() / 2);
    let mut frames = masked(true, 0x2, &[&connect[..], &[0xC0, 0x00]].concat());
    frames.extend(masked(false, 0x2, head));
    frames.extend(masked(true, 0x9, b"ping"));
    frames.extend(masked(false, 0x0, &tail[..1]));
    frames.extend(masked(true, 0xA, b""));
    frames.extend(masked(true, 0x0, &tail[1..]));
    frames.extend(masked(true, 0x2, &stream));
    frames.extend(masked(true, 0x8, &1000u16.to_be_bytes()));
    let request = b"GET /mqtt HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt, mqttv3.1\r\n\r\n";
    let huge = [
        &[0x82, 0xFF][..],
        &(1u64 << 40).to_be_bytes(),
        &[1, 2, 3, 4],
    ]
    .concat();
    let cases: [(&str, u8, Vec<u8>); 9] = [
        ("handshake", 0, request.to_vec()),
        ("handshake-then-frames", 5, [&request[..], &frames].concat()),
        ("frames", 0, frames.clone()),
        ("frames-in-pieces-of-1", 1, frames.clone()),
        ("frames-in-pieces-of-3", 3, frames),
        ("frame-16-bit-length", 2, masked(true, 0x2, &[0x30; 300])),
        ("frame-announcing-1-tib", 0, huge),
        ("text-frame", 0, masked(true, 0x1, b"{}")),
        ("unmasked-frame", 0, vec![0x82, 0x02, 0xC0, 0x00]),
    ];
    cases
        .into_iter()
        .map(|(name, size, bytes)| Seed {
            target: "ws_frames",
            name: name.into(),
            bytes: [&[size][..], &bytes].concat(),
        })
        .collect()
}

/// The sample store whole (the target puts a header before it, so without its own header it
/// is read as records too), and each record alone.
fn store_seeds() -> Vec<Seed> {
    let file = super::sample_file();
    let mut seeds = vec![Seed {
        target: "store",
        name: "sample-file".into(),
        bytes: file,
    }];
    for (i, record) in super::sample_records().iter().enumerate() {
        let mut bytes = Vec::new();
        crate::store::record::encode(record, &mut bytes);
        seeds.push(Seed {
            target: "store",
            name: format!("record-{i}"),
            bytes,
        });
    }
    seeds
}

/// The index in [`super::structured`]'s type choice: wire type minus one, AUTH last.
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

fn id(value: u16) -> PacketId {
    PacketId::new(value).unwrap_or(PacketId(std::num::NonZeroU16::MIN))
}

fn connect(version: ProtocolVersion, client_id: &str, clean: bool, will: bool) -> Packet {
    Packet::Connect(Box::new(Connect {
        protocol: version,
        clean_start: clean,
        keep_alive: 5,
        client_id: client_id.into(),
        will: will.then(|| Will {
            topic: format!("status/{client_id}").into(),
            payload: b"offline"[..].into(),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Properties::default(),
        }),
        username: None,
        password: None,
        properties: Properties::default(),
    }))
}

fn subscribe(packet_id: u16, filters: &[(&str, QoS)]) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: id(packet_id),
        filters: filters
            .iter()
            .map(|&(filter, qos)| SubscriptionRequest {
                filter: filter.into(),
                options: SubscriptionOptions {
                    qos,
                    ..SubscriptionOptions::default()
                },
            })
            .collect(),
        properties: Properties::default(),
    })
}

fn publish(topic: &str, qos: QoS, packet_id: u16, retain: bool) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain,
        topic: topic.into(),
        packet_id: (qos != QoS::AtMostOnce).then(|| id(packet_id)),
        properties: Properties::default(),
        payload: b"payload"[..].into(),
    })
}

/// Client scripts: two or three clients subscribing, publishing at every QoS, acknowledging,
/// leaving their wills, reconnecting to persistent sessions, and timing out.
fn session_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for version in [ProtocolVersion::V3_1, ProtocolVersion::V3_1_1] {
        seeds.push(Seed {
            target: "session",
            name: format!("{}-two-clients", tag(version)),
            bytes: two_clients(version, [0x01, 4, 0, 0]).into_bytes(),
        });
    }
    // The same with every configuration option of the mosquitto.conf that changes delivery:
    // a 16-byte window, an hour's session expiry, a mount point with maximum QoS 1 on every
    // other link, no retained messages, 8-byte payloads, upgraded QoS, duplicate messages.
    let v = ProtocolVersion::V3_1_1;
    seeds.push(Seed {
        target: "session",
        name: "v311-two-clients-options".into(),
        bytes: two_clients(v, [0x0D, 0xFC, 0, 0]).into_bytes(),
    });
    // Slow reader: a tiny window and queue fill up while nothing is read, then drain.
    let v = ProtocolVersion::V3_1_1;
    let mut script = Script::new([0x80, 2, 4, 0])
        .op(Op::Open)
        .op(Op::Open)
        .send(0, &connect(v, "slow", true, false), v, 1000)
        .send(1, &connect(v, "", true, true), v, 1000)
        .send(0, &subscribe(1, &[("t", QoS::ExactlyOnce)]), v, 1000);
    for n in 1..=6 {
        script = script.send(1, &publish("t", QoS::AtLeastOnce, n, n == 6), v, 1000);
    }
    script = script
        .op(Op::Consume { link: 0, amount: 5 })
        .read(0)
        .send(0, &Packet::PubAck(PubResponse::new(id(1))), v, 1000)
        .read(0)
        .op(Op::Close { link: 1, loss: 1 })
        .read(0);
    seeds.push(Seed {
        target: "session",
        name: "v311-slow-reader".into(),
        bytes: script.into_bytes(),
    });
    // Retained backlog: more retained QoS 1 messages than the window of 1 lets out, a live
    // message on a topic the backlog has not reached, and acknowledgements that drain it.
    let mut script = Script::new([0, 2, 0, 0])
        .op(Op::Open)
        .op(Op::Open)
        .send(0, &connect(v, "store", true, false), v, 1000)
        .send(1, &connect(v, "sub", false, false), v, 1000);
    for n in 1..=6 {
        let topic = format!("r/{n}/x");
        script = script.send(0, &publish(&topic, QoS::AtLeastOnce, n, true), v, 1000);
    }
    script = script
        .send(1, &subscribe(1, &[("r/+/x", QoS::AtLeastOnce)]), v, 1000)
        .send(0, &publish("r/5/x", QoS::AtMostOnce, 0, false), v, 1000)
        .read(1);
    for n in 1..=8 {
        script = script
            .send(1, &Packet::PubAck(PubResponse::new(id(n))), v, 1000)
            .read(1);
    }
    seeds.push(Seed {
        target: "session",
        name: "v311-retained-backlog".into(),
        bytes: script.into_bytes(),
    });
    // Refusals and timeouts: a 5.0 CONNECT, a link that never sends CONNECT, and garbage.
    let script = Script::new([0, 0, 0, 2])
        .op(Op::Open)
        .op(Op::Open)
        .op(Op::Open)
        .send(
            0,
            &connect(ProtocolVersion::V5, "five", true, false),
            ProtocolVersion::V5,
            1000,
        )
        .op(Op::Send {
            link: 2,
            bytes: &[0x10, 0x04, 0x00, 0x02, b'M', b'Q'],
        })
        .read(0)
        .op(Op::Advance { tenths: 30 })
        .op(Op::Tick)
        .read(1)
        .read(2);
    seeds.push(Seed {
        target: "session",
        name: "refusals-and-timeouts".into(),
        bytes: script.into_bytes(),
    });
    seeds.push(Seed {
        target: "session",
        name: "v311-host-client".into(),
        bytes: host_client().into_bytes(),
    });
    seeds.push(Seed {
        target: "session",
        name: "v311-memory-budget-and-rate".into(),
        bytes: budget_and_rate().into_bytes(),
    });
    seeds
}

/// A memory budget of a few kilobytes and a publish rate of 2 a second (`config_from` head
/// bits): a subscriber that does not read while a publisher floods it at QoS 0 and 1, so the
/// publisher is held for its rate and the budget's episode starts, pauses it and reaches the
/// limit; then time passes, the subscriber reads and acknowledges, and everything resumes.
fn budget_and_rate() -> Script {
    let v = ProtocolVersion::V3_1_1;
    let mut script = Script::new([0x30, 7, 200, 0])
        .op(Op::Open)
        .op(Op::Open)
        .send(0, &connect(v, "slow", false, false), v, 1000)
        .send(1, &connect(v, "flood", true, false), v, 1000)
        .send(0, &subscribe(1, &[("t/#", QoS::AtLeastOnce)]), v, 1000);
    for n in 1..=24 {
        let qos = if n % 3 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::AtMostOnce
        };
        script = script.send(1, &publish(&format!("t/{n}"), qos, n, n % 4 == 0), v, 1000);
    }
    script = script
        .op(Op::Advance { tenths: 15 })
        .op(Op::Tick)
        .read(1)
        .op(Op::Open)
        .send(2, &connect(v, "late", true, false), v, 1000)
        .read(2);
    for n in 1..=6 {
        script = script
            .read(0)
            .send(0, &Packet::PubAck(PubResponse::new(id(n))), v, 1000)
            .op(Op::Advance { tenths: 5 })
            .op(Op::Tick);
    }
    script.read(1)
}

/// An embedded broker's host program beside a network client: retained publications at every
/// QoS both ways, a host subscription of capacity 1 that fills while nothing is taken, then
/// takes, a refused topic and filter, and a dropped subscription.
fn host_client() -> Script {
    let v = ProtocolVersion::V3_1_1;
    let mut script = Script::new([0x01, 4, 0, 0])
        .op(Op::Open)
        .send(0, &connect(v, "device", true, false), v, 1000)
        .send(0, &subscribe(1, &[("a/#", QoS::ExactlyOnce)]), v, 1000)
        .read(0)
        // "a/b" at QoS 1, retained; "a/b/c" at QoS 2; "+/bad" is refused by the handle.
        .op(Op::HostPublish {
            topic: 1,
            flags: 5,
            payload: b"21.5",
        })
        .op(Op::HostPublish {
            topic: 2,
            flags: 2,
            payload: b"on",
        })
        .op(Op::HostPublish {
            topic: 6,
            flags: 0,
            payload: b"x",
        })
        .read(0)
        // "a/+" at QoS 1 with capacity 1, and the refused "a/#/x".
        .op(Op::HostSubscribe {
            filter: 2,
            flags: 1,
        })
        .op(Op::HostSubscribe {
            filter: 7,
            flags: 0,
        });
    for n in 1..=4 {
        script = script.send(0, &publish("a/x", QoS::AtLeastOnce, n, false), v, 1000);
    }
    script
        .read(0)
        .op(Op::HostTake {
            subscription: 0,
            count: 2,
        })
        .op(Op::HostTake {
            subscription: 0,
            count: 9,
        })
        .op(Op::HostDrop { subscription: 0 })
        .send(0, &publish("a/y", QoS::AtMostOnce, 0, false), v, 1000)
        .read(0)
}

/// Two clients subscribing, publishing at every QoS, acknowledging, leaving, and one
/// reconnecting to its persistent session, on the configuration `head`.
fn two_clients(version: ProtocolVersion, head: [u8; 4]) -> Script {
    let v = version;
    let ack = |id_value| PubResponse::new(id(id_value));
    Script::new(head)
        .op(Op::Open)
        .op(Op::Open)
        .send(0, &connect(v, "sub", false, false), v, 1000)
        .send(1, &connect(v, "pub", true, true), v, 3)
        .read(0)
        .read(1)
        .send(
            0,
            &subscribe(1, &[("a/+", QoS::ExactlyOnce), ("#", QoS::AtLeastOnce)]),
            v,
            1000,
        )
        .send(0, &subscribe(2, &[("a/#/b", QoS::AtMostOnce)]), v, 1000)
        .read(0)
        .send(1, &publish("a/b", QoS::AtMostOnce, 0, false), v, 1000)
        .send(1, &publish("a/c", QoS::AtLeastOnce, 1, true), v, 1000)
        .send(1, &publish("a/d", QoS::ExactlyOnce, 2, false), v, 4)
        .send(1, &Packet::PubRel(ack(2)), v, 1000)
        .op(Op::Consume { link: 0, amount: 9 })
        .read(0)
        .read(1)
        .send(0, &Packet::PubAck(ack(1)), v, 1000)
        .send(0, &Packet::PubRec(ack(2)), v, 1000)
        .send(0, &Packet::PubComp(ack(2)), v, 1000)
        .send(0, &Packet::PingReq, v, 1000)
        .op(Op::Close { link: 1, loss: 0 })
        .read(0)
        .send(
            0,
            &Packet::Unsubscribe(Unsubscribe {
                packet_id: id(3),
                filters: vec!["#".into()],
                properties: Properties::default(),
            }),
            v,
            1000,
        )
        .send(0, &Packet::Disconnect(Disconnect::default()), v, 1000)
        .read(0)
        .op(Op::Open)
        .send(0, &connect(v, "sub", false, false), v, 1000)
        .read(0)
        .op(Op::Advance { tenths: 80 })
        .op(Op::Tick)
        .read(0)
}
