//! A bridge's connection ending and starting again: the local side going offline, the state
//! topic, the next address and the delay before the next attempt, and the broker's shutdown.

use std::time::{Duration, Instant};

use log::info;

use super::{Bridge, State};
use crate::config::StartType;
use crate::protocol::{Packet, RetainHandling};
use crate::router::Router;

impl Bridge {
    /// The connection (or the attempt) ended: the socket is closed already. The local side
    /// goes offline so messages queue, the state topic says 0, and the next attempt is
    /// planned.
    pub fn lost(&mut self, router: &mut Router, reason: &str, now: Instant) {
        let was_connected = self.state == State::Connected;
        let address = self.address_label();
        if was_connected {
            info!(
                "Bridge {} lost its connection to {address}: {reason}",
                self.name
            );
        } else {
            info!(
                "Bridge {} could not connect to {address}: {reason}",
                self.name
            );
        }
        // Deliveries already taken from the local link and not acknowledged remotely stay
        // in the local session, which sends them again on the next connection.
        self.local.close(router, now);
        self.flows.connection_ended(!self.settings.cleansession);
        self.output.clear();
        self.close = None;
        self.ping_sent = None;
        self.announce(router, false, now);
        self.plan_next(was_connected, now);
    }

    pub(super) fn plan_next(&mut self, was_connected: bool, now: Instant) {
        let retry_now = std::mem::take(&mut self.retry_now);
        let count = self.settings.addresses.len().max(1);
        if was_connected && !self.settings.round_robin {
            // Failover: after a lost connection, the primary (first) address first again.
            self.address = 0;
        } else {
            // A failed attempt moves on to the next address; round-robin always does.
            self.address = (self.address + 1) % count;
        }
        if self.settings.start_type == StartType::Once {
            info!("Bridge {} is not restarted (start_type once)", self.name);
            self.state = State::Idle(None);
            return;
        }
        if self.settings.start_type == StartType::Lazy && was_connected {
            self.state = State::Idle(None);
            return;
        }
        // A refused bridge bit, or the next address after a failed one, is tried at once;
        // a full round of failures waits.
        let delay = if retry_now || (!was_connected && self.address != 0) {
            Duration::ZERO
        } else {
            self.backoff.next_delay()
        };
        info!(
            "Bridge {}: next attempt in {} s",
            self.name,
            delay.as_secs()
        );
        self.state = State::Idle(Some(now + delay));
    }

    pub(super) fn address_label(&self) -> String {
        self.settings
            .addresses
            .get(self.address)
            .map_or_else(String::new, |a| format!("{}:{}", a.host, a.port))
    }

    /// Publishes the state locally when it changed (`notifications`).
    pub(super) fn announce(&mut self, router: &mut Router, up: bool, now: Instant) {
        if !self.settings.notifications || self.announced == Some(up) {
            return;
        }
        self.announced = Some(up);
        let payload: &[u8] = if up { b"1" } else { b"0" };
        router.publish_retained_internal(&self.state_topic, payload, now);
    }

    /// The broker is stopping: the remote state topic says 0, DISCONNECT follows.
    pub fn shut_down(&mut self, router: &mut Router, now: Instant) {
        if self.state == State::Connected {
            self.publish_state_remotely(false, now);
            self.send_remote(&Packet::Disconnect(Default::default()), now);
        }
        self.local.close(router, now);
        self.announce(router, false, now);
    }

    /// Opens the local side once the remote end accepted: CONNECT and SUBSCRIBE (retained
    /// messages included, so they are sent again on every connection), within the remote
    /// end's receive maximum and packet size.
    pub(super) fn open_local(&mut self, router: &mut Router, now: Instant) {
        let limits = (self.limits.receive_maximum, self.limits.maximum_packet_size);
        let filters = self.map.local_subscriptions();
        self.local.open(
            router,
            filters,
            RetainHandling::SendAtSubscribe,
            limits,
            now,
        );
        self.announce(router, true, now);
    }

    pub(super) fn connected(&mut self, router: &mut Router, now: Instant) {
        info!(
            "Bridge {} connected to {} as {}",
            self.name,
            self.address_label(),
            self.remote_client_id
        );
        self.state = State::Connected;
        self.backoff.reset();
        self.last_traffic = now;
        self.open_local(router, now);
    }
}
