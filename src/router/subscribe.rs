//! SUBSCRIBE and UNSUBSCRIBE: the subscription tables' updates under the listener's mount point
//! and maximum QoS, SUBACK/UNSUBACK, and retained messages sent to a new subscription.

use std::sync::Arc;

use log::debug;

use super::Router;
use super::hooks::Verdict;
use super::persist::Change;
use super::shared::{self, Member};
use crate::protocol::{
    Packet, Properties, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, SubscriptionRequest,
    UnsubAck, Unsubscribe,
};
use crate::topic::TopicFilter;

/// What one SUBSCRIBE entry did: its SUBACK code, and the filter whose retained messages to send.
struct Outcome {
    reason: ReasonCode,
    send_retained: Option<(TopicFilter, QoS, Option<u32>)>,
    /// Why the entry failed, for an MQTT 5 reason string.
    problem: Option<String>,
}

impl Router {
    pub(super) fn handle_subscribe(&mut self, key: usize, subscribe: Subscribe) {
        let Some(link) = self.links.get(key) else {
            return;
        };
        let Some(session_key) = link.session() else {
            return;
        };
        let (version, problem_information) = (link.version, link.limits.problem_information);
        let rules = Arc::clone(&link.rules);
        let mut problems = Vec::new();
        let identifier = subscribe
            .properties
            .subscription_identifiers
            .first()
            .copied();
        let mut reasons = Vec::with_capacity(subscribe.filters.len());
        let mut retained = Vec::new();
        for mut request in subscribe.filters {
            request.filter = rules.mount_filter(request.filter);
            let shared = shared::parse(&request.filter).is_some();
            if version.is_v5() && request.options.no_local && shared {
                // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
                let why = format!("No Local on shared subscription {}", request.filter);
                self.violation(key, ReasonCode::PROTOCOL_ERROR, why);
                return;
            }
            let granted = request.options.qos.min(rules.max_qos);
            let is_v5 = version.is_v5();
            let outcome = self.subscribe_one(session_key, request, granted, identifier, is_v5);
            reasons.push(outcome.reason);
            retained.extend(outcome.send_retained);
            problems.extend(outcome.problem);
        }
        let mut properties = Properties::default();
        // [MQTT-3.1.2-29] no reason string when the client asked for no problem information.
        if version.is_v5() && problem_information && !problems.is_empty() {
            properties.reason_string = Some(problems.join("; "));
        }
        // [MQTT-3.8.4-1] SUBACK with the same packet id, one code per filter [MQTT-3.8.4-5].
        self.send(
            key,
            &Packet::SubAck(SubAck {
                packet_id: subscribe.packet_id,
                reasons,
                properties,
            }),
        );
        for (filter, granted, identifier) in retained {
            self.send_retained(session_key, filter, granted, identifier);
        }
    }

    /// One SUBSCRIBE entry, its filter already under the mount point, granted `granted`: the
    /// requested QoS capped at the listener's maximum. [MQTT-3.8.4-6] the granted QoS may be
    /// lower than requested; a server without QoS 1 or 2 still accepts those requests and
    /// grants less [MQTT-3.2.2-10].
    fn subscribe_one(
        &mut self,
        session_key: usize,
        request: SubscriptionRequest,
        granted: QoS,
        identifier: Option<u32>,
        is_v5: bool,
    ) -> Outcome {
        let mut options = request.options;
        options.qos = granted;
        let granted = ReasonCode(options.qos.bits());
        if self.has_hooks()
            && let Verdict::Deny(reason) = self.subscribe_verdict(session_key, &request.filter)
        {
            debug!(
                "Denied SUBSCRIBE to {:?} by the host program",
                request.filter
            );
            return Outcome {
                reason: if is_v5 {
                    denial_code(reason)
                } else {
                    ReasonCode::UNSPECIFIED_ERROR
                },
                send_retained: None,
                problem: Some(format!(
                    "not authorised to subscribe to {:?}",
                    request.filter
                )),
            };
        }
        if let Some(parsed) = shared::parse(&request.filter) {
            return match parsed {
                Ok(filter) if !self.may_subscribe(session_key, &filter) => {
                    not_authorised(&request.filter, is_v5)
                }
                Ok(filter) => {
                    let member = Member {
                        session: session_key,
                        options,
                        identifier,
                    };
                    self.shared.subscribe(&request.filter, filter, member);
                    self.journal_subscription(session_key, |session| Change::Subscribed {
                        session,
                        filter: request.filter.as_str().into(),
                        options,
                        identifier,
                    });
                    // Retained messages are not sent to shared subscriptions [MQTT-3.8.4-?,
                    // MQTT 5 section 4.8.2].
                    Outcome {
                        reason: granted,
                        send_retained: None,
                        problem: None,
                    }
                }
                Err(error) => invalid_filter(&request.filter, &error, is_v5),
            };
        }
        let filter = match TopicFilter::parse(&request.filter) {
            Ok(filter) => filter,
            Err(error) => return invalid_filter(&request.filter, &error, is_v5),
        };
        if !self.may_subscribe(session_key, &filter) {
            return not_authorised(&request.filter, is_v5);
        }
        let is_new = self
            .subscriptions
            .subscribe(session_key, filter.clone(), options, identifier);
        self.journal_subscription(session_key, |session| Change::Subscribed {
            session,
            filter: request.filter.as_str().into(),
            options,
            identifier,
        });
        let wanted = match options.retain_handling {
            RetainHandling::SendAtSubscribe => true,
            RetainHandling::SendIfNew => is_new,
            RetainHandling::DoNotSend => false,
        };
        Outcome {
            reason: granted,
            send_retained: wanted.then_some((filter, options.qos, identifier)),
            problem: None,
        }
    }

    pub(super) fn handle_unsubscribe(&mut self, key: usize, unsubscribe: Unsubscribe) {
        let Some((session_key, version, rules)) = self
            .links
            .get(key)
            .and_then(|link| Some((link.session()?, link.version, Arc::clone(&link.rules))))
        else {
            return;
        };
        let mut reasons = Vec::new();
        for filter in unsubscribe.filters {
            let filter = &rules.mount_filter(filter);
            let existed = if shared::parse(filter).is_some() {
                self.shared.unsubscribe(filter, session_key)
            } else {
                if let Some(d) = self
                    .sessions
                    .get_mut(session_key)
                    .and_then(|session| session.existing_delivery_mut())
                {
                    d.retained_backlog.remove(filter);
                }
                self.subscriptions.unsubscribe(session_key, filter)
            };
            if existed {
                self.journal_subscription(session_key, |session| Change::Unsubscribed {
                    session,
                    filter: filter.as_str().into(),
                });
            }
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

/// A hook's reason code, if it is one of the failure codes (0x80 and up); 0x87 otherwise.
fn denial_code(reason: ReasonCode) -> ReasonCode {
    if reason.0 >= 0x80 {
        reason
    } else {
        ReasonCode::NOT_AUTHORIZED
    }
}

/// A filter the ACL never lets this client read from: refused at once, where mosquitto
/// accepts it and delivers nothing. 0x80 is 3.1.1's only failure code [MQTT-3.9.3-2]; MQTT 5
/// says why, 0x87 Not authorized (section 3.9.3).
fn not_authorised(filter: &str, is_v5: bool) -> Outcome {
    debug!("Denied SUBSCRIBE to {filter:?}: the ACL allows no topic it matches");
    Outcome {
        reason: if is_v5 {
            ReasonCode::NOT_AUTHORIZED
        } else {
            ReasonCode::UNSPECIFIED_ERROR
        },
        send_retained: None,
        problem: Some(format!("not authorised to read from {filter:?}")),
    }
}

/// [MQTT-3.9.3-2] 0x80 is the 3.1.1 failure code; MQTT 5 names the cause (0x8F).
fn invalid_filter(filter: &str, error: &dyn std::fmt::Display, is_v5: bool) -> Outcome {
    debug!("Invalid topic filter {filter:?}: {error}");
    Outcome {
        reason: if is_v5 {
            ReasonCode::TOPIC_FILTER_INVALID
        } else {
            ReasonCode::UNSPECIFIED_ERROR
        },
        send_retained: None,
        problem: Some(format!("invalid topic filter {filter:?}: {error}")),
    }
}
