//! Decoding: frame a packet from the front of a buffer, bound it, then parse it.
//!
//! The fixed header is read first (at most five bytes, so checking a partial packet is O(1)),
//! its type and flags are checked, and a remaining length that would exceed the maximum packet
//! size is refused before the body has arrived. Only a complete packet is parsed, from a slice
//! bounded by its remaining length. CONNECT and CONNACK live in `decode_connect.rs`.

use std::sync::Arc;

use super::decode_connect::{decode_connack, decode_connect};
use super::properties_codec::{PropertyContext, decode_properties, decode_properties_for};
use super::reader::{Reader, decode_varint};
use super::{
    Auth, DecodeError, Disconnect, Packet, Properties, ProtocolVersion, PubResponse, Publish, QoS,
    ReasonCode, RetainHandling, SubAck, Subscribe, SubscriptionOptions, SubscriptionRequest,
    UnsubAck, Unsubscribe,
};

/// Decodes the packet at the front of `buf`.
///
/// `Ok(None)` means more bytes are needed; `Ok(Some((packet, consumed)))` gives the packet and
/// how many bytes of `buf` it took. `version` is the connection's protocol version, which decides
/// whether properties and reason codes are present; a CONNECT instead takes its version from its
/// own protocol name and level. `max_packet_size` bounds the whole packet, fixed header included,
/// and is enforced as soon as the remaining length has arrived.
pub fn decode_packet(
    buf: &[u8],
    version: ProtocolVersion,
    max_packet_size: u32,
) -> Result<Option<(Packet, usize)>, DecodeError> {
    let Some((&first, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let packet_type = first >> 4;
    let flags = first & 0x0F;
    check_flags(packet_type, flags, version)?;
    let Some((remaining, length_bytes)) = decode_varint(rest)? else {
        return Ok(None);
    };
    // At most 1 + 4 + 268,435,455: no overflow.
    let header_len = 1 + length_bytes;
    let size = header_len as u32 + remaining;
    if size > max_packet_size {
        return Err(DecodeError::PacketTooLarge {
            size,
            max: max_packet_size,
        });
    }
    let Some(body) = buf.get(header_len..size as usize) else {
        return Ok(None);
    };
    let mut r = Reader::new(body, packet_name(packet_type));
    let packet = decode_body(packet_type, flags, &mut r, version)?;
    Ok(Some((packet, size as usize)))
}

/// The specification's name of a packet type, for error messages.
fn packet_name(packet_type: u8) -> &'static str {
    match packet_type {
        1 => "CONNECT",
        2 => "CONNACK",
        3 => "PUBLISH",
        4 => "PUBACK",
        5 => "PUBREC",
        6 => "PUBREL",
        7 => "PUBCOMP",
        8 => "SUBSCRIBE",
        9 => "SUBACK",
        10 => "UNSUBSCRIBE",
        11 => "UNSUBACK",
        12 => "PINGREQ",
        13 => "PINGRESP",
        14 => "DISCONNECT",
        15 => "AUTH",
        _ => "reserved",
    }
}

/// Checks the first byte of the fixed header, so garbage is refused before its body arrives.
fn check_flags(packet_type: u8, flags: u8, version: ProtocolVersion) -> Result<(), DecodeError> {
    let required = match packet_type {
        0 => return Err(DecodeError::ReservedPacketType),
        15 if !version.is_v5() => return Err(DecodeError::AuthRequiresV5),
        3 => {
            let qos = QoS::from_bits((flags >> 1) & 0b11).ok_or(DecodeError::InvalidPublishQoS)?;
            if flags & 0b1000 != 0 && qos == QoS::AtMostOnce {
                return Err(DecodeError::DupWithQoS0);
            }
            return Ok(());
        }
        6 | 8 | 10 => 0b0010,
        _ => 0,
    };
    if flags == required {
        Ok(())
    } else {
        Err(DecodeError::InvalidFixedHeaderFlags {
            packet: packet_name(packet_type),
            flags,
        })
    }
}

fn decode_body(
    packet_type: u8,
    flags: u8,
    r: &mut Reader<'_>,
    version: ProtocolVersion,
) -> Result<Packet, DecodeError> {
    let v5 = version.is_v5();
    let packet = match packet_type {
        1 => Packet::Connect(Box::new(decode_connect(r)?)),
        2 => Packet::ConnAck(decode_connack(r, version)?),
        3 => Packet::Publish(decode_publish(flags, r, version)?),
        4 => Packet::PubAck(decode_pub_response(r, version)?),
        5 => Packet::PubRec(decode_pub_response(r, version)?),
        6 => Packet::PubRel(decode_pub_response(r, version)?),
        7 => Packet::PubComp(decode_pub_response(r, version)?),
        8 => Packet::Subscribe(decode_subscribe(r, version)?),
        9 => Packet::SubAck(decode_suback(r, version)?),
        10 => Packet::Unsubscribe(decode_unsubscribe(r, version)?),
        11 => Packet::UnsubAck(decode_unsuback(r, version)?),
        12 => Packet::PingReq,
        13 => Packet::PingResp,
        14 if !v5 => Packet::Disconnect(Disconnect::default()),
        14 => {
            let (reason, properties) = decode_reason_tail(r, PropertyContext::Disconnect)?;
            Packet::Disconnect(Disconnect { reason, properties })
        }
        _ => {
            let (reason, properties) = decode_reason_tail(r, PropertyContext::Auth)?;
            Packet::Auth(Auth { reason, properties })
        }
    };
    // Every layout but PUBLISH's (whose payload takes the rest) and the lists of SUBSCRIBE,
    // SUBACK, UNSUBSCRIBE and UNSUBACK (read to the end) is fixed: nothing may follow it.
    r.finish()?;
    Ok(packet)
}

/// PUBLISH (3.3). The flags were checked with the fixed header.
fn decode_publish(
    flags: u8,
    r: &mut Reader<'_>,
    version: ProtocolVersion,
) -> Result<Publish, DecodeError> {
    let qos = QoS::from_bits((flags >> 1) & 0b11).ok_or(DecodeError::InvalidPublishQoS)?;
    let topic = r.topic_name()?;
    let packet_id = match qos {
        QoS::AtMostOnce => None,
        QoS::AtLeastOnce | QoS::ExactlyOnce => Some(r.packet_id()?),
    };
    let properties = decode_properties_for(r, version, PropertyContext::Publish)?;
    // [MQTT-4.7.3-1]; in 5.0 (3.3.2.1) an empty topic stands for the topic alias's topic.
    if topic.is_empty() && properties.topic_alias.is_none() {
        return Err(DecodeError::EmptyTopicName);
    }
    Ok(Publish {
        dup: flags & 0b1000 != 0,
        qos,
        retain: flags & 0b0001 != 0,
        topic: Arc::from(topic),
        packet_id,
        properties,
        payload: Arc::from(r.rest()),
    })
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP (3.4-3.7). In 5.0 a remaining length of 2 means success
/// without properties and 3 a reason code without properties (3.4.2.1, 3.4.2.2.1).
fn decode_pub_response(
    r: &mut Reader<'_>,
    version: ProtocolVersion,
) -> Result<PubResponse, DecodeError> {
    let mut response = PubResponse::new(r.packet_id()?);
    if version.is_v5() {
        (response.reason, response.properties) =
            decode_reason_tail(r, PropertyContext::PubResponse)?;
    }
    Ok(response)
}

/// An MQTT 5 reason code and properties, either of which may be omitted at the end of the
/// packet: absent means success, and a reason alone means no properties (3.4.2.2.1, 3.14.2.2.1,
/// 3.15.2.2.1).
fn decode_reason_tail(
    r: &mut Reader<'_>,
    context: PropertyContext,
) -> Result<(ReasonCode, Properties), DecodeError> {
    if r.is_empty() {
        return Ok((ReasonCode::SUCCESS, Properties::default()));
    }
    let reason = ReasonCode(r.u8()?);
    if r.is_empty() {
        return Ok((reason, Properties::default()));
    }
    Ok((reason, decode_properties(r, context)?))
}

/// SUBSCRIBE (3.8).
fn decode_subscribe(
    r: &mut Reader<'_>,
    version: ProtocolVersion,
) -> Result<Subscribe, DecodeError> {
    let packet_id = r.packet_id()?;
    let properties = decode_properties_for(r, version, PropertyContext::Subscribe)?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        let filter = r.topic_filter()?;
        let options = decode_subscription_options(r.u8()?, version)?;
        filters.push(SubscriptionRequest { filter, options });
    }
    if filters.is_empty() {
        return Err(DecodeError::NoSubscribeFilters);
    }
    Ok(Subscribe {
        packet_id,
        filters,
        properties,
    })
}

/// The options byte of a subscription (3.8.3.1).
pub(crate) fn decode_subscription_options(
    byte: u8,
    version: ProtocolVersion,
) -> Result<SubscriptionOptions, DecodeError> {
    let reserved = if version.is_v5() {
        0b1100_0000
    } else {
        0b1111_1100
    };
    if byte & reserved != 0 {
        return Err(DecodeError::SubscriptionReservedBits);
    }
    let qos = QoS::from_bits(byte & 0b11).ok_or(DecodeError::InvalidSubscriptionQoS)?;
    let retain_handling = match (byte >> 4) & 0b11 {
        0 => RetainHandling::SendAtSubscribe,
        1 => RetainHandling::SendIfNew,
        2 => RetainHandling::DoNotSend,
        _ => return Err(DecodeError::InvalidRetainHandling),
    };
    Ok(SubscriptionOptions {
        qos,
        no_local: byte & 0b0100 != 0,
        retain_as_published: byte & 0b1000 != 0,
        retain_handling,
    })
}

/// SUBACK (3.9): one return or reason code per filter.
fn decode_suback(r: &mut Reader<'_>, version: ProtocolVersion) -> Result<SubAck, DecodeError> {
    let packet_id = r.packet_id()?;
    let properties = decode_properties_for(r, version, PropertyContext::SubAck)?;
    let mut reasons = Vec::with_capacity(r.len());
    for &code in r.rest() {
        // [MQTT-3.9.3-2] The 3.x return codes; 5.0 reason codes are the router's to judge.
        if !version.is_v5() && !matches!(code, 0x00 | 0x01 | 0x02 | 0x80) {
            return Err(DecodeError::InvalidSubAckReturnCode(code));
        }
        reasons.push(ReasonCode(code));
    }
    Ok(SubAck {
        packet_id,
        reasons,
        properties,
    })
}

/// UNSUBSCRIBE (3.10).
fn decode_unsubscribe(
    r: &mut Reader<'_>,
    version: ProtocolVersion,
) -> Result<Unsubscribe, DecodeError> {
    let packet_id = r.packet_id()?;
    let properties = decode_properties_for(r, version, PropertyContext::Unsubscribe)?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        filters.push(r.topic_filter()?);
    }
    if filters.is_empty() {
        return Err(DecodeError::NoUnsubscribeFilters);
    }
    Ok(Unsubscribe {
        packet_id,
        filters,
        properties,
    })
}

/// UNSUBACK (3.11): 3.x has only the packet identifier; 5.0 adds properties and reason codes.
fn decode_unsuback(r: &mut Reader<'_>, version: ProtocolVersion) -> Result<UnsubAck, DecodeError> {
    let packet_id = r.packet_id()?;
    let properties = decode_properties_for(r, version, PropertyContext::UnsubAck)?;
    let reasons = if version.is_v5() {
        r.rest().iter().map(|&code| ReasonCode(code)).collect()
    } else {
        Vec::new()
    };
    Ok(UnsubAck {
        packet_id,
        reasons,
        properties,
    })
}
