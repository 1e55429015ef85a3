//! Encoding one delivery for one link: the per-connection parts of an outbound PUBLISH (MQTT 5
//! topic alias, remaining message expiry, subscription identifiers) and the client's maximum
//! packet size.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use super::link::Link;
use super::message::Message;
use crate::protocol::{PublishHeader, encode_publish, publish_len};

/// Appends the PUBLISH for `message` to the link's output. Returns false, writing nothing, when
/// the packet would exceed the client's maximum packet size: the specification has the broker
/// discard it as if delivered [MQTT-3.1.2-25].
pub fn write_publish(
    link: &mut Link,
    header: PublishHeader,
    message: &Message,
    subscription_ids: &[u32],
    now: Instant,
) -> bool {
    let version = link.version;
    if !version.is_v5() {
        // MQTT 3 carries no properties; the encoder ignores them for this version.
        encode_publish(
            &mut link.output,
            version,
            header,
            &message.topic,
            &message.properties,
            &message.payload,
        );
        return true;
    }
    let mut properties = Cow::Borrowed(&message.properties);
    if let Some(seconds) = message.remaining_expiry(now) {
        properties.to_mut().message_expiry_interval = Some(seconds);
    }
    if !subscription_ids.is_empty() {
        properties.to_mut().subscription_identifiers = subscription_ids.to_vec();
    }
    let limits = &link.limits;
    let aliases = limits.aliases.as_deref();
    let known_alias = aliases.and_then(|a| a.outbound.get(&message.topic).copied());
    let new_alias = match known_alias {
        Some(_) => None,
        None => u16::try_from(aliases.map_or(0, |a| a.outbound.len()) + 1)
            .ok()
            .filter(|next| *next <= limits.topic_alias_maximum),
    };
    // A topic already aliased is sent as the alias alone; a new alias is sent with its topic.
    let topic: &str = if known_alias.is_some() {
        ""
    } else {
        &message.topic
    };
    if let Some(alias) = known_alias.or(new_alias) {
        properties.to_mut().topic_alias = Some(alias);
    }
    let size = publish_len(
        version,
        topic,
        &properties,
        message.payload.len(),
        header.packet_id.is_some(),
    );
    if u32::try_from(size).map_or(true, |size| size > limits.maximum_packet_size) {
        return false;
    }
    if let Some(alias) = new_alias {
        let aliases = link.limits.aliases.get_or_insert_with(Box::default);
        aliases.outbound.insert(Arc::clone(&message.topic), alias);
    }
    encode_publish(
        &mut link.output,
        version,
        header,
        topic,
        &properties,
        &message.payload,
    );
    true
}
