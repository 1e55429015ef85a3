//! SUBSCRIBE and UNSUBSCRIBE: the subscription table's updates, SUBACK/UNSUBACK, and retained
//! messages sent to a new subscription.

use std::sync::Arc;

use log::debug;

use super::Router;
use super::session::Queued;
use crate::protocol::{
    Packet, Properties, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, UnsubAck, Unsubscribe,
};
use crate::topic::TopicFilter;

/// The highest QoS the broker grants.
const MAXIMUM_QOS: QoS = QoS::ExactlyOnce;

impl Router {
    pub(super) fn handle_subscribe(&mut self, key: usize, subscribe: Subscribe) {
        let Some((session_key, version)) = self
            .links
            .get(key)
            .and_then(|link| Some((link.session?, link.version)))
        else {
            return;
        };
        let mut reasons = Vec::with_capacity(subscribe.filters.len());
        let mut send_retained = Vec::new();
        for request in subscribe.filters {
            let filter = match TopicFilter::parse(&request.filter) {
                Ok(filter) => filter,
                Err(error) => {
                    debug!("Invalid topic filter {:?}: {error}", request.filter);
                    // [MQTT-3.9.3-2] 0x80 is the 3.1.1 failure code; v5 names the cause.
                    reasons.push(if version.is_v5() {
                        ReasonCode::TOPIC_FILTER_INVALID
                    } else {
                        ReasonCode::UNSPECIFIED_ERROR
                    });
                    continue;
                }
            };
            let mut options = request.options;
            // [MQTT-3.8.4-6] granted QoS may be lower than requested, never higher than offered.
            options.qos = options.qos.min(MAXIMUM_QOS);
            let identifier = subscribe
                .properties
                .subscription_identifiers
                .first()
                .copied();
            let is_new =
                self.subscriptions
                    .subscribe(session_key, filter.clone(), options, identifier);
            reasons.push(ReasonCode(options.qos.bits()));
            let wanted = match options.retain_handling {
                RetainHandling::SendAtSubscribe => true,
                RetainHandling::SendIfNew => is_new,
                RetainHandling::DoNotSend => false,
            };
            if wanted {
                send_retained.push((filter, options.qos));
            }
        }
        // [MQTT-3.8.4-1] SUBACK with the same packet id, one code per filter [MQTT-3.8.4-5].
        self.send(
            key,
            &Packet::SubAck(SubAck {
                packet_id: subscribe.packet_id,
                reasons,
                properties: Properties::default(),
            }),
        );
        for (filter, granted) in send_retained {
            self.send_retained(session_key, &filter, granted);
        }
    }

    /// [MQTT-3.3.1-6] Retained messages matching a new subscription are sent with RETAIN set
    /// [MQTT-3.3.1-8], at the lower of their QoS and the granted QoS.
    fn send_retained(&mut self, session_key: usize, filter: &TopicFilter, granted: QoS) {
        let mut messages = std::mem::take(&mut self.scratch_retained);
        self.retained.matching(filter, &mut messages);
        for message in messages.drain(..) {
            let qos = message.qos.min(granted);
            self.deliver(
                session_key,
                Queued {
                    message: Arc::clone(&message),
                    qos,
                    retain: true,
                },
            );
        }
        self.scratch_retained = messages;
    }

    pub(super) fn handle_unsubscribe(&mut self, key: usize, unsubscribe: Unsubscribe) {
        let Some((session_key, version)) = self
            .links
            .get(key)
            .and_then(|link| Some((link.session?, link.version)))
        else {
            return;
        };
        let mut reasons = Vec::new();
        for filter in &unsubscribe.filters {
            let existed = self.subscriptions.unsubscribe(session_key, filter);
            if version.is_v5() {
                reasons.push(if existed {
                    ReasonCode::SUCCESS
                } else {
                    ReasonCode::NO_SUBSCRIPTION_EXISTED
                });
            }
        }
        // [MQTT-3.10.4-4] UNSUBACK with the same packet id, even when nothing matched
        // [MQTT-3.10.4-5].
        self.send(
            key,
            &Packet::UnsubAck(UnsubAck {
                packet_id: unsubscribe.packet_id,
                reasons,
                properties: Properties::default(),
            }),
        );
    }
}
