//! Mutated valid packets: the decoder never panics, and whatever it accepts re-encodes to bytes
//! that decode to the same packet (the property the fuzz targets check, run here on every build).

use std::sync::Arc;

use super::*;
use crate::protocol::{
    Auth, ConnAck, Connect, ConnectReturnCode, Disconnect, PubResponse, ReasonCode, SubAck,
    Subscribe, SubscriptionOptions, SubscriptionRequest, UnsubAck, Unsubscribe, Will,
};

/// xorshift64: deterministic, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn seeds(version: ProtocolVersion) -> Vec<Packet> {
    let v5 = version.is_v5();
    let props = |p: Properties| if v5 { p } else { Properties::default() };
    vec![
        Packet::Connect(Box::new(Connect {
            protocol: version,
            clean_start: true,
            keep_alive: 5,
            client_id: "c".into(),
            will: Some(Will {
                topic: Arc::from("w"),
                payload: Arc::from(&b"p"[..]),
                qos: QoS::AtLeastOnce,
                retain: false,
                properties: props(will_properties()),
            }),
            username: Some("u".into()),
            password: Some(vec![1]),
            properties: props(connect_properties()),
        })),
        Packet::ConnAck(ConnAck {
            session_present: true,
            return_code: ConnectReturnCode::Accepted,
            reason: ReasonCode::SUCCESS,
            properties: props(connack_properties()),
        }),
        Packet::Publish(Publish {
            properties: props(publish_properties()),
            ..publish(QoS::ExactlyOnce, "a/b", b"xyz")
        }),
        Packet::PubRel(PubResponse {
            packet_id: id(3),
            reason: ReasonCode::SUCCESS,
            properties: props(ack_properties()),
        }),
        Packet::Subscribe(Subscribe {
            packet_id: id(1),
            filters: vec![SubscriptionRequest {
                filter: "a/#".into(),
                options: SubscriptionOptions::default(),
            }],
            properties: Properties::default(),
        }),
        Packet::SubAck(SubAck {
            packet_id: id(1),
            reasons: vec![ReasonCode(1)],
            properties: props(ack_properties()),
        }),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: id(1),
            filters: vec!["a".into()],
            properties: Properties::default(),
        }),
        Packet::UnsubAck(UnsubAck {
            packet_id: id(1),
            reasons: if v5 { vec![ReasonCode(0)] } else { vec![] },
            properties: props(ack_properties()),
        }),
        Packet::Disconnect(Disconnect {
            reason: ReasonCode::SUCCESS,
            properties: props(ack_properties()),
        }),
        Packet::Auth(Auth {
            reason: ReasonCode::SUCCESS,
            properties: ack_properties(),
        }),
    ]
}

#[test]
fn mutated_packets_never_panic_and_round_trip() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for version in ALL {
        for seed in seeds(version) {
            let mut original = Vec::new();
            encode(&seed, version, &mut original);
            for _ in 0..4_000 {
                let mut bytes = original.clone();
                for _ in 0..=rng.below(3) {
                    match rng.below(4) {
                        0 | 1 => {
                            let i = rng.below(bytes.len());
                            bytes[i] = rng.next() as u8;
                        }
                        2 => bytes.truncate(rng.below(bytes.len() + 1)),
                        _ => bytes.push(rng.next() as u8),
                    }
                    if bytes.is_empty() {
                        break;
                    }
                }
                let max = [MAX, 16, u32::MAX][rng.below(3)];
                let Ok(Some((packet, used))) = decode_packet(&bytes, version, max) else {
                    continue;
                };
                accepted += 1;
                assert!(used <= bytes.len());
                let mut again = Vec::new();
                encode(&packet, version, &mut again);
                let decoded = decode_packet(&again, version, u32::MAX);
                assert_eq!(decoded, Ok(Some((packet, again.len()))), "{bytes:02x?}");
            }
        }
    }
    assert!(accepted > 1_000, "only {accepted} mutants decoded");
}
