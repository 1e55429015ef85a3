//! Encoding: every packet type for 3.1, 3.1.1 and 5.0, and the PUBLISH hot path.
//!
//! Each encoder computes the remaining length first, then writes the fixed header and the body
//! straight into the output buffer, reserving once. `encode_publish` writes a delivery from a
//! stored message's parts without building a `Packet`, and `publish_len` tells its exact size
//! beforehand, for comparison with a client's maximum packet size.

use super::properties_codec::{
    PublishOverrides, encode_properties, encode_properties_with, properties_body_len_with,
    properties_len,
};
use super::writer::varint_len;
use super::writer::{bytes_len, packet_len, put_bytes, put_header, put_str, put_u16, str_len};
use super::{
    ConnAck, Connect, Packet, PacketId, Properties, ProtocolVersion, PubResponse, QoS, ReasonCode,
    SubAck, Subscribe, SubscriptionOptions, UnsubAck, Unsubscribe,
};

/// The fixed-header flags and packet identifier of a PUBLISH being delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishHeader {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    /// Written when `qos` is above 0 (as 0 if missing, which the peer will refuse).
    pub packet_id: Option<PacketId>,
}

/// Appends `packet`, encoded for a connection speaking `version`, to `out`.
///
/// A CONNECT is encoded for its own `protocol`. 3.x packets carry no properties and no reason
/// codes, so those fields are ignored for them (a 3.x CONNACK writes `return_code`, a 5.0 one
/// `reason`). AUTH is always written in its 5.0 form.
pub fn encode(packet: &Packet, version: ProtocolVersion, out: &mut Vec<u8>) {
    let v5 = version.is_v5();
    match packet {
        Packet::Connect(connect) => encode_connect(connect, out),
        Packet::ConnAck(connack) => encode_connack(connack, version, out),
        Packet::Publish(p) => {
            let header = PublishHeader {
                dup: p.dup,
                qos: p.qos,
                retain: p.retain,
                packet_id: p.packet_id,
            };
            encode_publish(out, version, header, &p.topic, &p.properties, &p.payload);
        }
        Packet::PubAck(r) => encode_pub_response(0x40, r, version, out),
        Packet::PubRec(r) => encode_pub_response(0x50, r, version, out),
        Packet::PubRel(r) => encode_pub_response(0x62, r, version, out),
        Packet::PubComp(r) => encode_pub_response(0x70, r, version, out),
        Packet::Subscribe(s) => encode_subscribe(s, version, out),
        Packet::SubAck(s) => encode_suback(s, version, out),
        Packet::Unsubscribe(u) => encode_unsubscribe(u, version, out),
        Packet::UnsubAck(u) => encode_unsuback(u, version, out),
        Packet::PingReq => out.extend_from_slice(&[0xC0, 0]),
        Packet::PingResp => out.extend_from_slice(&[0xD0, 0]),
        Packet::Disconnect(_) if !v5 => out.extend_from_slice(&[0xE0, 0]),
        Packet::Disconnect(d) => encode_reason_tail(0xE0, d.reason, &d.properties, true, out),
        Packet::Auth(a) => encode_reason_tail(0xF0, a.reason, &a.properties, false, out),
    }
}

/// Bytes of a property list in a packet for `version`: none in 3.x.
fn props_len(version: ProtocolVersion, properties: &Properties) -> usize {
    if version.is_v5() {
        properties_len(properties)
    } else {
        0
    }
}

fn put_props(version: ProtocolVersion, properties: &Properties, out: &mut Vec<u8>) {
    if version.is_v5() {
        encode_properties(properties, out);
    }
}

/// The exact encoded size of a PUBLISH, fixed header included. `has_packet_id` is true for
/// QoS 1 and 2.
pub fn publish_len(
    version: ProtocolVersion,
    topic: &str,
    properties: &Properties,
    payload_len: usize,
    has_packet_id: bool,
) -> usize {
    let overrides = PublishOverrides::default();
    publish_len_with(
        version,
        topic,
        properties,
        &overrides,
        payload_len,
        has_packet_id,
    )
}

/// [`publish_len`] with per-delivery [`PublishOverrides`].
pub fn publish_len_with(
    version: ProtocolVersion,
    topic: &str,
    properties: &Properties,
    overrides: &PublishOverrides<'_>,
    payload_len: usize,
    has_packet_id: bool,
) -> usize {
    let body = version
        .is_v5()
        .then(|| properties_body_len_with(properties, overrides));
    packet_len(publish_remaining(topic, body, payload_len, has_packet_id))
}

/// The remaining length of a PUBLISH; `properties_body` is `None` for MQTT 3.
fn publish_remaining(
    topic: &str,
    properties_body: Option<usize>,
    payload_len: usize,
    has_packet_id: bool,
) -> usize {
    let id = if has_packet_id { 2 } else { 0 };
    let properties = properties_body.map_or(0, |body| varint_len(body) + body);
    str_len(topic) + id + properties + payload_len
}

/// Appends a PUBLISH built from its parts: the broker's delivery path, which encodes a stored
/// message for each subscriber without building a `Packet`.
pub fn encode_publish(
    out: &mut Vec<u8>,
    version: ProtocolVersion,
    header: PublishHeader,
    topic: &str,
    properties: &Properties,
    payload: &[u8],
) {
    let overrides = PublishOverrides::default();
    encode_publish_with(out, version, header, topic, properties, &overrides, payload);
}

/// [`encode_publish`] with per-delivery [`PublishOverrides`]; the properties' length is
/// computed once.
pub fn encode_publish_with(
    out: &mut Vec<u8>,
    version: ProtocolVersion,
    header: PublishHeader,
    topic: &str,
    properties: &Properties,
    overrides: &PublishOverrides<'_>,
    payload: &[u8],
) {
    let has_id = header.qos != QoS::AtMostOnce;
    let body = version
        .is_v5()
        .then(|| properties_body_len_with(properties, overrides));
    let remaining = publish_remaining(topic, body, payload.len(), has_id);
    out.reserve(packet_len(remaining));
    let dup = if header.dup && has_id { 0b1000 } else { 0 };
    let first = 0x30 | dup | header.qos.bits() << 1 | u8::from(header.retain);
    put_header(out, first, remaining);
    put_str(out, topic);
    if has_id {
        put_u16(out, header.packet_id.map_or(0, PacketId::get));
    }
    if let Some(body) = body {
        encode_properties_with(properties, overrides, body, out);
    }
    out.extend_from_slice(payload);
}

fn encode_connect(c: &Connect, out: &mut Vec<u8>) {
    let version = c.protocol;
    let name = match version {
        ProtocolVersion::V3_1 => "MQIsdp",
        ProtocolVersion::V3_1_1 | ProtocolVersion::V5 => "MQTT",
    };
    let will_len = c.will.as_ref().map_or(0, |w| {
        props_len(version, &w.properties) + str_len(&w.topic) + bytes_len(&w.payload)
    });
    let remaining = str_len(name)
        + 1 // protocol level
        + 1 // connect flags
        + 2 // keep alive
        + props_len(version, &c.properties)
        + str_len(&c.client_id)
        + will_len
        + c.username.as_deref().map_or(0, str_len)
        + c.password.as_deref().map_or(0, bytes_len);
    out.reserve(packet_len(remaining));
    put_header(out, 0x10, remaining);
    put_str(out, name);
    out.push(version.level());
    let mut flags = u8::from(c.clean_start) << 1;
    if let Some(will) = &c.will {
        flags |= 0b0100 | will.qos.bits() << 3 | u8::from(will.retain) << 5;
    }
    flags |= u8::from(c.password.is_some()) << 6 | u8::from(c.username.is_some()) << 7;
    out.push(flags);
    put_u16(out, c.keep_alive);
    put_props(version, &c.properties, out);
    put_str(out, &c.client_id);
    if let Some(will) = &c.will {
        put_props(version, &will.properties, out);
        put_str(out, &will.topic);
        put_bytes(out, &will.payload);
    }
    if let Some(username) = &c.username {
        put_str(out, username);
    }
    if let Some(password) = &c.password {
        put_bytes(out, password);
    }
}

fn encode_connack(c: &ConnAck, version: ProtocolVersion, out: &mut Vec<u8>) {
    let code = if version.is_v5() {
        c.reason.0
    } else {
        c.return_code as u8
    };
    let remaining = 2 + props_len(version, &c.properties);
    out.reserve(packet_len(remaining));
    put_header(out, 0x20, remaining);
    out.extend_from_slice(&[u8::from(c.session_present), code]);
    put_props(version, &c.properties, out);
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP. In 5.0 the reason code and property length are omitted
/// when they add nothing (3.4.2.1).
fn encode_pub_response(first: u8, r: &PubResponse, version: ProtocolVersion, out: &mut Vec<u8>) {
    if !version.is_v5() {
        out.extend_from_slice(&[first, 2]);
        put_u16(out, r.packet_id.get());
        return;
    }
    let short = r.properties.is_empty();
    let remaining = match (r.reason, short) {
        (ReasonCode::SUCCESS, true) => 2,
        (_, true) => 3,
        (_, false) => 3 + properties_len(&r.properties),
    };
    out.reserve(packet_len(remaining));
    put_header(out, first, remaining);
    put_u16(out, r.packet_id.get());
    if remaining > 2 {
        out.push(r.reason.0);
    }
    if !short {
        encode_properties(&r.properties, out);
    }
}

/// The 5.0 DISCONNECT and AUTH body: nothing for success without properties, else the reason
/// code, then properties (DISCONNECT may stop after the reason code, 3.14.2.2.1).
fn encode_reason_tail(
    first: u8,
    reason: ReasonCode,
    properties: &Properties,
    reason_alone: bool,
    out: &mut Vec<u8>,
) {
    let empty = properties.is_empty();
    let remaining = match (reason, empty) {
        (ReasonCode::SUCCESS, true) => 0,
        (_, true) if reason_alone => 1,
        _ => 1 + properties_len(properties),
    };
    out.reserve(packet_len(remaining));
    put_header(out, first, remaining);
    if remaining > 0 {
        out.push(reason.0);
    }
    if remaining > 1 {
        encode_properties(properties, out);
    }
}

pub(crate) fn options_byte(o: SubscriptionOptions, version: ProtocolVersion) -> u8 {
    if !version.is_v5() {
        return o.qos.bits();
    }
    o.qos.bits()
        | u8::from(o.no_local) << 2
        | u8::from(o.retain_as_published) << 3
        | (o.retain_handling as u8) << 4
}

fn encode_subscribe(s: &Subscribe, version: ProtocolVersion, out: &mut Vec<u8>) {
    let filters: usize = s.filters.iter().map(|f| str_len(&f.filter) + 1).sum();
    let remaining = 2 + props_len(version, &s.properties) + filters;
    out.reserve(packet_len(remaining));
    put_header(out, 0x82, remaining);
    put_u16(out, s.packet_id.get());
    put_props(version, &s.properties, out);
    for f in &s.filters {
        put_str(out, &f.filter);
        out.push(options_byte(f.options, version));
    }
}

fn encode_suback(s: &SubAck, version: ProtocolVersion, out: &mut Vec<u8>) {
    let remaining = 2 + props_len(version, &s.properties) + s.reasons.len();
    out.reserve(packet_len(remaining));
    put_header(out, 0x90, remaining);
    put_u16(out, s.packet_id.get());
    put_props(version, &s.properties, out);
    out.extend(s.reasons.iter().map(|r| r.0));
}

fn encode_unsubscribe(u: &Unsubscribe, version: ProtocolVersion, out: &mut Vec<u8>) {
    let filters: usize = u.filters.iter().map(|f| str_len(f)).sum();
    let remaining = 2 + props_len(version, &u.properties) + filters;
    out.reserve(packet_len(remaining));
    put_header(out, 0xA2, remaining);
    put_u16(out, u.packet_id.get());
    put_props(version, &u.properties, out);
    for f in &u.filters {
        put_str(out, f);
    }
}

/// UNSUBACK: the packet identifier alone in 3.x; properties and reason codes added in 5.0.
fn encode_unsuback(u: &UnsubAck, version: ProtocolVersion, out: &mut Vec<u8>) {
    let reasons = if version.is_v5() { u.reasons.len() } else { 0 };
    let remaining = 2 + props_len(version, &u.properties) + reasons;
    out.reserve(packet_len(remaining));
    put_header(out, 0xB0, remaining);
    put_u16(out, u.packet_id.get());
    put_props(version, &u.properties, out);
    if version.is_v5() {
        out.extend(u.reasons.iter().map(|r| r.0));
    }
}
