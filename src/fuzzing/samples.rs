//! One valid packet of every type for each protocol version: the material of the seed corpus.
//!
//! The MQTT 5 samples carry properties, so the seeds reach the property codec; the 3.x ones
//! carry none, as the version requires.

use std::sync::Arc;

use crate::protocol::{
    Auth, ConnAck, Connect, ConnectReturnCode, Disconnect, Packet, PacketId, Properties,
    ProtocolVersion, PubResponse, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscriptionOptions, SubscriptionRequest, UnsubAck, Unsubscribe, Will,
};

fn id(value: u16) -> PacketId {
    PacketId::new(value).unwrap_or(PacketId(std::num::NonZeroU16::MIN))
}

/// Properties for the packets that may carry them, empty for 3.x.
fn props(version: ProtocolVersion, fill: impl FnOnce(&mut Properties)) -> Properties {
    let mut p = Properties::default();
    if version.is_v5() {
        fill(&mut p);
        p.user_properties.push(("k".into(), "v".into()));
    }
    p
}

/// Every packet type valid for `version`, each with a short name for its seed file.
pub fn sample_packets(version: ProtocolVersion) -> Vec<(&'static str, Packet)> {
    let v5 = version.is_v5();
    let mut packets = vec![
        ("connect", Packet::Connect(Box::new(connect(version)))),
        (
            "connect-minimal",
            Packet::Connect(Box::new(Connect {
                protocol: version,
                clean_start: true,
                keep_alive: 0,
                client_id: "c".into(),
                will: None,
                username: None,
                password: None,
                properties: Properties::default(),
            })),
        ),
        ("connack", Packet::ConnAck(connack(version))),
        (
            "publish-qos0",
            Packet::Publish(publish(version, QoS::AtMostOnce)),
        ),
        (
            "publish-qos1",
            Packet::Publish(publish(version, QoS::AtLeastOnce)),
        ),
        (
            "publish-qos2",
            Packet::Publish(publish(version, QoS::ExactlyOnce)),
        ),
        ("puback", Packet::PubAck(response(version, 1))),
        ("pubrec", Packet::PubRec(response(version, 2))),
        ("pubrel", Packet::PubRel(response(version, 3))),
        ("pubcomp", Packet::PubComp(response(version, 4))),
        ("subscribe", Packet::Subscribe(subscribe(version))),
        (
            "suback",
            Packet::SubAck(SubAck {
                packet_id: id(5),
                reasons: vec![
                    ReasonCode(0),
                    ReasonCode(1),
                    ReasonCode(2),
                    ReasonCode(0x80),
                ],
                properties: props(version, |p| p.reason_string = Some("ok".into())),
            }),
        ),
        (
            "unsubscribe",
            Packet::Unsubscribe(Unsubscribe {
                packet_id: id(6),
                filters: vec!["a/+".into(), "#".into()],
                properties: props(version, |_| {}),
            }),
        ),
        (
            "unsuback",
            Packet::UnsubAck(UnsubAck {
                packet_id: id(6),
                reasons: if v5 {
                    vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]
                } else {
                    Vec::new()
                },
                properties: props(version, |_| {}),
            }),
        ),
        ("pingreq", Packet::PingReq),
        ("pingresp", Packet::PingResp),
        (
            "disconnect",
            Packet::Disconnect(Disconnect {
                reason: if v5 {
                    ReasonCode::DISCONNECT_WITH_WILL
                } else {
                    ReasonCode::NORMAL_DISCONNECTION
                },
                properties: props(version, |p| p.session_expiry_interval = Some(0)),
            }),
        ),
    ];
    if v5 {
        packets.push((
            "auth",
            Packet::Auth(Auth {
                reason: ReasonCode::CONTINUE_AUTHENTICATION,
                properties: props(version, |p| {
                    p.authentication_method = Some("SCRAM-SHA-1".into());
                    p.authentication_data = Some(vec![1, 2, 3]);
                }),
            }),
        ));
    }
    packets
}

fn connect(version: ProtocolVersion) -> Connect {
    Connect {
        protocol: version,
        clean_start: false,
        keep_alive: 60,
        client_id: "client-1".into(),
        will: Some(Will {
            topic: Arc::from("status/client-1"),
            payload: Arc::from(&b"gone"[..]),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: props(version, |p| {
                p.will_delay_interval = Some(5);
                p.content_type = Some("text/plain".into());
            }),
        }),
        username: Some("user".into()),
        password: Some(b"secret".to_vec()),
        properties: props(version, |p| {
            p.session_expiry_interval = Some(3600);
            p.receive_maximum = Some(10);
            p.maximum_packet_size = Some(65_536);
            p.topic_alias_maximum = Some(8);
            p.request_problem_information = Some(1);
        }),
    }
}

fn connack(version: ProtocolVersion) -> ConnAck {
    ConnAck {
        session_present: true,
        return_code: ConnectReturnCode::Accepted,
        reason: ReasonCode::SUCCESS,
        properties: props(version, |p| {
            p.assigned_client_identifier = Some("auto-1".into());
            p.server_keep_alive = Some(30);
            p.maximum_qos = Some(1);
            p.retain_available = Some(1);
            p.wildcard_subscription_available = Some(1);
            p.shared_subscription_available = Some(0);
        }),
    }
}

fn publish(version: ProtocolVersion, qos: QoS) -> Publish {
    let packet_id = (qos != QoS::AtMostOnce).then(|| id(7));
    Publish {
        dup: qos == QoS::ExactlyOnce,
        qos,
        retain: qos == QoS::AtMostOnce,
        topic: Arc::from("sensors/room-1/temperature"),
        packet_id,
        properties: props(version, |p| {
            p.payload_format_indicator = Some(1);
            p.message_expiry_interval = Some(60);
            p.response_topic = Some("replies/room-1".into());
            p.correlation_data = Some(vec![9, 9]);
            p.subscription_identifiers = vec![1, 268_435_455];
            p.topic_alias = Some(3);
        }),
        payload: Arc::from(&b"21.5"[..]),
    }
}

fn response(version: ProtocolVersion, value: u16) -> PubResponse {
    PubResponse {
        packet_id: id(value),
        reason: if version.is_v5() && value.is_multiple_of(2) {
            ReasonCode::NO_MATCHING_SUBSCRIBERS
        } else {
            ReasonCode::SUCCESS
        },
        properties: props(version, |p| p.reason_string = Some("why".into())),
    }
}

fn subscribe(version: ProtocolVersion) -> Subscribe {
    let v5 = version.is_v5();
    let options = |qos| SubscriptionOptions {
        qos,
        no_local: v5,
        retain_as_published: v5,
        retain_handling: if v5 {
            RetainHandling::SendIfNew
        } else {
            RetainHandling::SendAtSubscribe
        },
    };
    Subscribe {
        packet_id: id(5),
        filters: vec![
            SubscriptionRequest {
                filter: "sensors/+/temperature".into(),
                options: options(QoS::AtMostOnce),
            },
            SubscriptionRequest {
                filter: "status/#".into(),
                options: options(QoS::AtLeastOnce),
            },
            SubscriptionRequest {
                filter: "$SYS/broker/uptime".into(),
                options: options(QoS::ExactlyOnce),
            },
        ],
        properties: props(version, |p| p.subscription_identifiers = vec![42]),
    }
}
