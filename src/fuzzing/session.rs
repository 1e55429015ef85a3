//! The `session` target: many clients at once driven through the router, with a fake clock.
//!
//! The harness plays the reactor: it opens and closes links, keeps each link's unconsumed input
//! the way a connection's read buffer does, writes output partially, moves time and runs the
//! timers. After every step it checks the router's own invariants and reads all new output as
//! the client would: every byte must decode, and every PUBLISH must match a filter the client's
//! session was granted (tracked from the SUBSCRIBE the client sent and the SUBACK it got), and
//! no new QoS 1 or 2 PUBLISH may reuse a packet id the client has not acknowledged yet.
//!
//! The host program of an embedded broker takes part too (`session_host`): it publishes,
//! subscribes, takes and drops through its handle, served after every step.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::MAX_PACKET_SIZE;
use super::session_host::HostSide;
use super::session_script::{Op, OpReader, config_from};
use crate::protocol::{ConnectReturnCode, DecodeError, Packet, ProtocolVersion, decode_packet};
use crate::router::{LinkId, LinkLoss, ListenerId, Ready, Router, answer_version};
use crate::topic::TopicFilter;

/// Links open at once; more `Open` operations are skipped.
const MAX_LINKS: usize = 8;

/// Target `session`; see [`super::Script`] for the input layout.
pub fn session(data: &[u8]) {
    let mut head = [0u8; 4];
    let (config, script) = data.split_at(data.len().min(4));
    head[..config.len()].copy_from_slice(config);
    let mut harness = Harness::new(config_from(head));
    for op in OpReader::new(script) {
        harness.step(op);
        harness.check();
    }
    harness.shut_down();
}

/// What the harness knows of one open link, as its client and its reactor would.
struct Client {
    id: LinkId,
    token: usize,
    /// Bytes sent that the router has not consumed yet (a partial packet).
    unread: Vec<u8>,
    /// Bytes the router consumed, decoded here to learn what the client asked for.
    sent: Vec<u8>,
    /// The first CONNECT the client sent (client id, version, clean start): the version of
    /// everything after it.
    connect: Option<(String, ProtocolVersion, bool)>,
    /// The version of the refusing CONNACK, when the first CONNECT named a protocol level or
    /// name the broker does not speak.
    refused_as: Option<ProtocolVersion>,
    /// Set once the client's own bytes stopped decoding; the router has closed the link.
    sent_garbage: bool,
    /// SUBSCRIBE packets awaiting their SUBACK: packet id and filters.
    subscribing: Vec<(u16, Vec<String>)>,
    /// Bytes at the front of the router's output that were already checked.
    output_checked: usize,
    /// The session key (client id, or a unique name for an assigned id) once accepted.
    session: Option<String>,
}

impl Client {
    fn version(&self) -> ProtocolVersion {
        match (&self.connect, self.refused_as) {
            (Some((_, version, _)), _) => *version,
            (None, Some(version)) => version,
            (None, None) => ProtocolVersion::V3_1_1,
        }
    }
}

struct Harness {
    router: Router,
    now: Instant,
    /// The router's packet size limit, so the harness decodes client bytes as the router does.
    max_packet_size: u32,
    clients: Vec<Client>,
    next_token: usize,
    sessions: HashMap<String, SessionView>,
    ready: Vec<Ready>,
    host: HostSide,
}

impl Harness {
    fn new(config: crate::Config) -> Harness {
        Harness {
            router: Router::new(&config),
            now: Instant::now(),
            max_packet_size: config.max_packet_size,
            clients: Vec::new(),
            next_token: 0,
            sessions: HashMap::new(),
            ready: Vec::new(),
            host: HostSide::new(config.max_packet_size),
        }
    }

    fn pick(&self, link: u8) -> Option<usize> {
        (!self.clients.is_empty()).then(|| usize::from(link) % self.clients.len())
    }

    fn step(&mut self, op: Op<'_>) {
        match op {
            Op::Open if self.clients.len() < MAX_LINKS => {
                let token = self.next_token;
                self.next_token += 1;
                let port = u16::try_from(token % 60_000).unwrap_or(0) + 1024;
                let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                // Every other link on listener 0, whose rules the configuration may set.
                let listener = ListenerId::new(token % 2);
                let id = self.router.open_link_on(token, listener, peer, self.now);
                self.clients.push(Client {
                    id,
                    token,
                    unread: Vec::new(),
                    sent: Vec::new(),
                    connect: None,
                    refused_as: None,
                    sent_garbage: false,
                    subscribing: Vec::new(),
                    output_checked: 0,
                    session: None,
                });
            }
            Op::Open => {}
            Op::Send { link, bytes } => {
                if let Some(index) = self.pick(link) {
                    self.send(index, bytes);
                }
            }
            Op::Consume { link, amount } => {
                if let Some(index) = self.pick(link) {
                    self.consume(index, amount);
                }
            }
            Op::Close { link, loss } => {
                if let Some(index) = self.pick(link) {
                    let loss = match loss % 3 {
                        0 => LinkLoss::PeerClosed,
                        1 => LinkLoss::Io("connection reset by peer".to_owned()),
                        _ => LinkLoss::Shutdown,
                    };
                    self.close(index, loss);
                }
            }
            Op::Advance { tenths } => self.now += Op::duration(tenths),
            Op::Tick => {
                if let Some(next) = self.router.tick(self.now) {
                    // A deadline is never due already, nor absurdly far: keepalive is 16 bits.
                    assert!(next > self.now, "tick returned a deadline already due");
                    let horizon = Duration::from_secs(2 * u64::from(u16::MAX) + 3600);
                    assert!(next <= self.now + horizon, "deadline too far ahead");
                }
            }
            Op::HostPublish {
                topic,
                flags,
                payload,
            } => self.host.publish(topic, flags, payload),
            Op::HostSubscribe { filter, flags } => self.host.subscribe(filter, flags),
            Op::HostTake {
                subscription,
                count,
            } => self.host.take(subscription, count),
            Op::HostDrop { subscription } => self.host.drop_subscription(subscription),
        }
        self.host.turn(&mut self.router, self.now);
    }

    fn send(&mut self, index: usize, bytes: &[u8]) {
        let Some(client) = self.clients.get_mut(index) else {
            return;
        };
        client.unread.extend_from_slice(bytes);
        let consumed = self.router.receive(client.id, &client.unread, self.now);
        assert!(consumed <= client.unread.len(), "consumed more than given");
        client.sent.extend(client.unread.drain(..consumed));
        let acknowledged = read_sent(client, self.max_packet_size);
        if let Some(view) = client
            .session
            .as_ref()
            .and_then(|s| self.sessions.get_mut(s))
        {
            for id in acknowledged {
                view.unacknowledged.remove(&id);
            }
        }
    }

    /// The reactor wrote `amount` bytes of output; a link the router wants closed is closed once
    /// its output is written, as the reactor does.
    fn consume(&mut self, index: usize, amount: u16) {
        let Some(client) = self.clients.get_mut(index) else {
            return;
        };
        let pending = self.router.output(client.id).len();
        let written = pending.min(usize::from(amount));
        self.router.consume_output(client.id, written, self.now);
        client.output_checked = client.output_checked.saturating_sub(written);
        let drained = self.router.output(client.id).len() == client.output_checked;
        if written == pending && drained && self.router.wants_close(client.id) {
            self.close(index, LinkLoss::PeerClosed);
        }
    }

    fn close(&mut self, index: usize, loss: LinkLoss) {
        if index < self.clients.len() {
            let client = self.clients.swap_remove(index);
            self.router.close_link(client.id, loss, self.now);
            assert!(self.router.wants_close(client.id), "closed link still open");
            assert!(self.router.output(client.id).is_empty());
        }
    }

    /// After every step: the router's invariants, the ready list, and all new output.
    fn check(&mut self) {
        if let Err(broken) = self.router.check_invariants() {
            panic!("router invariant broken: {broken}");
        }
        let links = self.clients.len() + self.host.link_count();
        assert_eq!(self.router.link_count(), links);
        self.ready.clear();
        self.router.take_ready(&mut self.ready);
        for ready in &self.ready {
            if HostSide::is_host_token(ready.token) {
                continue;
            }
            let known = self
                .clients
                .iter()
                .any(|c| c.id == ready.link && c.token == ready.token);
            assert!(known, "ready entry for a closed link: {ready:?}");
        }
        for index in 0..self.clients.len() {
            self.check_output(index);
        }
    }

    /// Decodes the output written since the last check, as the client would.
    fn check_output(&mut self, index: usize) {
        let Some(client) = self.clients.get_mut(index) else {
            return;
        };
        let output = self.router.output(client.id);
        let version = client.version();
        while let Some(rest) = output
            .get(client.output_checked..)
            .filter(|r| !r.is_empty())
        {
            let packet = match decode_packet(rest, version, MAX_PACKET_SIZE) {
                Ok(Some((packet, used))) => {
                    client.output_checked += used;
                    packet
                }
                Ok(None) => panic!("output ends in a partial packet: {rest:?}"),
                Err(e) => panic!("broker wrote an invalid packet ({e}): {rest:?}"),
            };
            received(client, &mut self.sessions, packet);
        }
    }

    /// The broker shuts down: every link is lost; the router must end up empty of links.
    fn shut_down(&mut self) {
        self.host.shut_down(&mut self.router, self.now);
        while !self.clients.is_empty() {
            self.close(0, LinkLoss::Shutdown);
            self.check();
        }
        assert_eq!(self.router.link_count(), 0);
        let _ = self.router.tick(self.now + Duration::from_secs(1 << 20));
        self.check();
    }
}

/// Decodes the bytes the router consumed from a client, to learn its CONNECT and SUBSCRIBEs.
/// The router decoded the same bytes with the same versions, so stops at the same error.
/// Returns the packet ids the client acknowledged (any of PUBACK, PUBREC or PUBCOMP).
fn read_sent(client: &mut Client, max_packet_size: u32) -> Vec<u16> {
    let mut acknowledged = Vec::new();
    while !client.sent_garbage {
        let version = client.version();
        match decode_packet(&client.sent, version, max_packet_size) {
            Ok(Some((packet, used))) => {
                client.sent.drain(..used);
                match packet {
                    Packet::Connect(c) if client.connect.is_none() => {
                        client.connect = Some((c.client_id, c.protocol, c.clean_start));
                    }
                    Packet::Subscribe(s) => {
                        let filters = s.filters.into_iter().map(|f| f.filter).collect();
                        client.subscribing.push((s.packet_id.get(), filters));
                    }
                    Packet::PubAck(ack) | Packet::PubRec(ack) | Packet::PubComp(ack) => {
                        acknowledged.push(ack.packet_id.get());
                    }
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(DecodeError::UnsupportedProtocolVersion { level }) if client.connect.is_none() => {
                client.refused_as = Some(answer_version(level));
                client.sent_garbage = true;
            }
            Err(_) => client.sent_garbage = true,
        }
    }
    acknowledged
}

/// What a client has learned of its session from the broker's packets.
#[derive(Default)]
struct SessionView {
    /// Every filter granted since the session began: a message queued before an UNSUBSCRIBE
    /// may still arrive after it, so this only grows until the session is new.
    granted: HashSet<String>,
    /// Packet ids of QoS 1 and 2 PUBLISH packets received and not acknowledged. Any
    /// acknowledgement frees an id here, which is laxer than the broker, never stricter.
    unacknowledged: HashSet<u16>,
}

/// Checks one packet the broker sent to `client` and learns what it grants.
fn received(client: &mut Client, sessions: &mut HashMap<String, SessionView>, packet: Packet) {
    match packet {
        Packet::ConnAck(ack) if ack.return_code == ConnectReturnCode::Accepted => {
            let (client_id, version, clean_start) = match &client.connect {
                Some((id, version, clean)) => (id.as_str(), *version, *clean),
                None => ("", ProtocolVersion::V3_1_1, true),
            };
            // An empty id was replaced by a fresh, unique one.
            let key = match client_id.is_empty() {
                true => format!("\0assigned-{}", client.token),
                false => client_id.to_owned(),
            };
            if version == ProtocolVersion::V3_1 {
                // A 3.1 CONNACK does not say whether the session was resumed: assume it was
                // unless clean session was asked for, and forget the unacknowledged ids, which
                // a new session may reuse. Both are laxer than the broker, never stricter.
                let view = sessions.entry(key.clone()).or_default();
                view.unacknowledged.clear();
                if clean_start {
                    *view = SessionView::default();
                }
            } else if !ack.session_present {
                sessions.insert(key.clone(), SessionView::default());
            }
            client.session = Some(key);
        }
        Packet::SubAck(ack) => {
            let position = client
                .subscribing
                .iter()
                .position(|(id, _)| *id == ack.packet_id.get());
            let Some((_, filters)) = position.map(|p| client.subscribing.remove(p)) else {
                panic!("SUBACK {} answers no SUBSCRIBE", ack.packet_id.get());
            };
            assert_eq!(
                filters.len(),
                ack.reasons.len(),
                "one SUBACK code per filter"
            );
            let session = client.session.clone().unwrap_or_default();
            let view = sessions.entry(session).or_default();
            for (filter, reason) in filters.into_iter().zip(ack.reasons) {
                if !reason.is_error() {
                    view.granted.insert(filter);
                }
            }
        }
        Packet::Publish(publish) => {
            let session = client.session.as_ref().expect("PUBLISH before CONNACK");
            let view = sessions.entry(session.clone()).or_default();
            let subscribed = view
                .granted
                .iter()
                .any(|f| TopicFilter::parse(f).is_ok_and(|filter| filter.matches(&publish.topic)));
            assert!(
                subscribed,
                "PUBLISH to {:?} delivered to {session:?}, subscribed to {:?}",
                publish.topic, view.granted
            );
            if let Some(id) = publish.packet_id {
                let fresh = view.unacknowledged.insert(id.get());
                assert!(
                    fresh || publish.dup,
                    "packet id {} reused for {session:?} before it was acknowledged",
                    id.get()
                );
            }
        }
        _ => {}
    }
}
