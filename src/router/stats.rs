//! The broker's statistics as the router knows them: clients, sessions, subscriptions,
//! retained and stored messages, and the traffic counters; and the subscription listing that
//! SIGUSR2 logs. Computed on request (the `$SYS` interval, or the host program asking), so
//! counting costs the publish path an addition.
#![deny(missing_docs)]

use std::mem::size_of;
use std::time::Duration;

use super::link::{Link, LinkState};
pub use super::memory::Pressure as MemoryPressure;
use super::message::Message;
use super::session::{Queued, Session};
use super::{HOST_CLIENT_PREFIX, Peer, Router};

/// A snapshot of the broker's statistics: what `$SYS/broker/...` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Since the broker started.
    pub uptime: Duration,
    /// Network clients connected now (the broker's own bridges and the host program's
    /// in-process links are not counted).
    pub clients_connected: u64,
    /// Sessions kept for clients that are not connected (clean session 0, or MQTT 5 session
    /// expiry above 0).
    pub clients_disconnected: u64,
    /// Sessions held, connected or not (the host program's own not counted).
    pub clients_total: u64,
    /// Sessions ended by their expiry since start.
    pub clients_expired: u64,
    /// Subscriptions held by every session, the host program's own included.
    pub subscriptions: u64,
    /// Shared subscriptions (`$share/...`) among them.
    pub shared_subscriptions: u64,
    /// Retained messages held (the `$SYS` values included, as mosquitto counts them).
    pub retained_messages: u64,
    /// Messages waiting in sessions' queues or in flight to their clients.
    pub messages_stored: u64,
    /// The payload bytes of those.
    pub messages_stored_bytes: u64,
    /// Messages accepted for routing since start: from clients, wills, bridges, the broker
    /// itself and the host program.
    pub messages_received: u64,
    /// MQTT packets of every kind received from links since start.
    pub packets_received: u64,
    /// MQTT packets of every kind written to links since start.
    pub packets_sent: u64,
    /// PUBLISH packets received since start, and their payload bytes.
    pub publish_received: u64,
    /// The payload bytes of the PUBLISH packets received.
    pub publish_bytes_received: u64,
    /// PUBLISH packets sent since start.
    pub publish_sent: u64,
    /// The payload bytes of the PUBLISH packets sent.
    pub publish_bytes_sent: u64,
    /// Messages dropped because a session's queue was full, since start.
    pub publish_dropped: u64,
    /// Bytes read from and written to sockets since start (the loop fills these in).
    pub bytes_received: u64,
    /// See [`Stats::bytes_received`].
    pub bytes_sent: u64,
    /// Sockets open now, connected or not (the loop fills it in).
    pub sockets: u64,
    /// Connections accepted since start (the loop fills it in).
    pub connections: u64,
    /// Bytes the broker holds in its buffers, queues, sessions and retained messages, by its
    /// own count (what it allocates for them, not what the allocator adds).
    pub heap_current: u64,
    /// `memory_limit` in bytes; 0 when there is none.
    pub memory_limit: u64,
    /// The bytes counted against `memory_limit`: what grows with clients (messages, queues,
    /// buffers, connections, sessions, subscriptions), by the broker's own count.
    pub memory_used: u64,
    /// How close the broker is to `memory_limit`.
    pub memory_pressure: MemoryPressure,
    /// Times the broker came near `memory_limit` since start.
    pub memory_episodes: u64,
    /// QoS 0 deliveries dropped for memory since start.
    pub memory_dropped: u64,
    /// QoS 1/2 publishes refused, and retained messages not stored, for memory since start.
    pub memory_refused_publishes: u64,
    /// Connections refused for memory since start.
    pub memory_refused_connections: u64,
    /// Times a client was held for going over `publish_rate_limit` or
    /// `publish_byte_rate_limit` since start.
    pub clients_slowed: u64,
}

impl Router {
    /// The statistics now; uptime and what only the loop knows are the caller's to fill in.
    pub fn stats(&self) -> Stats {
        let network = |peer: &Peer| !matches!(peer, Peer::Bridge(_) | Peer::Host);
        let own = |session: &Session| session.client_id.starts_with(HOST_CLIENT_PREFIX);
        let memory = self.memory_counters();
        let mut stats = Stats {
            subscriptions: self.subscriptions.len() as u64,
            shared_subscriptions: self.shared.len() as u64,
            retained_messages: self.retained.len() as u64,
            messages_received: self.counters.messages_received,
            packets_received: self.counters.packets_received,
            publish_received: self.counters.publish_received,
            publish_bytes_received: self.counters.publish_bytes_received,
            clients_expired: self.counters.clients_expired,
            packets_sent: self.counters.sent.packets + self.counters.sent.publishes,
            publish_sent: self.counters.sent.publishes,
            publish_bytes_sent: self.counters.sent.publish_bytes,
            publish_dropped: self.counters.retired_dropped,
            memory_limit: self.memory_limit() as u64,
            memory_used: self.memory_used() as u64,
            memory_pressure: self.memory_pressure(),
            memory_episodes: memory.episodes,
            memory_dropped: memory.dropped,
            memory_refused_publishes: memory.refused_publishes,
            memory_refused_connections: memory.refused_connections,
            clients_slowed: self.counters.clients_slowed,
            ..Stats::default()
        };
        let mut heap = 0;
        for (_, link) in &self.links {
            if link.state == LinkState::Connected && network(&link.peer) {
                stats.clients_connected += 1;
            }
            heap += size_of::<Link>() + link.output.capacity();
        }
        for (_, session) in &self.sessions {
            if !own(session) {
                stats.clients_total += 1;
                stats.clients_disconnected += u64::from(session.link().is_none());
            }
            stats.publish_dropped += session.delivery().dropped;
            let stored = session.delivery().queue.len() + session.delivery().inflight.len();
            stats.messages_stored += stored as u64;
            let bytes = session.delivery().queued_bytes + session.delivery().inflight_bytes;
            stats.messages_stored_bytes += bytes as u64;
            heap += size_of::<Session>() + session.client_id.len();
            heap += session.delivery().queue.capacity() * size_of::<Queued>() + bytes;
        }
        for message in self.retained.iter() {
            heap += size_of::<Message>() + message.topic.len() + message.payload.len();
        }
        // Each subscription: its filter's levels and an entry in the table, about this much.
        heap += self.subscriptions.len() * 96;
        stats.heap_current = heap as u64;
        stats
    }
}

impl Router {
    /// The subscription table, one line per subscription (`client filter qos N`), sorted, for
    /// the log on SIGUSR2 (mosquitto prints its subscription tree then). Shared subscriptions
    /// are not listed.
    pub fn subscription_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .sessions
            .iter()
            .flat_map(|(key, session)| {
                self.subscriptions
                    .subscriptions_of(key)
                    .map(move |(filter, options, _)| {
                        let qos = options.qos.bits();
                        format!("{} {filter} qos {qos}", session.client_id)
                    })
            })
            .collect();
        lines.sort_unstable();
        lines
    }
}
