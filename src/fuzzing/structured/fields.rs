//! Arbitrary values of the packets' fields, within the rules the decoder enforces: the small
//! protocol types, strings, binary data, topic names and filters, and lists of them.

use std::num::NonZeroU16;

use arbitrary::{Arbitrary, Result, Unstructured};

use crate::fuzzing::VERSIONS;
use crate::protocol::{
    ConnectReturnCode, PacketId, ProtocolVersion, QoS, ReasonCode, RetainHandling,
    SubscriptionOptions,
};

impl<'a> Arbitrary<'a> for ProtocolVersion {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(VERSIONS[usize::from(u8::arbitrary(u)? % 3)])
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

/// The 5.0 options byte; [`subscribe`](super::subscribe) keeps only the QoS for 3.x.
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
pub(super) fn list<'a, T>(
    u: &mut Unstructured<'a>,
    min: usize,
    mut item: impl FnMut(&mut Unstructured<'a>) -> Result<T>,
) -> Result<Vec<T>> {
    let len = min + usize::from(u8::arbitrary(u)? % 8);
    (0..len).map(|_| item(u)).collect()
}

/// A UTF-8 string field: no U+0000 [MQTT-1.5.3-2], at most 65,535 bytes.
pub(super) fn text(u: &mut Unstructured<'_>) -> Result<String> {
    let mut text: String = <&str>::arbitrary(u)?.replace('\0', "");
    let mut end = text.len().min(usize::from(u16::MAX));
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    Ok(text)
}

pub(super) fn binary(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let bytes = <&[u8]>::arbitrary(u)?;
    Ok(bytes[..bytes.len().min(usize::from(u16::MAX))].to_vec())
}

/// A topic name, possibly empty: no wildcards [MQTT-3.3.2-2].
pub(super) fn topic(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(text(u)?.replace(['+', '#'], ""))
}

/// A topic filter as SUBSCRIBE and UNSUBSCRIBE carry it: non-empty, any syntax.
pub(super) fn filter(u: &mut Unstructured<'_>) -> Result<String> {
    let filter = text(u)?;
    Ok(if filter.is_empty() {
        "#".into()
    } else {
        filter
    })
}

pub(super) fn flag(u: &mut Unstructured<'_>) -> Result<u8> {
    Ok(u8::from(bool::arbitrary(u)?))
}

pub(super) fn non_zero(u: &mut Unstructured<'_>) -> Result<u16> {
    Ok(u16::arbitrary(u)?.max(1))
}
