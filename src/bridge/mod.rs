//! Bridges: the broker as a client of another broker, forwarding messages both ways as a
//! mosquitto.conf `connection` section describes. This is the pure part, free of sockets and
//! clocks: one [`Bridge`] per section, a state machine the reactor (`net/bridge.rs`) feeds with
//! the remote end's bytes and the time, and drains of the bytes to send it.
//!
//! ```text
//!  Idle ──attempt due──▶ Connecting ──TCP/TLS up──▶ AwaitingConnAck ──CONNACK 0──▶ Connected
//!   ▲                        │                            │                          │
//!   └──── backoff ◀──────────┴──── failure, refusal ──────┴───── loss, keepalive ────┘
//! ```
//!
//! - `topics.rs`: the `topic` lines as routes, with mosquitto's prefix rules.
//! - `backoff.rs`: `restart_timeout`, the delay before the next attempt.
//! - `flows.rs`: QoS 1 and 2 packet ids on both sides.
//! - `local.rs`: the local side, an MQTT 5 client of the router.
//! - `remote.rs`: the remote side's packets, and the forwarding itself.
//! - `forward.rs`: the local side's deliveries, out to the remote end.
//! - `echo.rs`: the check that keeps a 3.x remote from echoing the bridge's own messages.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod backoff;
mod echo;
mod flows;
mod forward;
mod local;
mod remote;
mod topics;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use log::info;

use crate::config::{self, BridgeProtocol, StartType};
use crate::protocol::{Packet, ProtocolVersion, RetainHandling};
use crate::router::Router;
use backoff::Backoff;
use echo::EchoGuard;
use flows::Flows;
use local::LocalSide;
pub use topics::TopicMap;

/// Above this many bytes waiting for the remote socket, nothing more is taken from the local
/// side: the router then queues for the bridge's session, within its bounds.
pub const OUTPUT_HIGH_WATER: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the next attempt; `None`: none is planned (lazy below its threshold, or
    /// `start_type once` after its one connection).
    Idle(Option<Instant>),
    /// A TCP connection (and maybe a TLS handshake) under way, until the deadline.
    Connecting(Instant),
    /// CONNECT sent, CONNACK awaited until the deadline.
    AwaitingConnAck(Instant),
    Connected,
}

/// What the remote end told the bridge in CONNACK (MQTT 5), and defaults for 3.x.
#[derive(Debug, Clone, Copy)]
struct RemoteLimits {
    receive_maximum: u16,
    maximum_packet_size: u32,
}

/// One bridge: its settings, where it is in its connection, and the flows across it.
#[derive(Debug)]
pub struct Bridge {
    settings: config::Bridge,
    name: Arc<str>,
    map: TopicMap,
    remote_client_id: String,
    state_topic: String,
    protocol: ProtocolVersion,
    state: State,
    backoff: Backoff,
    /// Set the protocol level's bridge bit; dropped for good once a remote end refuses it.
    try_private: bool,
    /// Bytes for the remote end, in order.
    output: Vec<u8>,
    flows: Flows,
    local: LocalSide,
    limits: RemoteLimits,
    /// Largest packet accepted from the remote end.
    max_in: u32,
    last_sent: Instant,
    /// Forwarded traffic, for a lazy bridge's idle timeout.
    last_traffic: Instant,
    ping_sent: Option<Instant>,
    /// The bridge wants the connection closed, for this reason.
    close: Option<String>,
    /// The address being tried or used, by position in the settings.
    address: usize,
    /// The next attempt starts at once (the remote end refused the bridge bit).
    retry_now: bool,
    /// The state last published locally, to publish only changes.
    announced: Option<bool>,
    echo: EchoGuard,
    started: bool,
}

impl Bridge {
    /// A bridge for one `connection` section. `hostname` makes the default client id
    /// (`<hostname>.<name>`); `token` is the reactor's key for the local link. `None` when
    /// the topic lines do not compile, which the configuration reader already refuses.
    pub fn new(
        settings: &config::Bridge,
        hostname: &str,
        token: usize,
        now: Instant,
    ) -> Option<Bridge> {
        let map = TopicMap::new(&settings.topics)?;
        let name: Arc<str> = Arc::from(settings.name.as_str());
        let remote_client_id = settings
            .remote_clientid
            .clone()
            .unwrap_or_else(|| format!("{hostname}.{name}"));
        let local_client_id = settings
            .local_clientid
            .clone()
            .unwrap_or_else(|| format!("local.{remote_client_id}"));
        let clean = settings.local_cleansession.unwrap_or(settings.cleansession);
        let mut local = LocalSide::new(Arc::clone(&name), local_client_id, clean, token);
        local.username = settings.local_username.clone();
        local.password = settings.local_password.as_ref().map(|s| s.0.clone());
        let state_topic = settings
            .notification_topic
            .clone()
            .unwrap_or_else(|| format!("$SYS/broker/connection/{name}/state"));
        let protocol = match settings.protocol_version {
            BridgeProtocol::V31 => ProtocolVersion::V3_1,
            BridgeProtocol::V311 => ProtocolVersion::V3_1_1,
            BridgeProtocol::V5 => ProtocolVersion::V5,
        };
        Some(Bridge {
            map,
            remote_client_id,
            state_topic,
            protocol,
            state: State::Idle(Some(now)),
            backoff: Backoff::new(settings.restart_timeout),
            try_private: settings.try_private && !protocol.is_v5(),
            output: Vec::new(),
            flows: Flows::default(),
            local,
            limits: RemoteLimits {
                receive_maximum: u16::MAX,
                maximum_packet_size: u32::MAX,
            },
            max_in: match settings.max_packet_size {
                0 => u32::MAX,
                n => n,
            },
            last_sent: now,
            last_traffic: now,
            ping_sent: None,
            close: None,
            address: 0,
            retry_now: false,
            announced: None,
            echo: EchoGuard::default(),
            started: false,
            settings: settings.clone(),
            name,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The settings the bridge was made from (addresses, TLS).
    pub fn settings(&self) -> &config::Bridge {
        &self.settings
    }

    /// The reactor's key for the local link.
    pub fn local_token(&self) -> usize {
        self.local.token
    }

    /// First call, at startup: the local session is made so messages queue before the first
    /// connection, and the local state topic says 0.
    pub fn start(&mut self, router: &mut Router, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        self.local
            .prime(router, self.map.local_subscriptions(), now);
        self.announce(router, false, now);
        if self.settings.start_type == StartType::Lazy {
            self.state = State::Idle(None);
        }
    }

    /// Whether a connection attempt should start now.
    pub fn attempt_due(&self, router: &Router, now: Instant) -> bool {
        match self.state {
            State::Idle(Some(at)) => at <= now,
            State::Idle(None) if self.settings.start_type == StartType::Lazy => {
                let queued = router.queued_for(&self.local.client_id);
                queued >= self.settings.threshold as usize
            }
            _ => false,
        }
    }

    /// The address to try next, by position in the settings' addresses.
    pub fn address(&self) -> usize {
        self.address
    }

    /// An attempt starts on [`Bridge::address`]; `label` names it in the log.
    pub fn connecting(&mut self, label: &str, now: Instant) {
        info!("Connecting bridge {} ({label})", self.name);
        self.state = State::Connecting(now + self.patience());
        self.output.clear();
        self.close = None;
        self.ping_sent = None;
    }

    /// The transport is up (TCP connected, TLS handshake done): CONNECT goes out.
    pub fn transport_up(&mut self, now: Instant) {
        let connect = self.connect_packet();
        remote::encode_connect(&connect, self.try_private, &mut self.output);
        self.last_sent = now;
        self.state = State::AwaitingConnAck(now + self.patience());
    }

    /// How long connecting, or waiting for CONNACK, may take: the keepalive interval.
    fn patience(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.keepalive_interval.max(5)))
    }

    /// Bytes waiting for the remote socket.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// The reactor wrote the first `written` bytes of [`Bridge::output`].
    pub fn consume_output(&mut self, written: usize) {
        if written >= self.output.len() {
            self.output = Vec::new();
        } else {
            self.output.drain(..written);
        }
    }

    /// The bridge wants the connection closed, and why; taken once.
    pub fn take_close(&mut self) -> Option<String> {
        self.close.take()
    }

    /// Timers: the connect and CONNACK deadlines, keepalive and the idle timeout of a lazy
    /// bridge. Returns the next deadline.
    pub fn tick(&mut self, router: &mut Router, now: Instant) -> Option<Instant> {
        self.echo.expire(now);
        match self.state {
            State::Idle(at) => at,
            State::Connecting(deadline) | State::AwaitingConnAck(deadline) => {
                if now >= deadline {
                    self.want_close("timed out");
                }
                Some(deadline)
            }
            State::Connected => self.tick_connected(router, now),
        }
    }

    fn tick_connected(&mut self, router: &mut Router, now: Instant) -> Option<Instant> {
        let keepalive = Duration::from_secs(u64::from(self.settings.keepalive_interval));
        if let Some(sent) = self.ping_sent {
            if now >= sent + keepalive {
                self.want_close("keepalive timeout, no PINGRESP");
            }
        } else if now >= self.last_sent + keepalive {
            self.send_remote(&Packet::PingReq, now);
            self.ping_sent = Some(now);
        }
        if self.settings.start_type == StartType::Lazy {
            let idle = Duration::from_secs(u64::from(self.settings.idle_timeout));
            if now >= self.last_traffic + idle && router.queued_for(&self.local.client_id) == 0 {
                self.want_close("idle timeout of a lazy bridge");
            }
        }
        let ping = self.ping_sent.unwrap_or(self.last_sent) + keepalive;
        if self.settings.start_type == StartType::Lazy {
            let idle = Duration::from_secs(u64::from(self.settings.idle_timeout));
            return Some(ping.min(self.last_traffic + idle));
        }
        Some(ping)
    }

    fn want_close(&mut self, why: &str) {
        if self.close.is_none() {
            self.close = Some(why.to_owned());
        }
    }

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

    fn plan_next(&mut self, was_connected: bool, now: Instant) {
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
        let delay = if self.retry_now || (!was_connected && self.address != 0) {
            Duration::ZERO
        } else {
            self.backoff.next_delay()
        };
        self.retry_now = false;
        info!(
            "Bridge {}: next attempt in {} s",
            self.name,
            delay.as_secs()
        );
        self.state = State::Idle(Some(now + delay));
    }

    fn address_label(&self) -> String {
        self.settings
            .addresses
            .get(self.address)
            .map_or_else(String::new, |a| format!("{}:{}", a.host, a.port))
    }

    /// Publishes the state locally when it changed (`notifications`).
    fn announce(&mut self, router: &mut Router, up: bool, now: Instant) {
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
    fn open_local(&mut self, router: &mut Router, now: Instant) {
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

    fn connected(&mut self, router: &mut Router, now: Instant) {
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
