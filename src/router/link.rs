//! One network connection as the router sees it: where it is in the protocol, which session it
//! serves, its listener's rules, its will, its keepalive, what the client allows the broker to
//! send it, and the encoded bytes waiting to be written to it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::debug;

use super::listeners::{ListenerRules, Peer};
use crate::protocol::{Fit, Packet, ProtocolVersion, Will, encode_within};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Accepted; the first packet, which must be CONNECT, has not arrived [MQTT-3.1.0-1].
    AwaitingConnect,
    Connected,
    /// CONNECT arrived from an address with recent login failures and waits in `Link::held`;
    /// nothing more is read until it is checked.
    Held,
    /// The router has asked the reactor to close it; nothing more is read or routed.
    Closing,
}

/// What an MQTT 5 client announced in CONNECT about the packets it accepts, plus the topic
/// aliases of this connection. Defaults are the values that apply when a property is absent,
/// which are also what MQTT 3 clients get.
#[derive(Debug)]
pub struct ClientLimits {
    /// Largest packet the client accepts [MQTT-3.1.2-24]; larger deliveries are dropped, and
    /// other packets lose their optional properties to fit (`Link::write`).
    pub maximum_packet_size: u32,
    /// Topic aliases the client accepts from the broker (0: none).
    pub topic_alias_maximum: u16,
    /// Whether reason strings may be sent outside CONNACK, PUBLISH and DISCONNECT
    /// [MQTT-3.1.2-29].
    pub problem_information: bool,
    /// Allocated when the first alias is set up, so connections without aliases (all 3.x
    /// ones) do not carry two empty maps.
    pub aliases: Option<Box<TopicAliases>>,
}

/// The topic aliases of one MQTT 5 connection, in both directions.
#[derive(Debug, Default)]
pub struct TopicAliases {
    /// Aliases the broker set up towards the client, by topic. Bounded by the client's
    /// topic alias maximum.
    pub outbound: HashMap<Arc<str>, u16>,
    /// Aliases the client set up towards the broker, indexed by alias − 1: values are bounded
    /// by the broker's announced topic alias maximum (above it is a protocol error), so a
    /// vector is both smaller and faster than a map.
    pub inbound: Vec<Option<Arc<str>>>,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            maximum_packet_size: u32::MAX,
            topic_alias_maximum: 0,
            problem_information: true,
            aliases: None,
        }
    }
}

pub struct Link {
    /// The reactor's key, handed back in `Ready`.
    pub token: usize,
    pub generation: u32,
    pub peer: Peer,
    /// The rules of the listener the link came in on.
    pub rules: Arc<ListenerRules>,
    pub state: LinkState,
    /// The version CONNECT announced; the decoder's guess before that.
    pub version: ProtocolVersion,
    /// Key of the session in the router's session slab, once connected; narrowed, as a
    /// broker holds far fewer than 2^32 sessions (see [`Link::session`]).
    session: Option<u32>,
    /// For log lines; set from CONNECT.
    pub client_id: Option<Arc<str>>,
    /// What few links have (a will, a login, a held CONNECT, publish rate buckets); `None`
    /// until the first of them is set.
    pub extras: Option<Box<LinkExtras>>,
    /// Seconds; zero disables keepalive.
    pub keep_alive: u16,
    /// When the last packet arrived; before CONNECT, when the connection was accepted (bytes of
    /// a CONNECT trickling in do not extend the CONNECT deadline).
    pub last_activity: Instant,
    pub limits: ClientLimits,
    /// Encoded packets not yet written. Released entirely when drained, so an idle connection
    /// holds no output buffer.
    pub output: Vec<u8>,
    /// Whether the link is in the router's ready list.
    pub ready: bool,
    /// The listener it arrived on, by position in the configuration's listeners.
    pub listener: u16,
    /// The slow-down's delay was served: the held CONNECT is checked when it comes back.
    pub penalty_served: bool,
    /// Accepted over a limit: its CONNECT is answered with a refusal.
    pub over_limit: Option<OverLimit>,
    /// The output capacity counted against the memory budget (see `memory_use`); an output
    /// never comes near 4 GiB (deliveries stop at the high-water mark, packets are bounded).
    pub charged_output: u32,
    /// It has sent a PUBLISH: the memory budget's backpressure pauses such links.
    pub published: bool,
    /// A memory budget was in force as it opened: its output is counted at every write and
    /// grows a step at a time once large (see [`Link::reserve_output`]).
    pub budgeted: bool,
    /// Not read until the memory budget's episode lets publishers be read again.
    pub paused_for_memory: bool,
}

/// What few links have, boxed together so that a link with none of it (an anonymous client
/// without a will, the usual idle sensor) holds one pointer rather than four.
#[derive(Debug, Default)]
pub struct LinkExtras {
    /// Boxed: a will's properties are large, and a link with a login alone need not pay for
    /// them.
    pub will: Option<Box<Will>>,
    /// What the client logged in with, kept so that a reload can check it against the new
    /// password file (mosquitto does the same).
    pub credentials: Option<Credentials>,
    /// A CONNECT held by the failure slow-down until the instant given (state `Held`).
    pub held: Option<Box<(Instant, crate::protocol::Connect)>>,
    /// Its publish rate buckets and hold, made at its first PUBLISH when rate limits are set.
    pub rate: Option<Box<super::rate::PublishRate>>,
}

/// The limit a connection was accepted over, which its CONNECT is refused for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// `max_connections` or `max_connections_total`.
    Connections,
    /// `memory_limit`; a client resuming its own session is let in all the same.
    Memory,
}

/// Packets written to links, for the `$SYS` counters: counted in the router's totals as they
/// are written, not in each link, which would cost every idle connection 24 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Packets other than PUBLISH (a delivery counts two fields, not three).
    pub packets: u64,
    pub publishes: u64,
    pub publish_bytes: u64,
}

impl Sent {
    /// A PUBLISH with `bytes` of payload was written.
    pub fn count_publish(&mut self, bytes: usize) {
        self.publishes += 1;
        self.publish_bytes += bytes as u64;
    }
}

/// A connected client's login.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: Arc<str>,
    pub password: Option<Box<[u8]>>,
}

/// Above this many unwritten bytes a link takes no new deliveries into its output: they wait in
/// the session's bounded queue instead, so a slow reader costs bounded memory.
pub const OUTPUT_HIGH_WATER: usize = 256 * 1024;
/// How much a large output buffer grows by at a time (see [`Link::reserve_output`]).
pub const OUTPUT_GROWTH: usize = 16 * 1024;

impl Link {
    pub fn new(
        token: usize,
        generation: u32,
        peer: Peer,
        rules: Arc<ListenerRules>,
        now: Instant,
    ) -> Link {
        Link {
            token,
            generation,
            peer,
            rules,
            state: LinkState::AwaitingConnect,
            version: ProtocolVersion::V3_1_1,
            session: None,
            client_id: None,
            extras: None,
            keep_alive: 0,
            last_activity: now,
            limits: ClientLimits::default(),
            output: Vec::new(),
            ready: false,
            listener: 0,
            penalty_served: false,
            over_limit: None,
            charged_output: 0,
            published: false,
            budgeted: false,
            paused_for_memory: false,
        }
    }

    /// When this link must be closed if nothing else happens: the CONNECT deadline before
    /// CONNECT, one and a half keepalive periods after the last packet afterwards
    /// [MQTT-3.1.2-24].
    pub fn deadline(&self, connect_timeout: Duration) -> Option<Instant> {
        match self.state {
            LinkState::AwaitingConnect => Some(self.last_activity + connect_timeout),
            LinkState::Connected if self.keep_alive > 0 => {
                let period = Duration::from_millis(1500 * u64::from(self.keep_alive));
                Some(self.last_activity + period)
            }
            LinkState::Held => self.extras.as_ref()?.held.as_ref().map(|held| held.0),
            LinkState::Connected | LinkState::Closing => None,
        }
    }

    /// Appends `packet` to the output within the client's maximum packet size, leaving out
    /// what the specification allows to make it fit [MQTT-3.1.2-24] (see
    /// [`encode_within`]), counting it in `sent`. Deliveries go through
    /// `outbound::write_publish` instead.
    pub fn write(&mut self, packet: &Packet, sent: &mut Sent) {
        sent.packets += 1;
        if self.budgeted {
            self.reserve_output(64);
        }
        let maximum = self.limits.maximum_packet_size;
        if encode_within(packet, self.version, maximum, &mut self.output) == Fit::Oversize {
            debug!(
                "{} to {} exceeds its maximum packet size of {maximum} even in its smallest form",
                packet.name(),
                self.name()
            );
        }
    }

    /// Makes room for about `additional` more bytes of output, for a link under a memory
    /// budget: once the buffer is large it grows by [`OUTPUT_GROWTH`] at a time rather than
    /// doubling, as a fan-out to many slow readers would otherwise double all their buffers at
    /// the same message, a jump the budget sees only after it happened. Without a budget the
    /// buffer doubles, which copies less as it grows.
    pub fn reserve_output(&mut self, additional: usize) {
        let capacity = self.output.capacity();
        if capacity >= OUTPUT_GROWTH && capacity - self.output.len() < additional {
            self.output.reserve_exact(additional.max(OUTPUT_GROWTH));
        }
    }

    /// Whether a delivery may go into the output now; `high_water` is [`OUTPUT_HIGH_WATER`],
    /// or less while the broker is short of memory.
    pub fn has_room(&self, high_water: usize) -> bool {
        self.output.len() < high_water
    }

    /// Until when it is held for going over its publish rate, if it is.
    pub fn held_until(&self) -> Option<Instant> {
        self.extras.as_ref()?.rate.as_ref()?.held_until
    }

    /// The link's [`LinkExtras`], made now if it has none: only for setting one of them.
    pub fn extras_mut(&mut self) -> &mut LinkExtras {
        self.extras.get_or_insert_default()
    }

    /// Key of the session in the router's session slab, once connected.
    pub fn session(&self) -> Option<usize> {
        self.session.map(|key| key as usize)
    }

    /// CONNECT was accepted: the link serves the session `key`. A key beyond u32 cannot occur
    /// (every session is over a hundred bytes of memory); were it to, the link would serve
    /// none rather than another.
    pub fn attach_session(&mut self, key: usize) {
        self.session = u32::try_from(key).ok();
    }

    /// The link is ending: it serves its session no more.
    pub fn detach_session(&mut self) -> Option<usize> {
        self.session.take().map(|key| key as usize)
    }

    /// The client id for log lines, or "<unknown>" before CONNECT.
    pub fn name(&self) -> &str {
        self.client_id.as_deref().unwrap_or("<unknown>")
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::*;

    /// A broker holds one link per connected client, most of them idle sensors, so every byte
    /// here is multiplied by thousands. Raise these only with a reason.
    #[test]
    fn a_link_stays_small() {
        assert!(
            size_of::<Peer>() <= 32,
            "Peer is {} bytes",
            size_of::<Peer>()
        );
        // What was written is counted in the router's totals, not in each link; the
        // will, login, held CONNECT and rate buckets share one box; the peer takes 32 bytes;
        // the session key 4 (160).
        assert!(
            size_of::<Link>() <= 160,
            "Link is {} bytes",
            size_of::<Link>()
        );
    }
}
