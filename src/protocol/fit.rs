//! Fitting a packet the broker originates within the receiver's Maximum Packet Size (MQTT 5
//! section 3.1.2.11.4): what may be left out, in which order, and what is sent when nothing
//! more may go.
//!
//! The client's limit covers every packet the server sends [MQTT-3.1.2-24]. What may be left
//! out, first to last:
//!
//! 1. the Reason String, then 2. the User Properties, of any acknowledgement, DISCONNECT or
//!    AUTH, which the specification has the sender drop rather than exceed the limit: CONNACK
//!    [MQTT-3.2.2-19] [MQTT-3.2.2-20], PUBACK [MQTT-3.4.2-2] [MQTT-3.4.2-3], PUBREC
//!    [MQTT-3.5.2-2] [MQTT-3.5.2-3], PUBREL [MQTT-3.6.2-2] [MQTT-3.6.2-3], PUBCOMP
//!    [MQTT-3.7.2-2] [MQTT-3.7.2-3], SUBACK [MQTT-3.9.2-1] [MQTT-3.9.2-2], UNSUBACK
//!    [MQTT-3.11.2-1] [MQTT-3.11.2-2], DISCONNECT [MQTT-3.14.2-3] [MQTT-3.14.2-4], AUTH
//!    [MQTT-3.15.2-2] [MQTT-3.15.2-3];
//! 3. CONNACK properties that repeat the value their absence means (Retain Available 1,
//!    Wildcard, Subscription Identifier and Shared Subscription Available 1, Receive Maximum
//!    65,535, Topic Alias Maximum 0; MQTT 5 section 3.2.2.3);
//! 4. the CONNACK Topic Alias Maximum, whose absence only means the client sends no topic
//!    aliases [MQTT-3.2.2-18].
//!
//! Everything else a CONNACK carries changes what the client may do and is never left out: the
//! Assigned Client Identifier [MQTT-3.2.2-16], the Server Keep Alive (without it the server
//! must use the client's keepalive [MQTT-3.2.2-22]), and what the broker enforces on the
//! client: Receive Maximum, Maximum QoS, Maximum Packet Size, an availability of 0. A packet
//! that still does not fit is sent in that smallest form, over the limit: an acknowledgement
//! must answer its request, and a CONNACK without those properties would let the client break
//! rules the broker then enforces against it. The client is left to refuse it as too large
//! (MQTT 5 section 4.13), which is what a limit below the smallest answer asks for.
//!
//! PUBLISH is never shortened: its properties belong to the application message, forwarded
//! unaltered [MQTT-3.3.2-17] [MQTT-3.3.2-18]; a delivery that does not fit is discarded
//! instead [MQTT-3.1.2-25].

use super::encode::encode;
use super::{Packet, Properties, PropertyValues, ProtocolVersion};

/// How a packet met the receiver's Maximum Packet Size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Encoded whole, within the limit.
    Whole,
    /// Encoded without some optional properties, within the limit.
    Shortened,
    /// Over the limit even in its smallest form, and encoded in that form.
    Oversize,
}

/// One step of shortening: leaves something out, or returns false when there was nothing.
type LeaveOut = fn(&mut Properties) -> bool;

/// What may be left out, first to last (see the module documentation).
const LEAVE_OUT: [LeaveOut; 4] = [
    leave_out_reason_string,
    leave_out_user_properties,
    leave_out_repeated_defaults,
    leave_out_topic_alias_maximum,
];

/// Appends `packet`, encoded for `version`, to `out`, leaving out optional properties in the
/// order above until it is at most `maximum` bytes long.
pub fn encode_within(
    packet: &Packet,
    version: ProtocolVersion,
    maximum: u32,
    out: &mut Vec<u8>,
) -> Fit {
    let start = out.len();
    encode(packet, version, out);
    if within(out, start, maximum) {
        return Fit::Whole;
    }
    // A 3.x packet carries no properties, so nothing can be left out.
    if !version.is_v5() {
        return Fit::Oversize;
    }
    let mut shortened = packet.clone();
    for leave_out in LEAVE_OUT {
        if !optional_properties(&mut shortened).is_some_and(leave_out) {
            continue;
        }
        out.truncate(start);
        encode(&shortened, version, out);
        if within(out, start, maximum) {
            return Fit::Shortened;
        }
    }
    Fit::Oversize
}

fn within(out: &[u8], start: usize, maximum: u32) -> bool {
    let size = out.len().saturating_sub(start);
    u32::try_from(size).is_ok_and(|size| size <= maximum)
}

/// The properties of the packets that may lose some; `None` for the others.
fn optional_properties(packet: &mut Packet) -> Option<&mut Properties> {
    match packet {
        Packet::ConnAck(connack) => Some(&mut connack.properties),
        Packet::PubAck(response)
        | Packet::PubRec(response)
        | Packet::PubRel(response)
        | Packet::PubComp(response) => Some(&mut response.properties),
        Packet::SubAck(suback) => Some(&mut suback.properties),
        Packet::UnsubAck(unsuback) => Some(&mut unsuback.properties),
        Packet::Disconnect(disconnect) => Some(&mut disconnect.properties),
        Packet::Auth(auth) => Some(&mut auth.properties),
        Packet::Connect(_)
        | Packet::Publish(_)
        | Packet::Subscribe(_)
        | Packet::Unsubscribe(_)
        | Packet::PingReq
        | Packet::PingResp => None,
    }
}

// Each step reads before it writes: writing through an empty `Properties` allocates.

fn leave_out_reason_string(properties: &mut Properties) -> bool {
    if properties.reason_string.is_none() {
        return false;
    }
    properties.reason_string = None;
    true
}

fn leave_out_user_properties(properties: &mut Properties) -> bool {
    if properties.user_properties.is_empty() {
        return false;
    }
    properties.user_properties = Vec::new();
    true
}

fn leave_out_repeated_defaults(properties: &mut Properties) -> bool {
    let p: &PropertyValues = properties;
    let any = p.receive_maximum == Some(u16::MAX)
        || p.topic_alias_maximum == Some(0)
        || [
            p.retain_available,
            p.wildcard_subscription_available,
            p.subscription_identifier_available,
            p.shared_subscription_available,
        ]
        .contains(&Some(1));
    if !any {
        return false;
    }
    let p: &mut PropertyValues = properties;
    clear_if(&mut p.receive_maximum, u16::MAX);
    clear_if(&mut p.topic_alias_maximum, 0);
    clear_if(&mut p.retain_available, 1);
    clear_if(&mut p.wildcard_subscription_available, 1);
    clear_if(&mut p.subscription_identifier_available, 1);
    clear_if(&mut p.shared_subscription_available, 1);
    true
}

fn clear_if<T: PartialEq>(field: &mut Option<T>, default: T) {
    if field.as_ref() == Some(&default) {
        *field = None;
    }
}

fn leave_out_topic_alias_maximum(properties: &mut Properties) -> bool {
    if properties.topic_alias_maximum.is_none() {
        return false;
    }
    properties.topic_alias_maximum = None;
    true
}
