//! Every packet type, in every version where it exists, survives encode → decode → encode.

use std::sync::Arc;

use super::*;
use crate::protocol::PropertyValues;
use crate::protocol::decode_connect::{reason_for, return_code_for};
use crate::protocol::{
    Auth, ConnAck, Connect, ConnectReturnCode, Disconnect, PubResponse, ReasonCode, RetainHandling,
    SubAck, Subscribe, SubscriptionOptions, SubscriptionRequest, UnsubAck, Unsubscribe, Will,
};

fn connect(protocol: ProtocolVersion) -> Connect {
    Connect {
        protocol,
        clean_start: true,
        keep_alive: 60,
        client_id: "client-1".into(),
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    }
}

fn full_connect(protocol: ProtocolVersion, qos: QoS) -> Connect {
    let v5 = protocol.is_v5();
    Connect {
        clean_start: false,
        keep_alive: 0,
        client_id: String::new(),
        will: Some(Will {
            topic: Arc::from("clients/1/status"),
            payload: Arc::from(&b"offline\0\xff"[..]),
            qos,
            retain: qos == QoS::AtLeastOnce,
            properties: if v5 {
                will_properties()
            } else {
                Properties::default()
            },
        }),
        username: Some("user".into()),
        password: Some(vec![0, 1, 2, 0xFF]),
        properties: if v5 {
            connect_properties()
        } else {
            Properties::default()
        },
        ..connect(protocol)
    }
}

#[test]
fn connect_every_version() {
    for version in ALL {
        // A CONNECT is decoded by its own version, whatever the connection's.
        for conn_version in ALL {
            let bytes = round_trip(&Packet::Connect(Box::new(connect(version))), version);
            assert_eq!(
                decode_one(&bytes, conn_version),
                Packet::Connect(Box::new(connect(version)))
            );
        }
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            round_trip(
                &Packet::Connect(Box::new(full_connect(version, qos))),
                version,
            );
        }
    }
}

#[test]
fn connect_v5_password_without_user_name() {
    let c = Connect {
        password: Some(b"token".to_vec()),
        ..connect(ProtocolVersion::V5)
    };
    round_trip(&Packet::Connect(Box::new(c)), ProtocolVersion::V5);
}

#[test]
fn connack_every_version() {
    use ConnectReturnCode::*;
    let codes = [
        Accepted,
        UnacceptableProtocolVersion,
        IdentifierRejected,
        ServerUnavailable,
        BadUserNameOrPassword,
        NotAuthorized,
    ];
    for version in [ProtocolVersion::V3_1, ProtocolVersion::V3_1_1] {
        for (code, session_present) in codes.into_iter().zip([true, false].into_iter().cycle()) {
            let connack = ConnAck {
                session_present,
                return_code: code,
                reason: reason_for(code),
                properties: Properties::default(),
            };
            round_trip(&Packet::ConnAck(connack), version);
        }
    }
    for (reason, properties) in [
        (ReasonCode::SUCCESS, connack_properties()),
        (ReasonCode::SUCCESS, Properties::default()),
        (ReasonCode::BANNED, ack_properties()),
        (ReasonCode::QUOTA_EXCEEDED, Properties::default()),
    ] {
        let connack = ConnAck {
            session_present: reason == ReasonCode::SUCCESS,
            return_code: return_code_for(reason),
            reason,
            properties,
        };
        round_trip(&Packet::ConnAck(connack), ProtocolVersion::V5);
    }
}

#[test]
fn publish_every_qos_and_flag() {
    for version in ALL {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            for (dup, retain) in [(false, false), (true, false), (false, true), (true, true)] {
                let p = Publish {
                    dup: dup && qos != QoS::AtMostOnce,
                    retain,
                    ..publish(qos, "sensors/x/t", b"payload")
                };
                round_trip(&Packet::Publish(p), version);
            }
            round_trip(&Packet::Publish(publish(qos, "a", b"")), version);
            let big = vec![0xA5; 200_000];
            round_trip(&Packet::Publish(publish(qos, "big", &big)), version);
        }
    }
}

#[test]
fn publish_v5_with_every_property() {
    for qos in [QoS::AtMostOnce, QoS::ExactlyOnce] {
        let p = Publish {
            properties: publish_properties(),
            ..publish(qos, "t/1", b"{}")
        };
        round_trip(&Packet::Publish(p), ProtocolVersion::V5);
        // An empty topic stands for the topic alias.
        let p = Publish {
            properties: PropertyValues {
                topic_alias: Some(1),
                ..PropertyValues::default()
            }
            .into(),
            ..publish(qos, "", b"x")
        };
        round_trip(&Packet::Publish(p), ProtocolVersion::V5);
    }
}

#[test]
fn pub_responses_every_version() {
    type Make = fn(PubResponse) -> Packet;
    let kinds: [Make; 4] = [
        Packet::PubAck,
        Packet::PubRec,
        Packet::PubRel,
        Packet::PubComp,
    ];
    for make in kinds {
        for version in ALL {
            round_trip(&make(PubResponse::new(id(1))), version);
            round_trip(&make(PubResponse::new(id(u16::MAX))), version);
        }
        for (reason, properties) in [
            (ReasonCode::SUCCESS, Properties::default()),
            (ReasonCode::NO_MATCHING_SUBSCRIBERS, Properties::default()),
            (ReasonCode::SUCCESS, ack_properties()),
            (ReasonCode::PACKET_IDENTIFIER_NOT_FOUND, ack_properties()),
        ] {
            let r = PubResponse {
                packet_id: id(7),
                reason,
                properties,
            };
            round_trip(&make(r), ProtocolVersion::V5);
        }
    }
}

fn request(filter: &str, qos: QoS) -> SubscriptionRequest {
    SubscriptionRequest {
        filter: filter.into(),
        options: SubscriptionOptions {
            qos,
            ..SubscriptionOptions::default()
        },
    }
}

#[test]
fn subscribe_every_version() {
    let filters = vec![
        request("a/b", QoS::AtMostOnce),
        request("a/+/#", QoS::AtLeastOnce),
        // Not a valid filter, but judging that is the router's job.
        request("a/#/b", QoS::ExactlyOnce),
    ];
    for version in ALL {
        let s = Subscribe {
            packet_id: id(3),
            filters: filters.clone(),
            properties: Properties::default(),
        };
        round_trip(&Packet::Subscribe(s), version);
    }
    let mut v5_filters = filters;
    v5_filters.push(SubscriptionRequest {
        filter: "$share/g/x".into(),
        options: SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
        },
    });
    v5_filters.push(SubscriptionRequest {
        filter: "y".into(),
        options: SubscriptionOptions {
            retain_handling: RetainHandling::SendIfNew,
            ..SubscriptionOptions::default()
        },
    });
    let s = Subscribe {
        packet_id: id(4),
        filters: v5_filters,
        properties: PropertyValues {
            subscription_identifiers: vec![99],
            user_properties: user_properties(),
            ..PropertyValues::default()
        }
        .into(),
    };
    round_trip(&Packet::Subscribe(s), ProtocolVersion::V5);
}

#[test]
fn suback_every_version() {
    let reasons = vec![
        ReasonCode::GRANTED_QOS_0,
        ReasonCode::GRANTED_QOS_1,
        ReasonCode::GRANTED_QOS_2,
        ReasonCode::UNSPECIFIED_ERROR,
    ];
    for version in ALL {
        let s = SubAck {
            packet_id: id(3),
            reasons: reasons.clone(),
            properties: Properties::default(),
        };
        round_trip(&Packet::SubAck(s), version);
    }
    let s = SubAck {
        packet_id: id(3),
        reasons: vec![ReasonCode::TOPIC_FILTER_INVALID, ReasonCode::GRANTED_QOS_1],
        properties: ack_properties(),
    };
    round_trip(&Packet::SubAck(s), ProtocolVersion::V5);
}

#[test]
fn unsubscribe_and_unsuback_every_version() {
    for version in ALL {
        let u = Unsubscribe {
            packet_id: id(9),
            filters: vec!["a/b".into(), "#".into()],
            properties: Properties::default(),
        };
        round_trip(&Packet::Unsubscribe(u), version);
        let u = UnsubAck {
            packet_id: id(9),
            reasons: if version.is_v5() {
                vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]
            } else {
                Vec::new()
            },
            properties: Properties::default(),
        };
        round_trip(&Packet::UnsubAck(u), version);
    }
    let u = Unsubscribe {
        packet_id: id(9),
        filters: vec!["x".into()],
        properties: PropertyValues {
            user_properties: user_properties(),
            ..PropertyValues::default()
        }
        .into(),
    };
    round_trip(&Packet::Unsubscribe(u), ProtocolVersion::V5);
    let u = UnsubAck {
        packet_id: id(9),
        reasons: vec![ReasonCode::NOT_AUTHORIZED],
        properties: ack_properties(),
    };
    round_trip(&Packet::UnsubAck(u), ProtocolVersion::V5);
}

#[test]
fn ping_and_disconnect_every_version() {
    for version in ALL {
        assert_eq!(round_trip(&Packet::PingReq, version), [0xC0, 0]);
        assert_eq!(round_trip(&Packet::PingResp, version), [0xD0, 0]);
        let d = Packet::Disconnect(Disconnect::default());
        assert_eq!(round_trip(&d, version), [0xE0, 0]);
    }
    let with_will = Disconnect {
        reason: ReasonCode::DISCONNECT_WITH_WILL,
        properties: Properties::default(),
    };
    let bytes = round_trip(&Packet::Disconnect(with_will), ProtocolVersion::V5);
    assert_eq!(bytes, [0xE0, 1, 0x04]);
    let full = Disconnect {
        reason: ReasonCode::SERVER_MOVED,
        properties: PropertyValues {
            session_expiry_interval: Some(5),
            server_reference: Some("elsewhere".into()),
            ..(*ack_properties()).clone()
        }
        .into(),
    };
    round_trip(&Packet::Disconnect(full), ProtocolVersion::V5);
}

#[test]
fn auth_v5() {
    assert_eq!(
        round_trip(&Packet::Auth(Auth::default()), ProtocolVersion::V5),
        [0xF0, 0]
    );
    let bytes = round_trip(
        &Packet::Auth(Auth {
            reason: ReasonCode::CONTINUE_AUTHENTICATION,
            properties: Properties::default(),
        }),
        ProtocolVersion::V5,
    );
    assert_eq!(bytes, [0xF0, 2, 0x18, 0]);
    let a = Auth {
        reason: ReasonCode::RE_AUTHENTICATE,
        properties: PropertyValues {
            authentication_method: Some("SCRAM-SHA-1".into()),
            authentication_data: Some(b"client-first".to_vec()),
            ..(*ack_properties()).clone()
        }
        .into(),
    };
    round_trip(&Packet::Auth(a), ProtocolVersion::V5);
}
