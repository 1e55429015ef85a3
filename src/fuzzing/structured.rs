//! The `roundtrip` target: structured packets, built by hand-written `Arbitrary` impls that
//! respect the packet types' invariants, must survive encode, decode and re-encode unchanged.
//!
//! The invariants the generators keep are those the decoder guarantees of what it returns:
//! non-zero packet ids (the type cannot hold zero), a PUBLISH packet id exactly when its QoS is
//! above 0 and DUP only then, strings without U+0000 and at most 65,535 bytes, topic names
//! without wildcards and non-empty unless a v5 topic alias stands in, non-empty filter lists of
//! non-empty filters, 3.x return codes only where 3.x has them, and properties only where the
//! packet may carry them for the version (5.0 section 2.2.2.2), with their value rules.

use std::sync::Arc;

use arbitrary::{Arbitrary, Result, Unstructured};

use super::MAX_PACKET_SIZE;
use crate::protocol::{
    Auth, ConnAck, Connect, ConnectReturnCode, Disconnect, Packet, ProtocolVersion, PubResponse,
    Publish, QoS, ReasonCode, SubAck, Subscribe, SubscriptionOptions, SubscriptionRequest,
    UnsubAck, Unsubscribe, Will, decode_packet, encode, publish_len,
};
use fields::{binary, filter, list, text, topic};
use properties::{
    AUTH, CONNACK, CONNECT, DISCONNECT, PUB_RESPONSE, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, WILL, props,
};

mod fields;
mod properties;

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
