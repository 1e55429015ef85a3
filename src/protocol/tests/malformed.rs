//! Hostile input: every rule of the decoder is broken once and refused with its own error.

use super::*;
use crate::protocol::DecodeError::{self, *};

const V3_1: ProtocolVersion = ProtocolVersion::V3_1;
const V3: ProtocolVersion = ProtocolVersion::V3_1_1;
const V5: ProtocolVersion = ProtocolVersion::V5;

#[test]
fn reserved_packet_type_and_auth_before_v5() {
    // Refused from the first byte alone.
    assert_rejected(&[0x00], V3, ReservedPacketType);
    assert_rejected(&[0x00, 0], V5, ReservedPacketType);
    assert_rejected(&[0xF0], V3, AuthRequiresV5);
    assert_rejected(&[0xF0, 0], V3_1, AuthRequiresV5);
}

#[test]
fn fixed_header_flags() {
    let flags = |packet, flags| InvalidFixedHeaderFlags { packet, flags };
    // PUBREL, SUBSCRIBE and UNSUBSCRIBE need 0b0010.
    assert_rejected(&[0x60, 2, 0, 1], V3, flags("PUBREL", 0));
    assert_rejected(&[0x80], V3, flags("SUBSCRIBE", 0));
    assert_rejected(&[0xA3], V5, flags("UNSUBSCRIBE", 3));
    // Every other type but PUBLISH needs 0.
    assert_rejected(&[0x12], V3, flags("CONNECT", 2));
    assert_rejected(&[0x21, 2, 0, 0], V3, flags("CONNACK", 1));
    assert_rejected(&[0x42, 2, 0, 1], V3, flags("PUBACK", 2));
    assert_rejected(&[0xC8, 0], V3, flags("PINGREQ", 8));
    assert_rejected(&[0xE1, 0], V5, flags("DISCONNECT", 1));
    assert_rejected(&[0xF4, 0], V5, flags("AUTH", 4));
}

#[test]
fn publish_flags() {
    assert_rejected(&[0x36], V3, InvalidPublishQoS);
    assert_rejected(&[0x3F, 5, 0, 1, b'a', 0, 1], V5, InvalidPublishQoS);
    assert_rejected(&[0x38], V3, DupWithQoS0);
    assert_rejected(&[0x39, 3, 0, 1, b'a'], V3, DupWithQoS0);
}

#[test]
fn zero_packet_identifier() {
    assert_rejected(&[0x32, 5, 0, 1, b'a', 0, 0], V3, ZeroPacketId);
    assert_rejected(&[0x40, 2, 0, 0], V3, ZeroPacketId);
    assert_rejected(&[0x62, 2, 0, 0], V5, ZeroPacketId);
    assert_rejected(&[0x82, 6, 0, 0, 0, 1, b'a', 0], V3, ZeroPacketId);
    assert_rejected(&[0x90, 3, 0, 0, 0], V3, ZeroPacketId);
    assert_rejected(&[0xA2, 5, 0, 0, 0, 1, b'a'], V3, ZeroPacketId);
    assert_rejected(&[0xB0, 2, 0, 0], V3, ZeroPacketId);
}

#[test]
fn utf8_strings() {
    // 0xC3 0x28: a lead byte followed by a non-continuation byte.
    assert_rejected(&[0x30, 4, 0, 2, 0xC3, 0x28], V3, InvalidUtf8);
    // 0xED 0xA0 0x80: U+D800, a surrogate.
    assert_rejected(&[0x30, 5, 0, 3, 0xED, 0xA0, 0x80], V3, InvalidUtf8);
    assert_rejected(&[0x30, 5, 0, 3, b'a', 0, b'b'], V3, NullCharacter);
    // In a filter, and in a client identifier.
    assert_rejected(&[0xA2, 5, 0, 1, 0, 1, 0], V3, NullCharacter);
    let mut connect = vec![
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 0, 0, 1, 0xFF,
    ];
    assert_rejected(&connect, V3, InvalidUtf8);
    connect[14] = 0;
    assert_rejected(&connect, V3, NullCharacter);
}

#[test]
fn topic_names() {
    assert_rejected(&[0x30, 5, 0, 3, b'a', b'/', b'+'], V3, WildcardInTopicName);
    assert_rejected(&[0x30, 3, 0, 1, b'#'], V5, WildcardInTopicName);
    assert_rejected(&[0x30, 2, 0, 0], V3, EmptyTopicName);
    assert_rejected(&[0x30, 3, 0, 0, b'x'], V3_1, EmptyTopicName);
    // MQTT 5: empty only with a topic alias (property length 0 here).
    assert_rejected(&[0x30, 3, 0, 0, 0], V5, EmptyTopicName);
    assert_rejected(&[0x32, 5, 0, 0, 0, 1, 0], V5, EmptyTopicName);
}

/// A 3.1.1 CONNECT with the given flags and payload.
fn connect(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x10, 10 + payload.len() as u8];
    bytes.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, flags, 0, 0]);
    bytes.extend_from_slice(payload);
    bytes
}

#[test]
fn connect_flags() {
    let client = [0, 1, b'c'];
    assert_rejected(&connect(0b0000_0011, &client), V3, ConnectReservedFlag);
    // Will QoS or will retain without the will flag.
    assert_rejected(&connect(0b0000_1000, &client), V3, WillFlagsWithoutWill);
    assert_rejected(&connect(0b0001_0000, &client), V3, WillFlagsWithoutWill);
    assert_rejected(&connect(0b0010_0000, &client), V5, WillFlagsWithoutWill);
    // Will QoS 3.
    let will = [0, 1, b'c', 0, 1, b't', 0, 0];
    assert_rejected(&connect(0b0001_1100, &will), V3, InvalidWillQoS);
    // Password without user name in 3.x (5.0 allows it: see the round trips).
    let password = [0, 1, b'c', 0, 1, b'p'];
    assert_rejected(
        &connect(0b0100_0000, &password),
        V3,
        PasswordWithoutUserName,
    );
    #[rustfmt::skip]
    let v3_1 = [
        0x10, 18, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3, 0b0100_0000, 0, 0,
        0, 1, b'c', 0, 1, b'p',
    ];
    assert_rejected(&v3_1, V3, PasswordWithoutUserName);
    // A will topic is a topic name.
    let will = [0, 1, b'c', 0, 1, b'#', 0, 0];
    assert_rejected(&connect(0b0000_0100, &will), V3, WildcardInTopicName);
    let will = [0, 1, b'c', 0, 0, 0, 0];
    assert_rejected(&connect(0b0000_0100, &will), V3, EmptyTopicName);
}

#[test]
fn unsupported_protocol_versions() {
    for (name, level) in [
        (&b"MQTT"[..], 6),
        (b"MQTT", 3),
        (b"MQTT", 0),
        (b"MQIsdp", 4),
        (b"MQIsdp", 5),
        (b"HTTP", 4),
        (b"\xFF\xFE", 4),
    ] {
        let mut bytes = vec![0x10, (2 + name.len() + 1 + 1 + 2 + 3) as u8, 0];
        bytes.push(name.len() as u8);
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&[level, 2, 0, 0, 0, 1, b'c']);
        assert_rejected(&bytes, V3, UnsupportedProtocolVersion { level });
        assert_eq!(
            UnsupportedProtocolVersion { level }.reason_code(),
            crate::protocol::ReasonCode::UNSUPPORTED_PROTOCOL_VERSION
        );
    }
}

#[test]
fn connack_rules() {
    assert_rejected(&[0x20, 2, 2, 0], V3, ConnAckReservedFlags);
    assert_rejected(&[0x20, 3, 0x80, 0, 0], V5, ConnAckReservedFlags);
    assert_rejected(&[0x20, 2, 0, 6], V3, InvalidConnectReturnCode(6));
    // A 5.0 CONNACK always has a property length.
    assert_rejected(&[0x20, 2, 0, 0], V5, UnexpectedEnd { packet: "CONNACK" });
}

#[test]
fn subscribe_rules() {
    // No filters at all.
    assert_rejected(&[0x82, 2, 0, 1], V3, NoSubscribeFilters);
    assert_rejected(&[0x82, 3, 0, 1, 0], V5, NoSubscribeFilters);
    // An empty filter.
    assert_rejected(&[0x82, 5, 0, 1, 0, 0, 0], V3, EmptyTopicFilter);
    // Requested QoS 3.
    assert_rejected(&[0x82, 6, 0, 1, 0, 1, b'a', 3], V3, InvalidSubscriptionQoS);
    assert_rejected(
        &[0x82, 7, 0, 1, 0, 0, 1, b'a', 3],
        V5,
        InvalidSubscriptionQoS,
    );
    // 3.x: bits 2-7 reserved; 5.0: bits 6-7 reserved and retain handling 3 refused.
    assert_rejected(
        &[0x82, 6, 0, 1, 0, 1, b'a', 0x04],
        V3,
        SubscriptionReservedBits,
    );
    assert_rejected(
        &[0x82, 6, 0, 1, 0, 1, b'a', 0x80],
        V3_1,
        SubscriptionReservedBits,
    );
    assert_rejected(
        &[0x82, 7, 0, 1, 0, 0, 1, b'a', 0x40],
        V5,
        SubscriptionReservedBits,
    );
    assert_rejected(
        &[0x82, 7, 0, 1, 0, 0, 1, b'a', 0x30],
        V5,
        InvalidRetainHandling,
    );
    // A filter without its options byte.
    let end = UnexpectedEnd {
        packet: "SUBSCRIBE",
    };
    assert_rejected(&[0x82, 5, 0, 1, 0, 1, b'a'], V3, end);
}

#[test]
fn suback_and_unsubscribe_rules() {
    assert_rejected(&[0x90, 3, 0, 1, 0x03], V3, InvalidSubAckReturnCode(3));
    assert_rejected(&[0x90, 3, 0, 1, 0x81], V3, InvalidSubAckReturnCode(0x81));
    assert_rejected(&[0xA2, 2, 0, 1], V3, NoUnsubscribeFilters);
    assert_rejected(&[0xA2, 3, 0, 1, 0], V5, NoUnsubscribeFilters);
    assert_rejected(&[0xA2, 4, 0, 1, 0, 0], V3, EmptyTopicFilter);
}

#[test]
fn trailing_bytes_after_fixed_layouts() {
    let trailing = |packet| TrailingBytes { packet };
    assert_rejected(&[0xC0, 1, 0], V3, trailing("PINGREQ"));
    assert_rejected(&[0xD0, 1, 0], V5, trailing("PINGRESP"));
    assert_rejected(&[0xE0, 1, 0], V3, trailing("DISCONNECT"));
    assert_rejected(&[0xE0, 1, 0], V3_1, trailing("DISCONNECT"));
    assert_rejected(&[0x20, 3, 0, 0, 0], V3, trailing("CONNACK"));
    assert_rejected(&[0x40, 3, 0, 1, 0], V3, trailing("PUBACK"));
    assert_rejected(&[0x50, 3, 0, 1, 0], V3_1, trailing("PUBREC"));
    assert_rejected(&[0x70, 5, 0, 1, 0, 0, 9], V5, trailing("PUBCOMP"));
    assert_rejected(&[0xB0, 3, 0, 1, 0], V3, trailing("UNSUBACK"));
    assert_rejected(&[0xE0, 3, 0, 0, 0], V5, trailing("DISCONNECT"));
    assert_rejected(&[0xF0, 3, 0, 0, 0], V5, trailing("AUTH"));
    let mut bytes = connect(0b0000_0010, &[0, 1, b'c', 0]);
    assert_rejected(&bytes, V3, trailing("CONNECT"));
    bytes[1] -= 1;
    bytes.pop();
    assert!(decode_packet(&bytes, V3, MAX).is_ok());
}

#[test]
fn fields_running_past_the_packet() {
    let end = |packet| UnexpectedEnd { packet };
    // A topic length of 5 in a packet with 2 bytes left.
    assert_rejected(&[0x30, 4, 0, 5, b'a', b'b'], V3, end("PUBLISH"));
    // A QoS 1 PUBLISH whose packet identifier is cut short.
    assert_rejected(&[0x32, 4, 0, 1, b'a', 0], V3, end("PUBLISH"));
    assert_rejected(&[0x40, 1, 0], V3, end("PUBACK"));
    assert_rejected(&[0x40, 0], V5, end("PUBACK"));
    assert_rejected(&[0x20, 1, 0], V3, end("CONNACK"));
    assert_rejected(&[0x10, 3, 0, 4, b'M'], V3, end("CONNECT"));
}

#[test]
fn every_error_displays_and_maps_to_a_reason_code() {
    let errors: Vec<DecodeError> = vec![
        ReservedPacketType,
        PacketTooLarge { size: 10, max: 5 },
        InvalidFixedHeaderFlags {
            packet: "PUBREL",
            flags: 0,
        },
        UnknownProperty { id: 0x05 },
        InvalidRetainHandling,
    ];
    for e in errors {
        assert!(!e.to_string().is_empty());
        assert!(e.reason_code().is_error());
    }
    use crate::protocol::ReasonCode;
    let too_large = PacketTooLarge { size: 10, max: 5 };
    assert_eq!(too_large.reason_code(), ReasonCode::PACKET_TOO_LARGE);
    assert_eq!(EmptyTopicName.reason_code(), ReasonCode::PROTOCOL_ERROR);
    assert_eq!(
        DuplicateProperty { id: 1 }.reason_code(),
        ReasonCode::PROTOCOL_ERROR
    );
    let not_allowed = PropertyNotAllowed {
        id: 0x23,
        packet: "CONNECT",
    };
    assert_eq!(not_allowed.reason_code(), ReasonCode::MALFORMED_PACKET);
    assert_eq!(
        not_allowed.to_string(),
        "property 0x23 is not allowed in CONNECT"
    );
    assert_eq!(DupWithQoS0.reason_code(), ReasonCode::MALFORMED_PACKET);
    assert_eq!(
        PacketTooLarge { size: 10, max: 5 }.to_string(),
        "packet of 10 bytes exceeds the maximum of 5"
    );
}
