//! The `roundtrip` target: structured packets, built by hand-written `Arbitrary` impls that
//! respect the packet types' invariants, must survive encode, decode and re-encode unchanged.
//!
//! The invariants the generators keep are those the decoder guarantees of what it returns:
//! non-zero packet ids (the type cannot hold zero), a PUBLISH packet id exactly when its QoS is
//! above 0 and DUP only then, strings without U+0000 and at most 65,535 bytes, topic names
//! without wildcards and non-empty unless a v5 topic alias stands in, non-empty filter lists of
//! non-empty filters, 3.x return codes only where 3.x has them, and properties only where the
//! packet may carry them for the version (5.0 section 2.2.2.2), with their value rules.

use std::num::NonZeroU16;
use std::sync::Arc;

use arbitrary::{Arbitrary, Result, Unstructured};

use super::MAX_PACKET_SIZE;
use crate::protocol::{
    Auth, ConnAck, Connect, ConnectReturnCode, Disconnect, Packet, PacketId, Properties,
    ProtocolVersion, PubResponse, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscriptionOptions, SubscriptionRequest, UnsubAck, Unsubscribe, Will, decode_packet, encode,
    publish_len,
};

/// A packet and the version of the connection it travels on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedPacket {
    pub version: ProtocolVersion,
    pub packet: Packet,
}

/// Target `roundtrip`. The first input byte picks the version (modulo 3, in the order of
/// [`super::VERSIONS`]), the second the packet type (modulo 15, in wire order from CONNECT);
/// the rest fills in the fields.
pub fn roundtrip(data: &[u8]) {
    if let Ok(VersionedPacket { version, packet }) =
        VersionedPacket::arbitrary(&mut Unstructured::new(data))
    {
        check_roundtrip(&packet, version);
    }
}

/// Encodes `packet`, then checks that every prefix of the encoding is partial, that the whole
/// decodes to an equal packet using every byte, and that re-encoding gives the same bytes.
pub fn check_roundtrip(packet: &Packet, version: ProtocolVersion) {
    let mut bytes = Vec::new();
    encode(packet, version, &mut bytes);
    if let Packet::Publish(p) = packet {
        let has_id = p.qos != QoS::AtMostOnce;
        let expected = publish_len(version, &p.topic, &p.properties, p.payload.len(), has_id);
        assert_eq!(bytes.len(), expected, "publish_len disagrees with encode");
    }
    for end in 0..bytes.len() {
        let partial = decode_packet(&bytes[..end], version, MAX_PACKET_SIZE);
        assert!(matches!(partial, Ok(None)), "prefix {end}: {partial:?}");
    }
    let (decoded, used) = match decode_packet(&bytes, version, MAX_PACKET_SIZE) {
        Ok(Some(done)) => done,
        other => panic!("{packet:?} encoded as {bytes:?} decodes to {other:?}"),
    };
    assert_eq!(used, bytes.len(), "decoding used part of {bytes:?}");
    assert_eq!(&decoded, packet, "encoded as {bytes:?}");
    let mut again = Vec::new();
    encode(&decoded, version, &mut again);
    assert_eq!(again, bytes, "re-encoding {decoded:?}");
}

impl<'a> Arbitrary<'a> for VersionedPacket {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let version = ProtocolVersion::arbitrary(u)?;
        let v = version;
        let packet = match u8::arbitrary(u)? % 15 {
            0 => Packet::Connect(Box::new(connect(u, v)?)),
            1 => Packet::ConnAck(connack(u, v)?),
            2 => Packet::Publish(publish(u, v)?),
            3 => Packet::PubAck(pub_response(u, v)?),
            4 => Packet::PubRec(pub_response(u, v)?),
            5 => Packet::PubRel(pub_response(u, v)?),
            6 => Packet::PubComp(pub_response(u, v)?),
            7 => Packet::Subscribe(subscribe(u, v)?),
            8 => Packet::SubAck(SubAck {
                packet_id: u.arbitrary()?,
                properties: props(u, v, PUB_RESPONSE)?,
                reasons: list(u, 0, |u| suback_code(u, v))?,
            }),
            9 => Packet::Unsubscribe(Unsubscribe {
                packet_id: u.arbitrary()?,
                properties: props(u, v, UNSUBSCRIBE)?,
                filters: list(u, 1, filter)?,
            }),
            10 => Packet::UnsubAck(UnsubAck {
                packet_id: u.arbitrary()?,
                properties: props(u, v, PUB_RESPONSE)?,
                reasons: match v.is_v5() {
                    true => list(u, 0, |u| u.arbitrary())?,
                    false => Vec::new(),
                },
            }),
            11 => Packet::PingReq,
            12 => Packet::PingResp,
            13 if v.is_v5() => Packet::Disconnect(Disconnect {
                reason: u.arbitrary()?,
                properties: props(u, v, DISCONNECT)?,
            }),
            13 => Packet::Disconnect(Disconnect::default()),
            _ if v.is_v5() => Packet::Auth(Auth {
                reason: u.arbitrary()?,
                properties: props(u, v, AUTH)?,
            }),
            // AUTH does not exist before 5.0.
            _ => Packet::PingReq,
        };
        Ok(VersionedPacket { version, packet })
    }
}

impl<'a> Arbitrary<'a> for ProtocolVersion {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(super::VERSIONS[usize::from(u8::arbitrary(u)? % 3)])
    }
}

impl<'a> Arbitrary<'a> for QoS {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(QoS::from_bits(u8::arbitrary(u)? % 3).unwrap_or_default())
    }
}

/// Never zero [MQTT-2.3.1-1]: a zero from the input becomes 1.
impl<'a> Arbitrary<'a> for PacketId {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(PacketId(
            NonZeroU16::new(u16::arbitrary(u)?).unwrap_or(NonZeroU16::MIN),
        ))
    }
}

impl<'a> Arbitrary<'a> for ReasonCode {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(ReasonCode(u8::arbitrary(u)?))
    }
}

impl<'a> Arbitrary<'a> for ConnectReturnCode {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        use ConnectReturnCode::*;
        let all = [
            Accepted,
            UnacceptableProtocolVersion,
            IdentifierRejected,
            ServerUnavailable,
            BadUserNameOrPassword,
            NotAuthorized,
        ];
        Ok(*u.choose(&all)?)
    }
}

impl<'a> Arbitrary<'a> for RetainHandling {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u8::arbitrary(u)? % 3 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            _ => RetainHandling::DoNotSend,
        })
    }
}

/// The 5.0 options byte; [`subscribe`] keeps only the QoS for 3.x.
impl<'a> Arbitrary<'a> for SubscriptionOptions {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(SubscriptionOptions {
            qos: u.arbitrary()?,
            no_local: u.arbitrary()?,
            retain_as_published: u.arbitrary()?,
            retain_handling: u.arbitrary()?,
        })
    }
}

/// Between `min` and `min + 7` items.
fn list<'a, T>(
    u: &mut Unstructured<'a>,
    min: usize,
    mut item: impl FnMut(&mut Unstructured<'a>) -> Result<T>,
) -> Result<Vec<T>> {
    let len = min + usize::from(u8::arbitrary(u)? % 8);
    (0..len).map(|_| item(u)).collect()
}

/// A UTF-8 string field: no U+0000 [MQTT-1.5.3-2], at most 65,535 bytes.
fn text(u: &mut Unstructured<'_>) -> Result<String> {
    let mut text: String = <&str>::arbitrary(u)?.replace('\0', "");
    let mut end = text.len().min(usize::from(u16::MAX));
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    Ok(text)
}

fn binary(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let bytes = <&[u8]>::arbitrary(u)?;
    Ok(bytes[..bytes.len().min(usize::from(u16::MAX))].to_vec())
}

/// A topic name, possibly empty: no wildcards [MQTT-3.3.2-2].
fn topic(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(text(u)?.replace(['+', '#'], ""))
}

/// A topic filter as SUBSCRIBE and UNSUBSCRIBE carry it: non-empty, any syntax.
fn filter(u: &mut Unstructured<'_>) -> Result<String> {
    let filter = text(u)?;
    Ok(if filter.is_empty() {
        "#".into()
    } else {
        filter
    })
}

fn flag(u: &mut Unstructured<'_>) -> Result<u8> {
    Ok(u8::from(bool::arbitrary(u)?))
}

fn non_zero(u: &mut Unstructured<'_>) -> Result<u16> {
    Ok(u16::arbitrary(u)?.max(1))
}

// The properties each place may carry, from the table of 5.0 section 2.2.2.2.
const CONNECT: &[u8] = &[0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27];
const WILL: &[u8] = &[0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26];
const CONNACK: &[u8] = &[
    0x11, 0x12, 0x13, 0x15, 0x16, 0x1A, 0x1C, 0x1F, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2A,
];
const PUBLISH: &[u8] = &[0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x23, 0x26];
/// PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK.
const PUB_RESPONSE: &[u8] = &[0x1F, 0x26];
const SUBSCRIBE: &[u8] = &[0x0B, 0x26];
const UNSUBSCRIBE: &[u8] = &[0x26];
const DISCONNECT: &[u8] = &[0x11, 0x1C, 0x1F, 0x26];
const AUTH: &[u8] = &[0x15, 0x16, 0x1F, 0x26];

/// Properties for a packet of `version`: none before 5.0, else a subset of `allowed`.
fn props(u: &mut Unstructured<'_>, version: ProtocolVersion, allowed: &[u8]) -> Result<Properties> {
    let mut p = Properties::default();
    if !version.is_v5() {
        return Ok(p);
    }
    for &id in allowed {
        if !bool::arbitrary(u)? {
            continue;
        }
        match id {
            0x01 => p.payload_format_indicator = Some(flag(u)?),
            0x02 => p.message_expiry_interval = Some(u.arbitrary()?),
            0x03 => p.content_type = Some(text(u)?),
            0x08 => p.response_topic = Some(topic(u)?),
            0x09 => p.correlation_data = Some(binary(u)?),
            // Several in a PUBLISH, one in a SUBSCRIBE; 1 to 268,435,455.
            0x0B if allowed == SUBSCRIBE => {
                p.subscription_identifiers = vec![u.int_in_range(1..=268_435_455)?];
            }
            0x0B => p.subscription_identifiers = list(u, 1, |u| u.int_in_range(1..=268_435_455))?,
            0x11 => p.session_expiry_interval = Some(u.arbitrary()?),
            0x12 => p.assigned_client_identifier = Some(text(u)?),
            0x13 => p.server_keep_alive = Some(u.arbitrary()?),
            0x15 => p.authentication_method = Some(text(u)?),
            0x16 => p.authentication_data = Some(binary(u)?),
            0x17 => p.request_problem_information = Some(flag(u)?),
            0x18 => p.will_delay_interval = Some(u.arbitrary()?),
            0x19 => p.request_response_information = Some(flag(u)?),
            0x1A => p.response_information = Some(text(u)?),
            0x1C => p.server_reference = Some(text(u)?),
            0x1F => p.reason_string = Some(text(u)?),
            0x21 => p.receive_maximum = Some(non_zero(u)?),
            0x22 => p.topic_alias_maximum = Some(u.arbitrary()?),
            0x23 => p.topic_alias = Some(non_zero(u)?),
            0x24 => p.maximum_qos = Some(flag(u)?),
            0x25 => p.retain_available = Some(flag(u)?),
            0x26 => p.user_properties = list(u, 1, |u| Ok((text(u)?, text(u)?)))?,
            0x27 => p.maximum_packet_size = Some(u32::arbitrary(u)?.max(1)),
            0x28 => p.wildcard_subscription_available = Some(flag(u)?),
            0x29 => p.subscription_identifier_available = Some(flag(u)?),
            _ => p.shared_subscription_available = Some(flag(u)?),
        }
    }
    Ok(p)
}

fn connect(u: &mut Unstructured<'_>, version: ProtocolVersion) -> Result<Connect> {
    let will = match bool::arbitrary(u)? {
        false => None,
        true => Some(Will {
            properties: props(u, version, WILL)?,
            // A will has no topic alias to stand in for an empty topic [MQTT-4.7.3-1].
            topic: Arc::from(match topic(u)? {
                t if t.is_empty() => "will".into(),
                t => t,
            }),
            payload: Arc::from(binary(u)?),
            qos: u.arbitrary()?,
            retain: u.arbitrary()?,
        }),
    };
    let mut username = bool::arbitrary(u)?.then(|| text(u)).transpose()?;
    let password = bool::arbitrary(u)?.then(|| binary(u)).transpose()?;
    // [MQTT-3.1.2-22] In 3.x a password needs a user name.
    if !version.is_v5() && password.is_some() && username.is_none() {
        username = Some(String::new());
    }
    Ok(Connect {
        protocol: version,
        clean_start: u.arbitrary()?,
        keep_alive: u.arbitrary()?,
        properties: props(u, version, CONNECT)?,
        client_id: text(u)?,
        will,
        username,
        password,
    })
}

/// A 3.x CONNACK carries a return code, a 5.0 one a reason code; the decoder fills in the
/// other field, by the correspondence restated here independently of the codec.
fn connack(u: &mut Unstructured<'_>, version: ProtocolVersion) -> Result<ConnAck> {
    use ConnectReturnCode::*;
    let (return_code, reason) = if version.is_v5() {
        let reason = ReasonCode::arbitrary(u)?;
        let code = match reason.0 {
            0x00 => Accepted,
            0x84 => UnacceptableProtocolVersion,
            0x85 => IdentifierRejected,
            0x86 => BadUserNameOrPassword,
            0x87 | 0x8A | 0x8C => NotAuthorized,
            _ => ServerUnavailable,
        };
        (code, reason)
    } else {
        let code = ConnectReturnCode::arbitrary(u)?;
        let reason = [0x00, 0x84, 0x85, 0x88, 0x86, 0x87][code as usize];
        (code, ReasonCode(reason))
    };
    Ok(ConnAck {
        session_present: u.arbitrary()?,
        return_code,
        reason,
        properties: props(u, version, CONNACK)?,
    })
}

fn publish(u: &mut Unstructured<'_>, version: ProtocolVersion) -> Result<Publish> {
    let qos = QoS::arbitrary(u)?;
    let packet_id = match qos {
        QoS::AtMostOnce => None,
        _ => Some(u.arbitrary()?),
    };
    let properties = props(u, version, PUBLISH)?;
    let mut topic = topic(u)?;
    // [MQTT-4.7.3-1] Empty only when a v5 topic alias stands in for it.
    if topic.is_empty() && properties.topic_alias.is_none() {
        topic = "t".into();
    }
    Ok(Publish {
        // [MQTT-3.3.1-2] DUP only with QoS 1 and 2.
        dup: packet_id.is_some() && bool::arbitrary(u)?,
        qos,
        retain: u.arbitrary()?,
        topic: Arc::from(topic),
        packet_id,
        properties,
        payload: Arc::from(binary(u)?),
    })
}

fn pub_response(u: &mut Unstructured<'_>, version: ProtocolVersion) -> Result<PubResponse> {
    let mut response = PubResponse::new(u.arbitrary()?);
    if version.is_v5() {
        response.reason = u.arbitrary()?;
        response.properties = props(u, version, PUB_RESPONSE)?;
    }
    Ok(response)
}

fn subscribe(u: &mut Unstructured<'_>, version: ProtocolVersion) -> Result<Subscribe> {
    let request = |u: &mut Unstructured<'_>| {
        let filter = filter(u)?;
        let mut options = SubscriptionOptions::arbitrary(u)?;
        if !version.is_v5() {
            options = SubscriptionOptions {
                qos: options.qos,
                ..SubscriptionOptions::default()
            };
        }
        Ok(SubscriptionRequest { filter, options })
    };
    Ok(Subscribe {
        packet_id: u.arbitrary()?,
        properties: props(u, version, SUBSCRIBE)?,
        filters: list(u, 1, request)?,
    })
}

/// [MQTT-3.9.3-2] 3.x has four return codes; 5.0 reason codes are any byte to the codec.
fn suback_code(u: &mut Unstructured<'_>, version: ProtocolVersion) -> Result<ReasonCode> {
    if version.is_v5() {
        return u.arbitrary();
    }
    Ok(ReasonCode(*u.choose(&[0x00, 0x01, 0x02, 0x80])?))
}
