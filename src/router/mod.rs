//! The broker's state and MQTT rules, free of I/O: links, sessions, subscriptions, retained
//! messages and outbound queues.
//!
//! The reactor hands the router bytes it read and the current time; the router decodes packets,
//! applies the protocol, and leaves encoded output in per-link buffers for the reactor to write.
//! No socket, clock or thread is touched here, which is what lets tests and the `session` fuzz
//! target drive many clients in-process.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod access;
mod authenticate;
mod bridge_link;
mod connect;
mod deliveries;
pub mod hooks;
mod invariants;
mod lifecycle;
mod link;
mod link_io;
mod listeners;
pub mod memory;
mod memory_use;
mod message;
mod outbound;
pub mod persist;
mod publish;
mod publish_acks;
mod publish_checks;
mod publish_memory;
mod rate;
mod read_gate;
mod refusal;
mod restore;
mod retain;
mod retain_source;
mod retained_backlog;
mod retained_delivery;
mod session;
mod shared;
mod shared_routing;
mod slowdown;
mod stats;
mod subscribe;
pub mod subscriptions;
pub mod sys_tree;
mod timers;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_auth;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_memory;
#[cfg(test)]
mod tests_options;
#[cfg(test)]
mod tests_persist;
#[cfg(test)]
mod tests_persist_v5;
#[cfg(test)]
mod tests_qos;
#[cfg(test)]
mod tests_rate;
#[cfg(test)]
mod tests_retain_source;
#[cfg(test)]
mod tests_retained;
#[cfg(test)]
mod tests_session;
#[cfg(test)]
mod tests_slow_consumer;
#[cfg(test)]
mod tests_v5;
#[cfg(test)]
mod tests_v5_publish;
#[cfg(test)]
mod tests_v5_subscribe;
#[cfg(test)]
mod tests_will;

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Instant;

use slab::Slab;

use crate::auth::Security;
use crate::config::Config;
use crate::protocol::Packet;
pub use connect::answer_version;
use lifecycle::Ending;
pub use link::Sent;
use link::{Link, LinkState};
use listeners::ListenerRules;
pub use listeners::{Forwarded, HOST_CLIENT_PREFIX, ListenerId, Peer};
pub use message::Message;
pub use rate::RateLimit;
pub use restore::{Clocks, Restored};
pub use retain::RetainSource;
use retain::RetainedStore;
pub use session::Queued;
pub use stats::{MemoryPressure, Stats};

/// Traffic since the broker started, for the statistics. Each is one addition where it
/// happens; what links and sessions count themselves is added here when they go.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Messages accepted for routing (from clients, wills, the broker and the host program).
    pub messages_received: u64,
    /// MQTT packets decoded from links, of every kind.
    pub packets_received: u64,
    /// PUBLISH packets from links, and their payload bytes.
    pub publish_received: u64,
    pub publish_bytes_received: u64,
    /// Sessions ended by their expiry.
    pub clients_expired: u64,
    /// What was written to links.
    pub sent: Sent,
    /// Messages that sessions now gone dropped on full queues.
    pub retired_dropped: u64,
    /// Times a client was held for going over its publish rate.
    pub clients_slowed: u64,
}
use session::Session;
use shared::{Member, SharedSubscriptions};
use subscriptions::{Delivery, SubscriptionTable};
use timers::Deadlines;

/// Names one network connection for as long as it lives. The generation makes a key that
/// outlives its connection harmless: a reused slot gets a new generation, so a late message for
/// a departed client never reaches the slot's next occupant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId {
    /// The link's key in the router's slab, narrowed: a broker holds far fewer than 2^32
    /// links, and every connection and deadline carries one of these.
    index: u32,
    generation: u32,
}

impl LinkId {
    fn new(key: usize, generation: u32) -> LinkId {
        // A key beyond u32 cannot occur (each link is an open socket); were it to, the id
        // would name no link rather than another one.
        let index = u32::try_from(key).unwrap_or(u32::MAX);
        LinkId { index, generation }
    }

    /// The link's key in the router's slab.
    fn key(self) -> usize {
        self.index as usize
    }
}

/// Why the reactor ended a connection the router did not ask to close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkLoss {
    /// The peer closed its end (read returned 0).
    PeerClosed,
    /// A socket error, with its text for the log.
    Io(String),
    /// The broker is shutting down.
    Shutdown,
    /// The router asked for the close ([`Router::wants_close`]); not a loss at all.
    Requested,
}

/// A link whose output or state changed since the reactor last asked; see [`Router::take_ready`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// The value the reactor passed to [`Router::open_link`].
    pub token: usize,
    pub link: LinkId,
}

/// The sans-I/O broker core. One per broker; owned by the reactor's thread.
pub struct Router {
    config: Config,
    /// Each listener's rules, by [`ListenerId`]; links hold a reference to theirs.
    listener_rules: Vec<Arc<ListenerRules>>,
    /// The rules of a link opened without a listener.
    no_listener: Arc<ListenerRules>,
    /// The time passed in by the current call; every public entry point sets it.
    now: Instant,
    links: Slab<Link>,
    next_generation: u32,
    sessions: Slab<Session>,
    session_by_client_id: HashMap<Arc<str>, usize>,
    subscriptions: SubscriptionTable<usize>,
    shared: SharedSubscriptions,
    retained: RetainedStore,
    deadlines: Deadlines<LinkId>,
    /// Session expiry and delayed wills, by session key; checked against the session when due.
    session_deadlines: Deadlines<usize>,
    ready: Vec<Ready>,
    /// Reused for every PUBLISH so routing allocates nothing in the common case.
    scratch_deliveries: Vec<Delivery<usize>>,
    scratch_shared: Vec<(Arc<str>, Member)>,
    /// Seeds assigned client ids, so they differ between broker runs.
    id_seed: RandomState,
    ids_assigned: u64,
    /// Each listener's password file, ACL file and client id rules (see [`Router::set_auth`]).
    security: Security,
    /// Failed logins per address, for the slow-down.
    failures: slowdown::FailureTracker,
    /// Changes to stored state are journaled (persistence is on; see `persist`).
    journaling: bool,
    /// Retained messages and ended sessions since the store last took the changes.
    journal: Vec<persist::Change>,
    /// The last store number given to a session.
    next_store_id: u64,
    /// The keys of the sessions in the store, whose journals [`Router::take_changes`] takes;
    /// ordered, so changes come out in the same order every run.
    stored_sessions: BTreeSet<usize>,
    /// The host program's hooks, for an embedded broker; `None` when it set none.
    hooks: Option<Box<hooks::Hooks>>,
    /// Messages accepted for routing, since start.
    pub(crate) counters: Counters,
    /// What the router holds for its clients, against `memory_limit`.
    memory: memory_use::MemoryUse,
    /// When links held for their publish rate may be read again.
    rate_deadlines: Deadlines<LinkId>,
    /// Configurations taken since start: a link's rate buckets, checked against the limits
    /// in force at one, need not be checked again until the next.
    reloads: u64,
    /// Links held earlier that may be read again, for the reactor to take.
    read_again: Vec<Ready>,
}

impl Router {
    pub fn new(config: &Config) -> Router {
        Router {
            config: config.clone(),
            listener_rules: ListenerRules::of(config),
            no_listener: Arc::new(ListenerRules::without_listener(config)),
            now: Instant::now(),
            links: Slab::new(),
            next_generation: 0,
            sessions: Slab::new(),
            session_by_client_id: HashMap::new(),
            subscriptions: SubscriptionTable::new(),
            shared: SharedSubscriptions::default(),
            retained: RetainedStore::default(),
            deadlines: Deadlines::default(),
            session_deadlines: Deadlines::default(),
            ready: Vec::new(),
            scratch_deliveries: Vec::new(),
            scratch_shared: Vec::new(),
            id_seed: RandomState::new(),
            ids_assigned: 0,
            security: Security::without_files(config),
            failures: slowdown::FailureTracker::default(),
            journaling: false,
            journal: Vec::new(),
            next_store_id: 0,
            stored_sessions: BTreeSet::new(),
            hooks: None,
            counters: Counters::default(),
            memory: memory_use::MemoryUse::new(config.memory_limit),
            rate_deadlines: Deadlines::default(),
            reloads: 0,
            read_again: Vec::new(),
        }
    }

    /// Runs the timers due at `now` (connect timeout, keepalive, session expiry, will delay)
    /// and returns the next deadline, which the reactor uses as its poll timeout.
    pub fn tick(&mut self, now: Instant) -> Option<Instant> {
        self.now = now;
        while let Some(id) = self.deadlines.pop_due(now) {
            let Some(key) = self.live(id) else { continue };
            let Some(link) = self.links.get(key) else {
                continue;
            };
            let Some(deadline) = link.deadline(self.config.connect_timeout) else {
                continue;
            };
            if deadline > now {
                self.deadlines.push(deadline, id);
                continue;
            }
            let ending = match link.state {
                LinkState::Held => {
                    self.resume_held(key);
                    continue;
                }
                LinkState::AwaitingConnect => Ending::ConnectTimeout,
                _ => Ending::KeepaliveTimeout,
            };
            self.end_link(key, ending);
        }
        while let Some(session_key) = self.session_deadlines.pop_due(now) {
            self.session_timer(session_key);
        }
        if !self.rate_deadlines.is_empty() {
            self.end_rate_holds(now);
        }
        if self.memory.budget.in_force() {
            self.assess_memory();
        }
        [
            self.deadlines.next(),
            self.session_deadlines.next(),
            self.memory_deadline(),
            self.rate_deadlines.next(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The configuration in force: the one the router was made with, or the last reload's.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Takes a configuration read afresh (SIGHUP). The listeners stay as they were bound; every
    /// other setting holds from the next packet, connection or delivery on. Limits already
    /// agreed with a connected client (its in-flight window, the keepalive and topic alias
    /// maximum its CONNACK announced) stay as agreed until it reconnects, since the
    /// specification gives the server no way to change them mid-connection.
    pub fn reconfigure(&mut self, config: &Config) {
        let listeners = std::mem::take(&mut self.config.listeners);
        let unix_listeners = std::mem::take(&mut self.config.unix_listeners);
        self.config = config.clone();
        self.config.listeners = listeners;
        self.config.unix_listeners = unix_listeners;
        // New links take the configuration's topic alias maximum where their listener sets
        // none; the listeners' own options stay as bound, and links keep what they agreed.
        self.listener_rules = ListenerRules::of(&self.config);
        self.no_listener = Arc::new(ListenerRules::without_listener(&self.config));
        self.reloads += 1;
        self.set_memory_limit(config.memory_limit);
    }

    /// Publishes a message the broker itself originates (its log lines on
    /// `$SYS/broker/log/...`): routed as a client's PUBLISH would be, from no client.
    pub fn publish_internal(&mut self, topic: &str, payload: &[u8], now: Instant) {
        self.now = now;
        let message = Message::new(
            Arc::from(topic),
            Arc::from(payload),
            crate::protocol::QoS::AtMostOnce,
            false,
            crate::protocol::Properties::default(),
            now,
        );
        self.route(Arc::new(message), None);
    }

    /// The largest packet accepted from a client, in bytes.
    pub fn max_packet_size(&self) -> u32 {
        self.config.max_packet_size
    }

    /// Number of open links (connections), for statistics and tests.
    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    /// Number of sessions, online and offline.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    fn live(&self, id: LinkId) -> Option<usize> {
        let link = self.links.get(id.key())?;
        (link.generation == id.generation).then_some(id.key())
    }

    /// Encodes `packet` into the link's output, within the client's maximum packet size: every
    /// packet the broker originates goes through here or `Link::write`.
    fn send(&mut self, key: usize, packet: &Packet) {
        if let Some(link) = self.links.get_mut(key) {
            link.write(packet, &mut self.counters.sent);
            self.mark_ready(key);
        }
    }

    fn mark_ready(&mut self, key: usize) {
        if let Some(link) = self.links.get_mut(key) {
            publish::mark_ready(&mut self.ready, &mut self.memory, link, key);
        }
    }

    fn assign_client_id(&mut self, prefix: &str) -> String {
        self.ids_assigned += 1;
        format!("{prefix}{:016X}", self.id_seed.hash_one(self.ids_assigned))
    }
}
