//! Decoding and encoding MQTT 5 properties (5.0 section 2.2.2), and which packet may carry which.
//!
//! The decoder enforces the specification's table in 2.2.2.2: an unknown identifier, a property
//! the packet may not carry, and a second copy of a property that may appear once are errors,
//! as are the value rules of 3.1.2.11 and 3.2.2.3. The encoder writes whatever is set, in
//! identifier order, user properties in the order given.

use super::reader::Reader;
use super::writer::{
    bytes_len, put_bytes, put_str, put_u16, put_u32, put_varint, str_len, varint_len,
};
use super::{DecodeError, Properties, ProtocolVersion};

/// Where a property list appears; each place allows its own set of properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PropertyContext {
    Connect,
    Will,
    ConnAck,
    Publish,
    /// PUBACK, PUBREC, PUBREL and PUBCOMP.
    PubResponse,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

impl PropertyContext {
    fn name(self) -> &'static str {
        use PropertyContext::*;
        match self {
            Connect => "CONNECT",
            Will => "will properties",
            ConnAck => "CONNACK",
            Publish => "PUBLISH",
            PubResponse => "PUBACK/PUBREC/PUBREL/PUBCOMP",
            Subscribe => "SUBSCRIBE",
            SubAck => "SUBACK",
            Unsubscribe => "UNSUBSCRIBE",
            UnsubAck => "UNSUBACK",
            Disconnect => "DISCONNECT",
            Auth => "AUTH",
        }
    }

    /// The table of 5.0 section 2.2.2.2. `None` for an identifier the specification does not
    /// define.
    fn allows(self, id: u8) -> Option<bool> {
        use PropertyContext::*;
        let allowed = match id {
            0x01 | 0x02 | 0x03 | 0x08 | 0x09 => matches!(self, Publish | Will),
            0x0B => matches!(self, Publish | Subscribe),
            0x11 => matches!(self, Connect | ConnAck | Disconnect),
            0x12 | 0x13 | 0x1A | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => self == ConnAck,
            0x15 | 0x16 => matches!(self, Connect | ConnAck | Auth),
            0x17 | 0x19 => self == Connect,
            0x18 => self == Will,
            0x1C => matches!(self, ConnAck | Disconnect),
            0x1F => !matches!(self, Connect | Will | Publish | Subscribe | Unsubscribe),
            0x21 | 0x22 | 0x27 => matches!(self, Connect | ConnAck),
            0x23 => self == Publish,
            0x26 => true,
            _ => return None,
        };
        Some(allowed)
    }
}

/// Stores a property that may appear only once.
fn once<T>(slot: &mut Option<T>, value: T, id: u8) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::DuplicateProperty { id });
    }
    *slot = Some(value);
    Ok(())
}

/// A byte property whose only values are 0 and 1.
fn boolean(r: &mut Reader<'_>, id: u8) -> Result<u8, DecodeError> {
    match r.u8()? {
        value @ (0 | 1) => Ok(value),
        _ => Err(DecodeError::InvalidPropertyValue { id }),
    }
}

/// A two-byte property that must not be zero.
fn non_zero_u16(r: &mut Reader<'_>, id: u8) -> Result<u16, DecodeError> {
    match r.u16()? {
        0 => Err(DecodeError::InvalidPropertyValue { id }),
        value => Ok(value),
    }
}

/// Reads a property length and the properties it covers.
pub(crate) fn decode_properties(
    r: &mut Reader<'_>,
    context: PropertyContext,
) -> Result<Properties, DecodeError> {
    let len = r.varint()?;
    let body = r.take(usize::try_from(len).unwrap_or(usize::MAX))?;
    let mut r = Reader::new(body, r.packet());
    let mut p = Properties::default();
    while !r.is_empty() {
        let wide_id = r.varint()?;
        let unknown = DecodeError::UnknownProperty { id: wide_id };
        let id = u8::try_from(wide_id).map_err(|_| unknown.clone())?;
        match context.allows(id) {
            None => return Err(unknown),
            Some(false) => {
                return Err(DecodeError::PropertyNotAllowed {
                    id,
                    packet: context.name(),
                });
            }
            Some(true) => decode_property(&mut r, &mut p, id, context)?,
        }
    }
    Ok(p)
}

/// Reads properties when the packet's version is MQTT 5; 3.x packets have none.
pub(crate) fn decode_properties_for(
    r: &mut Reader<'_>,
    version: ProtocolVersion,
    context: PropertyContext,
) -> Result<Properties, DecodeError> {
    if version.is_v5() {
        decode_properties(r, context)
    } else {
        Ok(Properties::default())
    }
}

/// Reads the value of one property the context allows.
fn decode_property(
    r: &mut Reader<'_>,
    p: &mut Properties,
    id: u8,
    context: PropertyContext,
) -> Result<(), DecodeError> {
    match id {
        0x01 => once(&mut p.payload_format_indicator, boolean(r, id)?, id),
        0x02 => once(&mut p.message_expiry_interval, r.u32()?, id),
        0x03 => once(&mut p.content_type, r.utf8()?.to_owned(), id),
        // [MQTT-3.3.2-14 in 5.0] The response topic is a topic name: no wildcards.
        0x08 => once(&mut p.response_topic, r.topic_name()?.to_owned(), id),
        0x09 => once(&mut p.correlation_data, r.binary()?.to_vec(), id),
        0x0B => {
            let value = r.varint()?;
            if value == 0 {
                return Err(DecodeError::InvalidPropertyValue { id });
            }
            // Several in a PUBLISH to a client (one per matching subscription), one in SUBSCRIBE.
            if context == PropertyContext::Subscribe && !p.subscription_identifiers.is_empty() {
                return Err(DecodeError::DuplicateProperty { id });
            }
            p.subscription_identifiers.push(value);
            Ok(())
        }
        0x11 => once(&mut p.session_expiry_interval, r.u32()?, id),
        0x12 => once(&mut p.assigned_client_identifier, r.utf8()?.to_owned(), id),
        0x13 => once(&mut p.server_keep_alive, r.u16()?, id),
        0x15 => once(&mut p.authentication_method, r.utf8()?.to_owned(), id),
        0x16 => once(&mut p.authentication_data, r.binary()?.to_vec(), id),
        0x17 => once(&mut p.request_problem_information, boolean(r, id)?, id),
        0x18 => once(&mut p.will_delay_interval, r.u32()?, id),
        0x19 => once(&mut p.request_response_information, boolean(r, id)?, id),
        0x1A => once(&mut p.response_information, r.utf8()?.to_owned(), id),
        0x1C => once(&mut p.server_reference, r.utf8()?.to_owned(), id),
        0x1F => once(&mut p.reason_string, r.utf8()?.to_owned(), id),
        0x21 => once(&mut p.receive_maximum, non_zero_u16(r, id)?, id),
        0x22 => once(&mut p.topic_alias_maximum, r.u16()?, id),
        0x23 => once(&mut p.topic_alias, non_zero_u16(r, id)?, id),
        0x24 => once(&mut p.maximum_qos, boolean(r, id)?, id),
        0x25 => once(&mut p.retain_available, boolean(r, id)?, id),
        0x26 => {
            let key = r.utf8()?.to_owned();
            let value = r.utf8()?.to_owned();
            p.user_properties.push((key, value));
            Ok(())
        }
        0x27 => match r.u32()? {
            0 => Err(DecodeError::InvalidPropertyValue { id }),
            value => once(&mut p.maximum_packet_size, value, id),
        },
        0x28 => once(&mut p.wildcard_subscription_available, boolean(r, id)?, id),
        0x29 => once(
            &mut p.subscription_identifier_available,
            boolean(r, id)?,
            id,
        ),
        0x2A => once(&mut p.shared_subscription_available, boolean(r, id)?, id),
        _ => Err(DecodeError::UnknownProperty { id: u32::from(id) }),
    }
}

/// Bytes of the properties themselves, without the property length in front.
/// Per-delivery values that take the place of the stored ones when a PUBLISH is encoded: this
/// connection's topic alias, the message's remaining expiry, and this subscriber's subscription
/// identifiers. Applied while encoding, so a delivery never copies the message's properties.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishOverrides<'a> {
    pub topic_alias: Option<u16>,
    pub message_expiry_interval: Option<u32>,
    pub subscription_identifiers: Option<&'a [u32]>,
}

pub(crate) fn properties_body_len(p: &Properties) -> usize {
    properties_body_len_with(p, &PublishOverrides::default())
}

pub(crate) fn properties_body_len_with(p: &Properties, o: &PublishOverrides<'_>) -> usize {
    if p.is_empty() {
        // The common case, and a pointer check: only this delivery's own values count.
        return overrides_len(o);
    }
    let byte = |v: &Option<u8>| v.map_or(0, |_| 2);
    let two = |v: &Option<u16>| v.map_or(0, |_| 3);
    let four = |v: &Option<u32>| v.map_or(0, |_| 5);
    let text = |v: &Option<String>| v.as_deref().map_or(0, |s| 1 + str_len(s));
    let data = |v: &Option<Vec<u8>>| v.as_deref().map_or(0, |d| 1 + bytes_len(d));
    let ids: usize = o
        .subscription_identifiers
        .unwrap_or(&p.subscription_identifiers)
        .iter()
        .map(|&id| 1 + varint_len(id as usize))
        .sum();
    let users: usize = p
        .user_properties
        .iter()
        .map(|(k, v)| 1 + str_len(k) + str_len(v))
        .sum();
    byte(&p.payload_format_indicator)
        + four(&o.message_expiry_interval.or(p.message_expiry_interval))
        + text(&p.content_type)
        + text(&p.response_topic)
        + data(&p.correlation_data)
        + ids
        + four(&p.session_expiry_interval)
        + text(&p.assigned_client_identifier)
        + two(&p.server_keep_alive)
        + text(&p.authentication_method)
        + data(&p.authentication_data)
        + byte(&p.request_problem_information)
        + four(&p.will_delay_interval)
        + byte(&p.request_response_information)
        + text(&p.response_information)
        + text(&p.server_reference)
        + text(&p.reason_string)
        + two(&p.receive_maximum)
        + two(&p.topic_alias_maximum)
        + two(&o.topic_alias.or(p.topic_alias))
        + byte(&p.maximum_qos)
        + byte(&p.retain_available)
        + users
        + four(&p.maximum_packet_size)
        + byte(&p.wildcard_subscription_available)
        + byte(&p.subscription_identifier_available)
        + byte(&p.shared_subscription_available)
}

/// Bytes of the properties with their property length in front.
/// The bytes the overrides alone take.
fn overrides_len(o: &PublishOverrides<'_>) -> usize {
    let ids: usize = o
        .subscription_identifiers
        .unwrap_or_default()
        .iter()
        .map(|&id| 1 + varint_len(id as usize))
        .sum();
    o.topic_alias.map_or(0, |_| 3) + o.message_expiry_interval.map_or(0, |_| 5) + ids
}

pub(crate) fn properties_len(p: &Properties) -> usize {
    let body = properties_body_len(p);
    varint_len(body) + body
}

fn put_byte(out: &mut Vec<u8>, id: u8, value: Option<u8>) {
    if let Some(value) = value {
        out.extend_from_slice(&[id, value]);
    }
}

fn put_two(out: &mut Vec<u8>, id: u8, value: Option<u16>) {
    if let Some(value) = value {
        out.push(id);
        put_u16(out, value);
    }
}

fn put_four(out: &mut Vec<u8>, id: u8, value: Option<u32>) {
    if let Some(value) = value {
        out.push(id);
        put_u32(out, value);
    }
}

fn put_text(out: &mut Vec<u8>, id: u8, value: &Option<String>) {
    if let Some(value) = value {
        out.push(id);
        put_str(out, value);
    }
}

fn put_data(out: &mut Vec<u8>, id: u8, value: &Option<Vec<u8>>) {
    if let Some(value) = value {
        out.push(id);
        put_bytes(out, value);
    }
}

/// Writes the property length and the properties, in identifier order.
pub(crate) fn encode_properties(p: &Properties, out: &mut Vec<u8>) {
    let body = properties_body_len(p);
    encode_properties_with(p, &PublishOverrides::default(), body, out);
}

/// Writes the properties with `o` applied; `body` is [`properties_body_len_with`] of the same.
pub(crate) fn encode_properties_with(
    p: &Properties,
    o: &PublishOverrides<'_>,
    body: usize,
    out: &mut Vec<u8>,
) {
    put_varint(out, body);
    if p.is_empty() {
        put_two(out, 0x23, o.topic_alias);
        put_four(out, 0x02, o.message_expiry_interval);
        for &id in o.subscription_identifiers.unwrap_or_default() {
            out.push(0x0B);
            put_varint(out, id as usize);
        }
        return;
    }
    put_byte(out, 0x01, p.payload_format_indicator);
    put_four(
        out,
        0x02,
        o.message_expiry_interval.or(p.message_expiry_interval),
    );
    put_text(out, 0x03, &p.content_type);
    put_text(out, 0x08, &p.response_topic);
    put_data(out, 0x09, &p.correlation_data);
    for &id in o
        .subscription_identifiers
        .unwrap_or(&p.subscription_identifiers)
    {
        out.push(0x0B);
        put_varint(out, id as usize);
    }
    put_four(out, 0x11, p.session_expiry_interval);
    put_text(out, 0x12, &p.assigned_client_identifier);
    put_two(out, 0x13, p.server_keep_alive);
    put_text(out, 0x15, &p.authentication_method);
    put_data(out, 0x16, &p.authentication_data);
    put_byte(out, 0x17, p.request_problem_information);
    put_four(out, 0x18, p.will_delay_interval);
    put_byte(out, 0x19, p.request_response_information);
    put_text(out, 0x1A, &p.response_information);
    put_text(out, 0x1C, &p.server_reference);
    put_text(out, 0x1F, &p.reason_string);
    put_two(out, 0x21, p.receive_maximum);
    put_two(out, 0x22, p.topic_alias_maximum);
    put_two(out, 0x23, o.topic_alias.or(p.topic_alias));
    put_byte(out, 0x24, p.maximum_qos);
    put_byte(out, 0x25, p.retain_available);
    for (key, value) in &p.user_properties {
        out.push(0x26);
        put_str(out, key);
        put_str(out, value);
    }
    put_four(out, 0x27, p.maximum_packet_size);
    put_byte(out, 0x28, p.wildcard_subscription_available);
    put_byte(out, 0x29, p.subscription_identifier_available);
    put_byte(out, 0x2A, p.shared_subscription_available);
}
