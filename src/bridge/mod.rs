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
//! - `lifecycle.rs`: losing a connection, planning the next attempt, the state topic.
//! - `local.rs`: the local side, an MQTT 5 client of the router.
//! - `connect.rs`: the CONNECT sent (bridge bit, will), the CONNACK refusals named.
//! - `remote.rs`: the remote side's packets, and messages coming in.
//! - `forward.rs`: the local side's deliveries, out to the remote end.
//! - `echo.rs`: the check that keeps a 3.x remote from echoing the bridge's own messages.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod backoff;
mod connect;
mod echo;
mod flows;
mod forward;
mod lifecycle;
mod local;
mod remote;
mod topics;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_connection;
#[cfg(test)]
mod tests_failover;

use std::sync::Arc;
use std::time::{Duration, Instant};

use log::info;

use crate::config::{self, BridgeProtocol, StartType};
use crate::protocol::{Packet, ProtocolVersion};
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
    /// The broker does not read the remote end now (its memory budget): a PINGRESP cannot be
    /// read meanwhile, so its wait starts again at each tick.
    reads_held: bool,
    /// The bridge wants the connection closed, for this reason.
    close: Option<String>,
    /// The address being tried or used, by position in the settings.
    address: usize,
    /// The next attempt starts at once (the remote end refused the bridge bit, or the primary
    /// address answers again).
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
        let local = local_side(settings, &name, &remote_client_id, token);
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
            reads_held: false,
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
            // mosquitto queues QoS 0 for a lazy bridge: the queue is what starts it.
            router.queue_qos0_for(&self.local.client_id, true);
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

    /// Whether the reactor should check that the primary address answers again: connected on
    /// a secondary one, without `round_robin` (mosquitto probes it every 5 seconds).
    pub fn probing_primary(&self) -> bool {
        self.state == State::Connected
            && !self.settings.round_robin
            && self.address != 0
            && self.settings.addresses.len() > 1
    }

    /// The primary address accepted a probe: this connection ends and the next attempt,
    /// at once, is on the primary.
    pub fn primary_is_back(&mut self) {
        self.retry_now = true;
        self.want_close("the primary address answers again");
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
        self.reads_held = false;
    }

    /// The transport is up (TCP connected, TLS handshake done): CONNECT goes out.
    pub fn transport_up(&mut self, now: Instant) {
        let connect = self.connect_packet();
        connect::encode_connect(&connect, self.try_private, &mut self.output);
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

    /// Whether the broker holds this bridge's reads; see [`Router::bridge_may_read`].
    pub fn hold_reads(&mut self, held: bool) {
        self.reads_held = held;
    }

    pub fn reads_held(&self) -> bool {
        self.reads_held
    }

    fn tick_connected(&mut self, router: &mut Router, now: Instant) -> Option<Instant> {
        let keepalive = Duration::from_secs(u64::from(self.settings.keepalive_interval));
        if self.reads_held
            && let Some(sent) = self.ping_sent.as_mut()
        {
            *sent = now;
        }
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
}

/// The local side's identity: `local_clientid` (default `local.<remote client id>`),
/// `local_cleansession` (default `cleansession`), `local_username` and `local_password`.
fn local_side(
    settings: &config::Bridge,
    name: &Arc<str>,
    remote_id: &str,
    token: usize,
) -> LocalSide {
    let client_id = settings
        .local_clientid
        .clone()
        .unwrap_or_else(|| format!("local.{remote_id}"));
    let clean = settings.local_cleansession.unwrap_or(settings.cleansession);
    let mut local = LocalSide::new(Arc::clone(name), client_id, clean, token);
    local.username = settings.local_username.clone();
    local.password = settings.local_password.as_ref().map(|s| s.0.clone());
    local
}
