//! The host program's side of the `session` target: an embedded broker's in-process client,
//! driven through its real handle and served by the loop's real `Host`, turn by turn as the
//! reactor serves it. Every message a host subscription receives must match its filter.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::session_script::{HOST_FILTERS, HOST_TOPICS};
use crate::embed::{BrokerHandle, Host, Publication, Shared, SubscribeOptions, Subscription};
use crate::protocol::QoS;
use crate::router::Router;
use crate::topic::TopicFilter;

/// The token of every host link; no client of the harness has it.
const HOST_TOKEN: usize = usize::MAX;
/// Requests waiting for the loop at once: the harness serves them after every step.
const COMMAND_CAPACITY: usize = 16;

pub(super) struct HostSide {
    handle: BrokerHandle,
    host: Host,
    subscriptions: Vec<Subscription>,
}

impl HostSide {
    pub(super) fn new(max_packet_size: u32) -> HostSide {
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, commands) =
            Shared::new(None, stop, Vec::new(), max_packet_size, COMMAND_CAPACITY);
        HostSide {
            handle: BrokerHandle::new(Arc::clone(&shared)),
            host: Host::new(commands, shared, HOST_TOKEN),
            subscriptions: Vec::new(),
        }
    }

    pub(super) fn is_host_token(token: usize) -> bool {
        token == HOST_TOKEN
    }

    /// The host links open in the router.
    pub(super) fn link_count(&self) -> usize {
        self.host.link_count()
    }

    pub(super) fn publish(&self, topic: u8, flags: u8, payload: &[u8]) {
        let topic = HOST_TOPICS[usize::from(topic) % HOST_TOPICS.len()];
        let Some(qos) = QoS::from_bits(flags & 3) else {
            return;
        };
        let publication = Publication::new(topic, payload)
            .qos(qos)
            .retain(flags & 4 != 0);
        // Refusals (a bad topic, a full queue) are the handle's to make; nothing to check.
        let _ = self.handle.try_publish(publication);
    }

    pub(super) fn subscribe(&mut self, filter: u8, flags: u8) {
        let filter = HOST_FILTERS[usize::from(filter) % HOST_FILTERS.len()];
        let Some(qos) = QoS::from_bits(flags & 3) else {
            return;
        };
        let options = SubscribeOptions::new(qos).capacity(1 + usize::from(flags >> 4));
        if let Ok(subscription) = self.handle.subscribe_with(filter, options) {
            self.subscriptions.push(subscription);
        }
    }

    pub(super) fn take(&mut self, subscription: u8, count: u8) {
        let Some(subscription) = self.pick(subscription) else {
            return;
        };
        let filter = TopicFilter::parse(subscription.filter()).expect("a filter the handle took");
        for _ in 0..count {
            let Some(message) = subscription.try_recv() else {
                break;
            };
            assert!(
                filter.matches(&message.topic),
                "host subscription to {:?} received {:?}",
                subscription.filter(),
                message.topic
            );
        }
    }

    pub(super) fn drop_subscription(&mut self, subscription: u8) {
        if !self.subscriptions.is_empty() {
            let index = usize::from(subscription) % self.subscriptions.len();
            self.subscriptions.swap_remove(index);
        }
    }

    fn pick(&self, subscription: u8) -> Option<&Subscription> {
        let count = self.subscriptions.len();
        let index = usize::from(subscription).checked_rem(count)?;
        self.subscriptions.get(index)
    }

    /// What the reactor does for the host in one turn: its requests, then its links' output.
    pub(super) fn turn(&mut self, router: &mut Router, now: Instant) {
        let requests = self.host.take_commands(router, now);
        assert!(
            requests.is_empty(),
            "the harness asks for no statistics or reload"
        );
        self.host.pump(router, now);
    }

    pub(super) fn shut_down(&mut self, router: &mut Router, now: Instant) {
        self.host.shut_down(router, now);
        assert_eq!(self.host.link_count(), 0);
    }
}
