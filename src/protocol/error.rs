//! Why a packet could not be decoded: one variant per rule of the specification.
//!
//! Every `DecodeError` means the peer broke the protocol and the connection is closed; a packet
//! that is merely incomplete is `Ok(None)` from the decoder, never an error. Statement numbers
//! are those of MQTT 3.1.1 (`MQTT-x.y.z-n`) unless the variant names the 5.0 section instead.

use std::fmt;

use super::ReasonCode;

/// A malformed packet or a protocol error found while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// [MQTT-2.2.1] Packet type 0 is reserved and must not be used.
    ReservedPacketType,
    /// [MQTT-5.0 2.1.2] AUTH (packet type 15) exists only in MQTT 5; in 3.x the type is reserved.
    AuthRequiresV5,
    /// [MQTT-2.2.2-1] [MQTT-2.2.2-2] The fixed header flags must be 0b0010 for PUBREL, SUBSCRIBE
    /// and UNSUBSCRIBE and 0 for every other type except PUBLISH.
    InvalidFixedHeaderFlags { packet: &'static str, flags: u8 },
    /// [MQTT-2.2.3] [MQTT-1.5.5-1 in 5.0] A variable byte integer (the remaining length, a
    /// property length, a property identifier or a subscription identifier) uses at most four
    /// bytes; a fourth byte with the continuation bit set is malformed.
    InvalidVariableByteInteger,
    /// [MQTT-5.0 3.1.2.24, 3.2.2.3.6] The packet is larger than the receiver's maximum packet
    /// size. `size` counts the whole packet, fixed header included.
    PacketTooLarge { size: u32, max: u32 },
    /// [MQTT-2.2.3] A field runs past the end of the packet as bounded by its remaining length.
    UnexpectedEnd { packet: &'static str },
    /// Bytes remain after the last field of a packet whose layout is fixed (a remaining length
    /// other than the one the layout allows, e.g. a PINGREQ with a body).
    TrailingBytes { packet: &'static str },
    /// [MQTT-3.1.2-1] [MQTT-3.1.2-2] The CONNECT protocol name and level are not "MQIsdp"/3,
    /// "MQTT"/4 or "MQTT"/5. The server answers with CONNACK return code 1 (3.x) or reason code
    /// 0x84 (5.0), by `level` alone since the name may be anything, and closes the connection.
    UnsupportedProtocolVersion { level: u8 },
    /// [MQTT-3.1.2-3] The reserved bit of the CONNECT flags must be 0.
    ConnectReservedFlag,
    /// [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15] Without the will flag, the will QoS and
    /// will retain bits must be 0.
    WillFlagsWithoutWill,
    /// [MQTT-3.1.2-14] The will QoS must not be 3.
    InvalidWillQoS,
    /// [MQTT-3.1.2-22] In MQTT 3.x a password requires a user name (5.0 allows it alone).
    PasswordWithoutUserName,
    /// [MQTT-3.2.2-1 in 5.0: 3.2.2.1] Bits 7-1 of the CONNACK acknowledge flags are reserved
    /// and must be 0.
    ConnAckReservedFlags,
    /// [MQTT-3.2.2-3] A 3.x CONNACK return code is 0 to 5; the others are reserved.
    InvalidConnectReturnCode(u8),
    /// [MQTT-3.3.1-4] A PUBLISH must not have both QoS bits set.
    InvalidPublishQoS,
    /// [MQTT-3.3.1-2] The DUP flag must be 0 on a QoS 0 PUBLISH.
    DupWithQoS0,
    /// [MQTT-2.3.1-1] A packet identifier must be non-zero.
    ZeroPacketId,
    /// [MQTT-1.5.3-1] A UTF-8 string must be well-formed and contain no surrogate code points.
    InvalidUtf8,
    /// [MQTT-1.5.3-2] A UTF-8 string must not contain U+0000.
    NullCharacter,
    /// [MQTT-3.3.2-2] A topic name (PUBLISH, will topic, response topic) must not contain the
    /// wildcard characters `+` or `#`.
    WildcardInTopicName,
    /// [MQTT-4.7.3-1] A topic name must be at least one character long. [MQTT-5.0 3.3.2.1] An
    /// MQTT 5 PUBLISH may leave it empty only when it carries a topic alias.
    EmptyTopicName,
    /// [MQTT-4.7.3-1] A topic filter must be at least one character long.
    EmptyTopicFilter,
    /// [MQTT-3.8.3-3] A SUBSCRIBE must carry at least one topic filter.
    NoSubscribeFilters,
    /// [MQTT-3-8.3-4] [MQTT-5.0 3.8.3.1] The requested QoS of a subscription must not be 3.
    InvalidSubscriptionQoS,
    /// [MQTT-3-8.3-4] [MQTT-3.8.3-5 in 5.0] The reserved bits of a subscription options byte
    /// (bits 2-7 in 3.x, bits 6-7 in 5.0) must be 0.
    SubscriptionReservedBits,
    /// [MQTT-5.0 3.8.3.1] Retain handling 3 is a protocol error.
    InvalidRetainHandling,
    /// [MQTT-3.9.3-2] A 3.x SUBACK return code is 0x00, 0x01, 0x02 or 0x80.
    InvalidSubAckReturnCode(u8),
    /// [MQTT-3.10.3-2] An UNSUBSCRIBE must carry at least one topic filter.
    NoUnsubscribeFilters,
    /// [MQTT-5.0 2.2.2.2] The property identifier is not one the specification defines.
    UnknownProperty { id: u32 },
    /// [MQTT-5.0 2.2.2.2] The property may appear at most once in a packet, and appeared again.
    DuplicateProperty { id: u8 },
    /// [MQTT-5.0 2.2.2.2] The property is not one this packet (or a will) may carry: a
    /// malformed packet.
    PropertyNotAllowed { id: u8, packet: &'static str },
    /// [MQTT-5.0 3.1.2.11, 3.2.2.3, 3.3.2.3] The property value is out of range: zero where it
    /// must be non-zero (receive maximum, maximum packet size, topic alias, subscription
    /// identifier) or other than 0 or 1 for a boolean byte.
    InvalidPropertyValue { id: u8 },
}

/// Property identifier of Topic Alias.
const TOPIC_ALIAS_ID: u8 = 0x23;

impl DecodeError {
    /// The MQTT 5 reason code a server reports (in CONNACK or DISCONNECT) before closing a
    /// connection for this error. A 3.x server only answers `UnsupportedProtocolVersion`, with
    /// CONNACK return code 1; every other error just closes the connection.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            DecodeError::PacketTooLarge { .. } => ReasonCode::PACKET_TOO_LARGE,
            // MQTT 5 section 3.3.2.3.4: a Topic Alias of 0 is "Topic Alias invalid" like one
            // above the maximum.
            DecodeError::InvalidPropertyValue { id: TOPIC_ALIAS_ID } => {
                ReasonCode::TOPIC_ALIAS_INVALID
            }
            DecodeError::UnsupportedProtocolVersion { .. } => {
                ReasonCode::UNSUPPORTED_PROTOCOL_VERSION
            }
            DecodeError::EmptyTopicName
            | DecodeError::InvalidRetainHandling
            | DecodeError::InvalidSubscriptionQoS
            | DecodeError::AuthRequiresV5
            | DecodeError::DuplicateProperty { .. }
            | DecodeError::InvalidPropertyValue { .. } => ReasonCode::PROTOCOL_ERROR,
            _ => ReasonCode::MALFORMED_PACKET,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DecodeError::*;
        match self {
            ReservedPacketType => f.write_str("reserved packet type 0"),
            AuthRequiresV5 => f.write_str("AUTH packet on a connection older than MQTT 5"),
            InvalidFixedHeaderFlags { packet, flags } => {
                write!(f, "invalid fixed header flags {flags:#06b} on {packet}")
            }
            InvalidVariableByteInteger => {
                f.write_str("variable byte integer longer than four bytes")
            }
            PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum of {max}")
            }
            UnexpectedEnd { packet } => write!(f, "{packet} ends in the middle of a field"),
            TrailingBytes { packet } => write!(f, "unexpected bytes after the end of {packet}"),
            UnsupportedProtocolVersion { level } => {
                write!(f, "unsupported protocol name or level {level} in CONNECT")
            }
            ConnectReservedFlag => f.write_str("reserved CONNECT flag is set"),
            WillFlagsWithoutWill => f.write_str("will QoS or will retain set without a will"),
            InvalidWillQoS => f.write_str("will QoS 3"),
            PasswordWithoutUserName => f.write_str("password flag without user name flag"),
            ConnAckReservedFlags => f.write_str("reserved CONNACK flags are set"),
            InvalidConnectReturnCode(code) => write!(f, "reserved CONNACK return code {code}"),
            InvalidPublishQoS => f.write_str("PUBLISH with QoS 3"),
            DupWithQoS0 => f.write_str("PUBLISH with DUP set and QoS 0"),
            ZeroPacketId => f.write_str("packet identifier 0"),
            InvalidUtf8 => f.write_str("string is not well-formed UTF-8"),
            NullCharacter => f.write_str("string contains U+0000"),
            WildcardInTopicName => f.write_str("topic name contains a wildcard"),
            EmptyTopicName => f.write_str("empty topic name"),
            EmptyTopicFilter => f.write_str("empty topic filter"),
            NoSubscribeFilters => f.write_str("SUBSCRIBE without topic filters"),
            InvalidSubscriptionQoS => f.write_str("subscription requests QoS 3"),
            SubscriptionReservedBits => f.write_str("reserved subscription option bits are set"),
            InvalidRetainHandling => f.write_str("subscription retain handling 3"),
            InvalidSubAckReturnCode(code) => write!(f, "reserved SUBACK return code {code:#04x}"),
            NoUnsubscribeFilters => f.write_str("UNSUBSCRIBE without topic filters"),
            UnknownProperty { id } => write!(f, "unknown property identifier {id:#04x}"),
            DuplicateProperty { id } => write!(f, "property {id:#04x} appears more than once"),
            PropertyNotAllowed { id, packet } => {
                write!(f, "property {id:#04x} is not allowed in {packet}")
            }
            InvalidPropertyValue { id } => write!(f, "invalid value for property {id:#04x}"),
        }
    }
}

impl std::error::Error for DecodeError {}
