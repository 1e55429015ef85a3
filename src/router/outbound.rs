//! Encoding one delivery for one link: the per-connection parts of an outbound PUBLISH (MQTT 5
//! topic alias, remaining message expiry, subscription identifiers) and the client's maximum
//! packet size.

use std::sync::Arc;
use std::time::Instant;

use super::link::Link;
use super::message::Message;
use crate::protocol::{PublishHeader, PublishOverrides, encode_publish_with, publish_len_with};

/// Why a delivery was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsent {
    /// Over the client's maximum packet size: the specification has the broker discard it as
    /// if delivered [MQTT-3.1.2-25].
    TooLarge,
    /// Not under the mount point of the client's listener (see `ListenerRules::unmount`).
    OutsideMountPoint,
}

/// Appends the PUBLISH for `message` to the link's output, its topic without the mount point
/// of the link's listener. Writes nothing when it cannot be sent to this client. The caller
/// counts it in the router's totals.
pub fn write_publish(
    link: &mut Link,
    header: PublishHeader,
    message: &Message,
    subscription_ids: &[u32],
    now: Instant,
) -> Result<(), Unsent> {
    let version = link.version;
    let mut overrides = PublishOverrides::default();
    let mut topic = (link.rules.unmount(&message.topic)).ok_or(Unsent::OutsideMountPoint)?;
    let mut new_alias = None;
    if version.is_v5() {
        overrides.message_expiry_interval = message.remaining_expiry(now);
        if !subscription_ids.is_empty() {
            overrides.subscription_identifiers = Some(subscription_ids);
        }
        let limits = &link.limits;
        let aliases = limits.aliases.as_deref();
        match aliases.and_then(|a| a.outbound.get(&message.topic).copied()) {
            // A topic already aliased is sent as the alias alone.
            Some(alias) => {
                overrides.topic_alias = Some(alias);
                topic = "";
            }
            // A new alias is sent together with its topic.
            None => {
                new_alias = u16::try_from(aliases.map_or(0, |a| a.outbound.len()) + 1)
                    .ok()
                    .filter(|next| *next <= limits.topic_alias_maximum);
                overrides.topic_alias = new_alias;
            }
        }
        let maximum = limits.maximum_packet_size;
        if maximum != u32::MAX {
            let properties = &message.properties;
            let payload = message.payload.len();
            let has_id = header.packet_id.is_some();
            let size = publish_len_with(version, topic, properties, &overrides, payload, has_id);
            if u32::try_from(size).map_or(true, |size| size > maximum) {
                return Err(Unsent::TooLarge);
            }
        }
    }
    if let Some(alias) = new_alias {
        let aliases = link.limits.aliases.get_or_insert_with(Box::default);
        aliases.outbound.insert(Arc::clone(&message.topic), alias);
    }
    if link.budgeted {
        // The fixed header, topic, packet id and properties on top of the payload, generously.
        link.reserve_output(message.payload.len() + topic.len() + 256);
    }
    encode_publish_with(
        &mut link.output,
        version,
        header,
        topic,
        &message.properties,
        &overrides,
        &message.payload,
    );
    Ok(())
}
