//! Arbitrary MQTT 5 properties, each packet type drawing only from those it may carry.

use arbitrary::{Arbitrary, Result, Unstructured};

use super::fields::{binary, flag, list, non_zero, text, topic};
use crate::protocol::{Properties, ProtocolVersion};

// The properties each place may carry, from the table of 5.0 section 2.2.2.2.
pub(super) const CONNECT: &[u8] = &[0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27];
pub(super) const WILL: &[u8] = &[0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26];
pub(super) const CONNACK: &[u8] = &[
    0x11, 0x12, 0x13, 0x15, 0x16, 0x1A, 0x1C, 0x1F, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2A,
];
pub(super) const PUBLISH: &[u8] = &[0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x23, 0x26];
/// PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK.
pub(super) const PUB_RESPONSE: &[u8] = &[0x1F, 0x26];
pub(super) const SUBSCRIBE: &[u8] = &[0x0B, 0x26];
pub(super) const UNSUBSCRIBE: &[u8] = &[0x26];
pub(super) const DISCONNECT: &[u8] = &[0x11, 0x1C, 0x1F, 0x26];
pub(super) const AUTH: &[u8] = &[0x15, 0x16, 0x1F, 0x26];

/// Properties for a packet of `version`: none before 5.0, else a subset of `allowed`.
pub(super) fn props(
    u: &mut Unstructured<'_>,
    version: ProtocolVersion,
    allowed: &[u8],
) -> Result<Properties> {
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
