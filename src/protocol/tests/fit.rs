//! `encode_within`: packets shortened to the receiver's maximum packet size, in the order
//! `fit.rs` documents, with byte fixtures of the shortened forms.

use super::{ack_properties, decode_one, id, publish, publish_properties};
use crate::protocol::{
    ConnAck, ConnectReturnCode, Disconnect, Fit, Packet, Properties, PropertyValues,
    ProtocolVersion, PubResponse, QoS, ReasonCode, SubAck, UnsubAck, encode, encode_within,
};

const V5: ProtocolVersion = ProtocolVersion::V5;

/// Encodes with `encode_within` after a byte already in the buffer, which must stay; returns
/// the outcome and the packet's bytes.
fn within(packet: &Packet, version: ProtocolVersion, maximum: u32) -> (Fit, Vec<u8>) {
    let mut out = vec![0xEE];
    let fit = encode_within(packet, version, maximum, &mut out);
    assert_eq!(
        out.first(),
        Some(&0xEE),
        "bytes already in the buffer are kept"
    );
    (fit, out.split_off(1))
}

fn encoded(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let mut out = Vec::new();
    encode(packet, version, &mut out);
    out
}

/// The CONNACK the broker sends with its default configuration.
fn broker_connack(extra: impl FnOnce(&mut PropertyValues)) -> Packet {
    let mut values = PropertyValues {
        receive_maximum: Some(20),
        topic_alias_maximum: Some(10),
        retain_available: Some(1),
        wildcard_subscription_available: Some(1),
        subscription_identifier_available: Some(1),
        shared_subscription_available: Some(1),
        maximum_packet_size: Some(268_435_455),
        ..PropertyValues::default()
    };
    extra(&mut values);
    Packet::ConnAck(ConnAck {
        session_present: false,
        return_code: ConnectReturnCode::Accepted,
        reason: ReasonCode::SUCCESS,
        properties: values.into(),
    })
}

#[test]
fn a_packet_within_the_limit_is_encoded_whole() {
    let packet = broker_connack(|_| {});
    let whole = encoded(&packet, V5);
    assert_eq!(whole.len(), 24);
    for maximum in [24, 25, u32::MAX] {
        assert_eq!(within(&packet, V5, maximum), (Fit::Whole, whole.clone()));
    }
}

/// [MQTT-3.1.2-24] The broker's CONNACK for a client whose limit is 20 leaves out the
/// properties that repeat their default (MQTT 5 section 3.2.2.3).
#[test]
fn connack_loses_the_properties_that_repeat_a_default_first() {
    #[rustfmt::skip]
    let expected = [
        0x20, 14,                   // CONNACK, remaining length 14
        0, 0,                       // no session present, success
        11,                         // property length
        0x21, 0, 20,                // Receive Maximum 20
        0x22, 0, 10,                // Topic Alias Maximum 10
        0x27, 0x0F, 0xFF, 0xFF, 0xFF, // Maximum Packet Size 268,435,455
    ];
    for maximum in [16, 20, 23] {
        assert_eq!(
            within(&broker_connack(|_| {}), V5, maximum),
            (Fit::Shortened, expected.to_vec()),
            "maximum {maximum}"
        );
    }
    decode_one(&expected, V5);
}

/// [MQTT-3.2.2-18] Then the Topic Alias Maximum: without it the client sends no aliases.
#[test]
fn connack_then_loses_the_topic_alias_maximum() {
    #[rustfmt::skip]
    let expected = [
        0x20, 11,                   // CONNACK, remaining length 11
        0, 0,                       // no session present, success
        8,                          // property length
        0x21, 0, 20,                // Receive Maximum 20
        0x27, 0x0F, 0xFF, 0xFF, 0xFF, // Maximum Packet Size 268,435,455
    ];
    assert_eq!(
        within(&broker_connack(|_| {}), V5, 13),
        (Fit::Shortened, expected.to_vec())
    );
    // Below that nothing more may go: the smallest form is sent, over the limit.
    for maximum in [12, 5, 1] {
        assert_eq!(
            within(&broker_connack(|_| {}), V5, maximum),
            (Fit::Oversize, expected.to_vec()),
            "maximum {maximum}"
        );
    }
}

/// [MQTT-3.2.2-16] [MQTT-3.2.2-22] An Assigned Client Identifier and a Server Keep Alive are
/// never left out, even when the CONNACK then exceeds the limit.
#[test]
fn connack_keeps_an_assigned_client_identifier_and_server_keep_alive() {
    let packet = broker_connack(|p| {
        p.assigned_client_identifier = Some("auto-0123456789ABCDEF".into());
        p.server_keep_alive = Some(30);
    });
    let (fit, bytes) = within(&packet, V5, 20);
    assert_eq!(fit, Fit::Oversize);
    let Packet::ConnAck(ack) = decode_one(&bytes, V5) else {
        panic!("not a CONNACK: {bytes:02x?}");
    };
    let p = &ack.properties;
    assert_eq!(
        p.assigned_client_identifier.as_deref(),
        Some("auto-0123456789ABCDEF")
    );
    assert_eq!(p.server_keep_alive, Some(30));
    assert_eq!(p.receive_maximum, Some(20));
    assert_eq!(p.maximum_packet_size, Some(268_435_455));
    assert_eq!((p.topic_alias_maximum, p.retain_available), (None, None));
}

/// [MQTT-3.2.2-19] [MQTT-3.2.2-20] A CONNACK's Reason String goes before its User Properties,
/// and both before any other property.
#[test]
fn connack_loses_reason_string_then_user_properties() {
    let packet = broker_connack(|p| {
        p.reason_string = Some("hello".into());
        p.user_properties = vec![("k".into(), "v".into())];
    });
    let whole = encoded(&packet, V5).len();
    // Reason String: identifier, two-byte length and "hello".
    let (fit, bytes) = within(&packet, V5, (whole - 8) as u32);
    assert_eq!(fit, Fit::Shortened);
    let Packet::ConnAck(ack) = decode_one(&bytes, V5) else {
        panic!("not a CONNACK");
    };
    assert_eq!(ack.properties.reason_string, None);
    assert_eq!(ack.properties.user_properties.len(), 1);
    assert_eq!(ack.properties.retain_available, Some(1));
    // User Property: identifier and two strings of one character.
    let (fit, bytes) = within(&packet, V5, (whole - 8 - 7) as u32);
    assert_eq!(fit, Fit::Shortened);
    assert_eq!(bytes, encoded(&broker_connack(|_| {}), V5));
}

/// [MQTT-3.4.2-2] [MQTT-3.4.2-3] (and PUBREC, PUBREL, PUBCOMP alike) A PUBACK loses its
/// Reason String, then its User Properties, down to packet id and reason code.
#[test]
fn pub_responses_lose_reason_string_then_user_properties() {
    let response = PubResponse {
        packet_id: id(1),
        reason: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        properties: ack_properties(),
    };
    let packets = [
        Packet::PubAck(response.clone()),
        Packet::PubRec(response.clone()),
        Packet::PubRel(response.clone()),
        Packet::PubComp(response.clone()),
    ];
    for packet in packets {
        let whole = encoded(&packet, V5);
        let first = whole[0];
        let (fit, bytes) = within(&packet, V5, (whole.len() - 1) as u32);
        assert_eq!(fit, Fit::Shortened);
        let expected_properties: Properties = PropertyValues {
            user_properties: super::user_properties(),
            ..PropertyValues::default()
        }
        .into();
        let mut expected = response.clone();
        expected.properties = expected_properties;
        let decoded = decode_one(&bytes, V5);
        assert_eq!(bytes, encoded(&decoded, V5));
        assert!(
            matches!(&decoded, Packet::PubAck(r) | Packet::PubRec(r) | Packet::PubRel(r)
                | Packet::PubComp(r) if *r == expected),
            "{decoded:?}"
        );
        // Packet type, remaining length 3, packet id 1, reason 0x10; no property length.
        let smallest = [first, 3, 0, 1, 0x10];
        assert_eq!(within(&packet, V5, 5), (Fit::Shortened, smallest.to_vec()));
        assert_eq!(within(&packet, V5, 4), (Fit::Oversize, smallest.to_vec()));
    }
}

/// [MQTT-3.9.2-1] A SUBACK loses its Reason String (here the broker's explanation of an
/// invalid filter) and keeps every reason code.
#[test]
fn suback_loses_its_reason_string() {
    let packet = Packet::SubAck(SubAck {
        packet_id: id(7),
        reasons: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::TOPIC_FILTER_INVALID],
        properties: PropertyValues {
            reason_string: Some("invalid topic filter \"a/#/b\"".into()),
            ..PropertyValues::default()
        }
        .into(),
    });
    #[rustfmt::skip]
    let expected = [
        0x90, 5,                    // SUBACK, remaining length 5
        0, 7,                       // packet id 7
        0,                          // property length 0
        0x01, 0x8F,                 // granted QoS 1, topic filter invalid
    ];
    assert_eq!(within(&packet, V5, 20), (Fit::Shortened, expected.to_vec()));
    // A SUBACK whose reason codes alone exceed the limit is still sent [MQTT-3.8.4-1].
    assert_eq!(within(&packet, V5, 6), (Fit::Oversize, expected.to_vec()));
}

/// [MQTT-3.11.2-1] [MQTT-3.11.2-2] An UNSUBACK loses its Reason String and User Properties.
#[test]
fn unsuback_loses_reason_string_and_user_properties() {
    let packet = Packet::UnsubAck(UnsubAck {
        packet_id: id(2),
        reasons: vec![ReasonCode::NO_SUBSCRIPTION_EXISTED],
        properties: ack_properties(),
    });
    // UNSUBACK, remaining length 4, packet id 2, property length 0, no subscription existed.
    let expected = [0xB0, 4, 0, 2, 0, 0x11];
    assert_eq!(within(&packet, V5, 6), (Fit::Shortened, expected.to_vec()));
}

/// [MQTT-3.14.2-3] The broker's DISCONNECT loses its Reason String and keeps its reason code.
#[test]
fn disconnect_loses_its_reason_string() {
    let packet = Packet::Disconnect(Disconnect {
        reason: ReasonCode::PROTOCOL_ERROR,
        properties: PropertyValues {
            reason_string: Some("PINGRESP is not accepted from clients".into()),
            ..PropertyValues::default()
        }
        .into(),
    });
    // DISCONNECT, remaining length 1, protocol error; no property length (3.14.2.2.1).
    let expected = [0xE0, 1, 0x82];
    assert_eq!(within(&packet, V5, 20), (Fit::Shortened, expected.to_vec()));
    assert_eq!(within(&packet, V5, 2), (Fit::Oversize, expected.to_vec()));
}

/// [MQTT-3.15.2-2] [MQTT-3.15.2-3] AUTH likewise.
#[test]
fn auth_loses_reason_string_and_user_properties() {
    let packet = Packet::Auth(crate::protocol::Auth {
        reason: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: PropertyValues {
            authentication_method: Some("m".into()),
            reason_string: Some("more".into()),
            user_properties: super::user_properties(),
            ..PropertyValues::default()
        }
        .into(),
    });
    #[rustfmt::skip]
    let expected = [
        0xF0, 6,                    // AUTH, remaining length 6
        0x18,                       // continue authentication
        4, 0x15, 0, 1, b'm',        // property length 4: Authentication Method "m"
    ];
    assert_eq!(within(&packet, V5, 8), (Fit::Shortened, expected.to_vec()));
}

/// [MQTT-3.1.2-25] A PUBLISH is never shortened: its properties are the message's.
#[test]
fn publish_is_never_shortened() {
    let mut p = publish(QoS::AtLeastOnce, "a/b", b"payload");
    p.properties = publish_properties();
    let packet = Packet::Publish(p);
    let whole = encoded(&packet, V5);
    assert_eq!(within(&packet, V5, 10), (Fit::Oversize, whole));
}

/// A 3.x packet has no properties to leave out; it is encoded as it is.
#[test]
fn a_3x_packet_is_never_shortened() {
    let packet = Packet::SubAck(SubAck {
        packet_id: id(1),
        reasons: vec![ReasonCode::GRANTED_QOS_0; 3],
        properties: Properties::default(),
    });
    for version in [ProtocolVersion::V3_1, ProtocolVersion::V3_1_1] {
        let whole = encoded(&packet, version);
        assert_eq!(within(&packet, version, 3), (Fit::Oversize, whole));
    }
}
