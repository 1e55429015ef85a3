//! The broker's statistics as the router knows them: clients, sessions, subscriptions,
//! retained and queued messages, and the traffic counters. Computed on request, so counting
//! costs the publish path one addition.
#![deny(missing_docs)]

use std::time::Duration;

use super::link::LinkState;
use super::{Peer, Router};

/// A snapshot of the broker's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Since the broker started.
    pub uptime: Duration,
    /// Network clients connected now (the broker's own bridges and the host program's
    /// in-process links are not counted).
    pub clients_connected: usize,
    /// Sessions kept for clients that are not connected (clean session 0, or MQTT 5 session
    /// expiry above 0).
    pub clients_disconnected: usize,
    /// Subscriptions held by every session, the host program's own included.
    pub subscriptions: usize,
    /// Retained messages held.
    pub retained_messages: usize,
    /// Messages waiting in sessions' queues or in flight to their clients.
    pub messages_stored: usize,
    /// Messages accepted for routing since start: from clients, wills, bridges, the broker
    /// itself and the host program.
    pub messages_received: u64,
}

impl Router {
    /// The statistics now; `uptime` is the caller's to fill in.
    pub fn stats(&self) -> Stats {
        let network = |peer: &Peer| !matches!(peer, Peer::Bridge(_) | Peer::Host);
        let clients_connected = (self.links.iter())
            .filter(|(_, link)| link.state == LinkState::Connected && network(&link.peer))
            .count();
        let clients_disconnected = (self.sessions.iter())
            .filter(|(_, session)| session.link.is_none())
            .count();
        let messages_stored = (self.sessions.iter())
            .map(|(_, session)| session.queue.len() + session.inflight.len())
            .sum();
        Stats {
            uptime: Duration::ZERO,
            clients_connected,
            clients_disconnected,
            subscriptions: self.subscriptions.len(),
            retained_messages: self.retained.len(),
            messages_stored,
            messages_received: self.counters.messages_received,
        }
    }
}
