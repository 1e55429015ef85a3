//! What a client's PUBLISH and will must pass before they are routed: the maximum QoS of its
//! listener, whether the broker keeps retained messages, the message size limit, and MQTT 5
//! topic aliases resolved to their topics.

use std::sync::Arc;

use log::debug;

use super::Router;
use super::connect::Refusal;
use super::link::Link;
use crate::config::Config;
use crate::protocol::{Connect, Packet, PubResponse, Publish, QoS, ReasonCode};

/// Why `publish` ends its connection, if it does: a QoS above the listener's maximum, or the
/// RETAIN flag on a broker without retained messages.
///
/// An MQTT 5 client was told both limits in CONNACK and must keep to them [MQTT-3.2.2-11]
/// [MQTT-3.2.2-14]; the server then closes with DISCONNECT 0x9B (QoS not supported) or 0x9A
/// (Retain not supported) (MQTT 5 sections 3.2.2.3.4 and 3.2.2.3.5). A 3.x client cannot be
/// told either limit and has no reason code to be given: like mosquitto's `handle__publish`
/// ("Too high QoS in PUBLISH from …, disconnecting."), the connection is closed. Delivering
/// the message at a lower QoS instead would silently weaken the promise the client asked for.
pub(super) fn publish_refusal(
    link: &Link,
    publish: &Publish,
    config: &Config,
) -> Option<(ReasonCode, String)> {
    let maximum = link.rules.max_qos;
    if publish.qos > maximum {
        let why = format!(
            "PUBLISH at QoS {} above the maximum QoS {} of this listener",
            publish.qos.bits(),
            maximum.bits()
        );
        return Some((ReasonCode::QOS_NOT_SUPPORTED, why));
    }
    if publish.retain && !config.retain_available {
        let why = "PUBLISH with RETAIN set, and retained messages are not available".to_owned();
        return Some((ReasonCode::RETAIN_NOT_SUPPORTED, why));
    }
    None
}

/// Why a CONNECT's will refuses the connection, if it does: a will the broker could not
/// publish as asked. MQTT 5 requires the refusal for a will QoS above the maximum QoS
/// [MQTT-3.2.2-12] and for a retained will without retained messages [MQTT-3.2.2-13]; a will
/// larger than `message_size_limit` is refused too, as mosquitto refuses it ("Client …
/// connected with too large Will payload").
pub(super) fn will_refusal(link: &Link, connect: &Connect, config: &Config) -> Option<Refusal> {
    let will = connect.will.as_ref()?;
    if will.qos > link.rules.max_qos {
        return Some(Refusal::QosNotSupported);
    }
    if will.retain && !config.retain_available {
        return Some(Refusal::RetainNotSupported);
    }
    let limit = config.message_size_limit;
    if limit > 0 && will.payload.len() > limit as usize {
        debug!(
            "Client {} connected with too large Will payload",
            connect.client_id
        );
        return Some(Refusal::WillTooLarge);
    }
    None
}

impl Router {
    /// `message_size_limit`: a PUBLISH whose payload is larger is dropped, and its QoS flow
    /// still completed so the client does not send it again and again: QoS 1 gets its PUBACK,
    /// QoS 2 its PUBREC, with reason 0x95 (Packet too large) for MQTT 5 as mosquitto 2.0 sends
    /// it. A PUBREC with a reason of 0x80 or more ends the QoS 2 exchange [MQTT-4.3.3-4]; a
    /// 3.x client goes on to PUBREL, which is answered like any other. Returns whether the
    /// message was dropped.
    pub(super) fn drop_oversize(&mut self, key: usize, publish: &Publish) -> bool {
        let limit = self.config.message_size_limit;
        if limit == 0 || publish.payload.len() <= limit as usize {
            return false;
        }
        let name = self.links.get(key).map_or("<unknown>", Link::name);
        let mid = publish.packet_id.map_or(0, |id| id.get());
        // mosquitto's line, so that log readers written for it still match.
        debug!(
            "Dropped too large PUBLISH from {name} (d{}, q{}, r{}, m{mid}, '{}', ... ({} bytes))",
            u8::from(publish.dup),
            publish.qos.bits(),
            u8::from(publish.retain),
            publish.topic,
            publish.payload.len()
        );
        let Some(id) = publish.packet_id else {
            return true;
        };
        let mut response = PubResponse::new(id);
        response.reason = ReasonCode::PACKET_TOO_LARGE;
        match publish.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.send(key, &Packet::PubAck(response)),
            QoS::ExactlyOnce => self.send(key, &Packet::PubRec(response)),
        }
        true
    }
}

/// MQTT 5 topic aliases from the client: an alias with a topic (re)defines it, an alias with an
/// empty topic uses it. Values outside 1..=maximum are a protocol error [MQTT-3.3.2-9].
pub(super) fn resolve_topic_alias(
    link: &mut Link,
    publish: &mut Publish,
) -> Result<(), (ReasonCode, String)> {
    let Some(alias) = publish.properties.topic_alias else {
        return Ok(());
    };
    let maximum = link.rules.topic_alias_maximum;
    if alias == 0 || alias > maximum {
        let why = format!("topic alias {alias} outside 1..={maximum}");
        return Err((ReasonCode::TOPIC_ALIAS_INVALID, why));
    }
    let aliases = link.limits.aliases.get_or_insert_with(Box::default);
    let slot = usize::from(alias - 1);
    if publish.topic.is_empty() {
        match aliases.inbound.get(slot).and_then(Option::as_ref) {
            Some(topic) => publish.topic = Arc::clone(topic),
            None => {
                let why = format!("topic alias {alias} used before it was set");
                return Err((ReasonCode::PROTOCOL_ERROR, why));
            }
        }
    } else {
        if aliases.inbound.len() <= slot {
            aliases.inbound.resize(slot + 1, None);
        }
        if let Some(entry) = aliases.inbound.get_mut(slot) {
            *entry = Some(Arc::clone(&publish.topic));
        }
    }
    Ok(())
}
