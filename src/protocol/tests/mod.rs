//! Unit tests of the codec: round trips, annotated byte fixtures, hostile input and framing.
//!
//! The helpers here check the properties every valid packet must have: it decodes whole, to
//! the packet that was encoded, re-encodes to the same bytes, and every proper prefix of it is
//! partial (`Ok(None)`).

mod fit;
mod fixtures;
mod framing;
mod malformed;
mod mutation;
mod properties;
mod roundtrip;

use std::sync::Arc;

use super::{
    Packet, PacketId, Properties, PropertyValues, ProtocolVersion, Publish, QoS, decode_packet,
    encode, publish_len,
};

/// A maximum packet size no test packet reaches.
pub(super) const MAX: u32 = 1 << 20;

pub(super) const ALL: [ProtocolVersion; 3] = [
    ProtocolVersion::V3_1,
    ProtocolVersion::V3_1_1,
    ProtocolVersion::V5,
];

pub(super) fn id(value: u16) -> PacketId {
    PacketId::new(value).unwrap()
}

/// Asserts every proper prefix of `bytes` is partial.
pub(super) fn assert_prefixes_partial(bytes: &[u8], version: ProtocolVersion) {
    for n in 0..bytes.len() {
        assert_eq!(
            decode_packet(&bytes[..n], version, MAX),
            Ok(None),
            "prefix of {n} bytes of {bytes:02x?}"
        );
    }
}

/// Decodes `bytes`, which must hold exactly one valid packet.
pub(super) fn decode_one(bytes: &[u8], version: ProtocolVersion) -> Packet {
    let (packet, used) = decode_packet(bytes, version, MAX)
        .unwrap_or_else(|e| panic!("{e} in {bytes:02x?}"))
        .expect("complete packet");
    assert_eq!(used, bytes.len());
    packet
}

/// Encodes `packet`, then checks decode, re-encode and prefixes; returns the bytes.
pub(super) fn round_trip(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let mut bytes = vec![0xEE]; // encode appends: keep something in front
    encode(packet, version, &mut bytes);
    let bytes = bytes.split_off(1);
    let decoded = decode_one(&bytes, version);
    assert_eq!(&decoded, packet, "{version:?} {bytes:02x?}");
    let mut again = Vec::new();
    encode(&decoded, version, &mut again);
    assert_eq!(again, bytes, "re-encoding {version:?}");
    assert_prefixes_partial(&bytes, version);
    if let Packet::Publish(p) = packet {
        let len = publish_len(
            version,
            &p.topic,
            &p.properties,
            p.payload.len(),
            p.qos != QoS::AtMostOnce,
        );
        assert_eq!(len, bytes.len(), "publish_len");
    }
    bytes
}

/// Asserts `bytes` is refused with `error`, and that its prefixes before the body is complete
/// are not (unless the error is one the fixed header already shows).
pub(super) fn assert_rejected(bytes: &[u8], version: ProtocolVersion, error: super::DecodeError) {
    assert_eq!(
        decode_packet(bytes, version, MAX),
        Err(error),
        "{version:?} {bytes:02x?}"
    );
}

pub(super) fn publish(qos: QoS, topic: &str, payload: &[u8]) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: Arc::from(topic),
        packet_id: (qos != QoS::AtMostOnce).then(|| id(42)),
        properties: Properties::default(),
        payload: Arc::from(payload),
    }
}

/// Two user properties with the same key, to check order and repetition survive.
pub(super) fn user_properties() -> Vec<(String, String)> {
    vec![
        ("k".into(), "2".into()),
        ("a".into(), "x".into()),
        ("k".into(), "1".into()),
    ]
}

/// Every property a PUBLISH may carry.
pub(super) fn publish_properties() -> Properties {
    PropertyValues {
        payload_format_indicator: Some(1),
        message_expiry_interval: Some(3600),
        content_type: Some("text/plain".into()),
        response_topic: Some("reply/here".into()),
        correlation_data: Some(vec![0, 1, 2, 255]),
        subscription_identifiers: vec![1, 300, 268_435_455],
        topic_alias: Some(7),
        user_properties: user_properties(),
        ..PropertyValues::default()
    }
    .into()
}

/// Every property a will may carry.
pub(super) fn will_properties() -> Properties {
    PropertyValues {
        payload_format_indicator: Some(0),
        message_expiry_interval: Some(10),
        content_type: Some("application/json".into()),
        response_topic: Some("will/reply".into()),
        correlation_data: Some(b"corr".to_vec()),
        will_delay_interval: Some(30),
        user_properties: user_properties(),
        ..PropertyValues::default()
    }
    .into()
}

/// Every property a CONNECT may carry.
pub(super) fn connect_properties() -> Properties {
    PropertyValues {
        session_expiry_interval: Some(u32::MAX),
        authentication_method: Some("SCRAM-SHA-1".into()),
        authentication_data: Some(vec![9; 20]),
        request_problem_information: Some(0),
        request_response_information: Some(1),
        receive_maximum: Some(20),
        topic_alias_maximum: Some(0),
        maximum_packet_size: Some(65_536),
        user_properties: user_properties(),
        ..PropertyValues::default()
    }
    .into()
}

/// Every property a CONNACK may carry.
pub(super) fn connack_properties() -> Properties {
    PropertyValues {
        session_expiry_interval: Some(0),
        assigned_client_identifier: Some("auto-1".into()),
        server_keep_alive: Some(30),
        authentication_method: Some("m".into()),
        authentication_data: Some(vec![]),
        response_information: Some("resp/".into()),
        server_reference: Some("other:1883".into()),
        reason_string: Some("welcome".into()),
        receive_maximum: Some(u16::MAX),
        topic_alias_maximum: Some(10),
        maximum_qos: Some(1),
        retain_available: Some(0),
        user_properties: user_properties(),
        maximum_packet_size: Some(1),
        wildcard_subscription_available: Some(1),
        subscription_identifier_available: Some(0),
        shared_subscription_available: Some(1),
        ..PropertyValues::default()
    }
    .into()
}

/// The properties of acknowledgements: a reason string and user properties.
pub(super) fn ack_properties() -> Properties {
    PropertyValues {
        reason_string: Some("because".into()),
        user_properties: user_properties(),
        ..PropertyValues::default()
    }
    .into()
}
