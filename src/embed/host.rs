//! The loop's side of the host program's requests: an in-process MQTT 5 client of the router,
//! as a bridge's local side is one, on links with a [`Peer::Host`] address and no listener (so
//! no password check, ACL or hook applies to the host program, which owns the broker).
//!
//! One link publishes everything the host publishes; each subscription has a link of its
//! own, whose in-flight window is the subscription's capacity, so a host that does not take
//! its messages is, to the router, one slow client among others.
//!
//! No socket, clock or thread here: the reactor hands in the router and the time, and the
//! `session` fuzz target can drive it the same way.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use log::{info, warn};

use super::handle::{Command, HandleError, Shared, end};
use super::queue::{Delivery, Ended, Queue};
use super::receipt::Resolver;
use super::{Publication, Received, SubscribeOptions};
use crate::protocol::{
    Connect, Disconnect, Packet, PacketId, Properties, ProtocolVersion, PubResponse, Publish, QoS,
    ReasonCode, Subscribe, SubscriptionOptions, SubscriptionRequest, decode_packet, encode,
};
use crate::router::{HOST_CLIENT_PREFIX, LinkId, LinkLoss, Peer, Router};
use crate::topic::TopicFilter;

/// No listener has this position: no listener's rules, password check, ACL or hooks.
const NO_LISTENER: usize = usize::MAX;
/// Requests taken per loop turn, so a host publishing flat out still leaves the sockets
/// their turn; the rest wait for the next turn, which then does not block.
const COMMANDS_PER_TURN: usize = 4096;
/// Acknowledgements and deliveries handled per subscription per turn.
const DELIVERIES_PER_TURN: usize = 4096;

/// What the loop must do itself: requests about the whole broker.
pub(crate) enum LoopRequest {
    Stats(std::sync::mpsc::SyncSender<crate::router::Stats>),
    Reload {
        config: Option<Box<crate::config::Config>>,
        done: std::sync::mpsc::SyncSender<()>,
    },
}

/// The host program's in-process client.
pub(crate) struct Host {
    commands: Receiver<Command>,
    shared: Arc<Shared>,
    /// The value `Ready` carries for every host link.
    token: usize,
    publisher: Option<Publisher>,
    subscriptions: Vec<HostSubscription>,
    /// Requests were left in the queue for the next turn.
    more: bool,
    /// The host woke the loop since the last pump: it may have taken messages.
    woken: bool,
}

struct Publisher {
    link: LinkId,
    next_id: u16,
    /// Receipts of publications the router has not answered yet, by packet id.
    awaiting: HashMap<u16, Option<Resolver>>,
}

struct HostSubscription {
    link: LinkId,
    filter: TopicFilter,
    queue: Arc<Queue>,
}

impl Host {
    pub(crate) fn new(commands: Receiver<Command>, shared: Arc<Shared>, token: usize) -> Host {
        Host {
            commands,
            shared,
            token,
            publisher: None,
            subscriptions: Vec::new(),
            more: false,
            woken: false,
        }
    }

    /// The host's links open in the router, for the `session` fuzz target's accounting.
    pub(crate) fn link_count(&self) -> usize {
        usize::from(self.publisher.is_some()) + self.subscriptions.len()
    }

    /// Whether a turn must follow at once (requests left over).
    pub(crate) fn wants_turn(&self) -> bool {
        self.more
    }

    /// Takes the host's requests: publications and subscriptions go to the router now; what
    /// concerns the whole broker is handed back to the loop.
    pub(crate) fn take_commands(&mut self, router: &mut Router, now: Instant) -> Vec<LoopRequest> {
        self.shared.wake_pending.store(false, Ordering::Release);
        self.woken = true;
        self.more = false;
        let mut requests = Vec::new();
        for _ in 0..COMMANDS_PER_TURN {
            match self.commands.try_recv() {
                Ok(Command::Publish {
                    publication,
                    receipt,
                }) => self.publish(router, publication, receipt, now),
                Ok(Command::Subscribe {
                    id,
                    filter,
                    options,
                    queue,
                }) => self.subscribe(router, id, filter, options, queue, now),
                Ok(Command::Stats(reply)) => requests.push(LoopRequest::Stats(reply)),
                Ok(Command::Reload { config, done }) => {
                    requests.push(LoopRequest::Reload { config, done });
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return requests,
            }
        }
        self.more = true;
        requests
    }

    fn publish(
        &mut self,
        router: &mut Router,
        publication: Publication,
        receipt: Option<Resolver>,
        now: Instant,
    ) {
        let publisher = match self.publisher.take() {
            Some(p) if !router.wants_close(p.link) => p,
            stale => {
                if let Some(old) = stale {
                    warn!("The host program's publishing link was closed; opening another.");
                    router.close_link(old.link, LinkLoss::Requested, now);
                }
                let link = open(router, self.token, "publisher", u16::MAX, now);
                Publisher {
                    link,
                    next_id: 0,
                    awaiting: HashMap::new(),
                }
            }
        };
        let mut publisher = publisher;
        let packet_id = match publication.qos {
            QoS::AtMostOnce => None,
            _ => publisher.next_packet_id(),
        };
        let qos = match packet_id {
            Some(_) => publication.qos,
            // Every id is awaiting an answer (65,535 unanswered): cannot happen while the
            // router answers in the same call, but if it did, QoS 0 is what can be sent.
            None => QoS::AtMostOnce,
        };
        let publish = Publish {
            dup: false,
            qos,
            retain: publication.retain,
            topic: Arc::from(publication.topic),
            packet_id,
            properties: publication.properties,
            payload: publication.payload,
        };
        send(router, publisher.link, &Packet::Publish(publish), now);
        match packet_id {
            Some(id) => {
                publisher.awaiting.insert(id.get(), receipt);
            }
            None => {
                if let Some(receipt) = receipt {
                    receipt.resolve(Ok(()));
                }
            }
        }
        self.publisher = Some(publisher);
    }

    fn subscribe(
        &mut self,
        router: &mut Router,
        id: u64,
        filter: TopicFilter,
        options: SubscribeOptions,
        queue: Arc<Queue>,
        now: Instant,
    ) {
        let window = u16::try_from(queue.capacity).unwrap_or(u16::MAX);
        let link = open(router, self.token, &format!("sub-{id}"), window, now);
        let request = SubscriptionRequest {
            filter: filter.as_str().to_owned(),
            options: SubscriptionOptions {
                qos: options.qos,
                no_local: false,
                retain_as_published: options.retain_as_published,
                retain_handling: options.retain_handling,
            },
        };
        if let Some(packet_id) = PacketId::new(1) {
            let subscribe = Subscribe {
                packet_id,
                filters: vec![request],
                properties: Properties::default(),
            };
            send(router, link, &Packet::Subscribe(subscribe), now);
        }
        self.subscriptions.push(HostSubscription {
            link,
            filter,
            queue,
        });
    }

    /// After the store's commit: answers from the router to the publisher (receipts), the
    /// subscriptions' messages into their queues, the host's acknowledgements to the router,
    /// and the subscriptions the host dropped ended.
    pub(crate) fn pump(&mut self, router: &mut Router, now: Instant) {
        let woken = std::mem::take(&mut self.woken);
        if let Some(publisher) = self.publisher.as_mut() {
            publisher.take_answers(router, now);
        }
        let mut index = 0;
        while let Some(subscription) = self.subscriptions.get_mut(index) {
            let has_output = !router.output(subscription.link).is_empty();
            let keep = if has_output || woken || router.wants_close(subscription.link) {
                subscription.pump(router, now)
            } else {
                true
            };
            if keep {
                index += 1;
            } else {
                self.subscriptions.swap_remove(index);
            }
        }
    }

    /// The broker is stopping: every subscription ends, every receipt not yet answered says
    /// so, and the host's links close.
    pub(crate) fn shut_down(&mut self, router: &mut Router, now: Instant) {
        self.pump(router, now);
        for subscription in self.subscriptions.drain(..) {
            end(&subscription.queue, Ended::Stopped);
            disconnect(router, subscription.link, now);
        }
        if let Some(publisher) = self.publisher.take() {
            disconnect(router, publisher.link, now);
        }
        // Requests still queued: their receipts and replies report the stop when dropped.
        while self.commands.try_recv().is_ok() {}
    }
}

impl Publisher {
    fn next_packet_id(&mut self) -> Option<PacketId> {
        for _ in 0..u16::MAX {
            self.next_id = self.next_id.checked_add(1).unwrap_or(1);
            if !self.awaiting.contains_key(&self.next_id) {
                return PacketId::new(self.next_id);
            }
        }
        None
    }

    fn take_answers(&mut self, router: &mut Router, now: Instant) {
        for packet in take_packets(router, self.link, usize::MAX, now) {
            match packet {
                Packet::PubAck(answer) => self.answered(&answer),
                Packet::PubRec(answer) => {
                    let accepted = answer.reason.0 < 0x80;
                    self.answered(&answer);
                    if accepted {
                        let release = PubResponse::new(answer.packet_id);
                        send(router, self.link, &Packet::PubRel(release), now);
                    }
                }
                Packet::Disconnect(disconnect) => {
                    warn!(
                        "The broker ended the host program's publishing link ({:?}).",
                        disconnect.reason
                    );
                }
                _ => {}
            }
        }
        if router.wants_close(self.link) {
            // Publications on a closed link were not taken; their receipts say so when
            // dropped, and the next publication opens another link.
            self.awaiting.clear();
        }
    }

    fn answered(&mut self, answer: &PubResponse) {
        if let Some(Some(receipt)) = self.awaiting.remove(&answer.packet_id.get()) {
            let outcome = match answer.reason.0 {
                0..0x80 => Ok(()),
                _ => Err(HandleError::Refused(answer.reason)),
            };
            receipt.resolve(outcome);
        }
    }
}

impl HostSubscription {
    /// Acknowledges what the host took, moves messages into the queue while it has room, and
    /// ends the subscription if the host dropped it. `false` once it has ended.
    fn pump(&mut self, router: &mut Router, now: Instant) -> bool {
        let (taken, room, dropped) = {
            let mut state = self.queue.lock();
            let taken = std::mem::take(&mut state.taken);
            let room = self.queue.capacity.saturating_sub(state.messages.len());
            (taken, room, state.dropped)
        };
        if dropped {
            disconnect(router, self.link, now);
            return false;
        }
        for (packet_id, qos) in taken {
            let answer = PubResponse::new(packet_id);
            let packet = match qos {
                QoS::ExactlyOnce => Packet::PubRec(answer),
                _ => Packet::PubAck(answer),
            };
            send(router, self.link, &packet, now);
        }
        let mut deliveries = Vec::new();
        let budget = room.min(DELIVERIES_PER_TURN);
        for packet in take_packets(router, self.link, budget, now) {
            match packet {
                Packet::Publish(publish) => deliveries.push(delivery(publish)),
                Packet::PubRel(release) => {
                    let complete = PubResponse::new(release.packet_id);
                    send(router, self.link, &Packet::PubComp(complete), now);
                }
                Packet::SubAck(suback) => self.subscribed(&suback.reasons),
                _ => {}
            }
        }
        let closed = router.wants_close(self.link);
        let mut state = self.queue.lock();
        let notify = !deliveries.is_empty() || closed;
        state.messages.extend(deliveries);
        if closed && state.ended.is_none() {
            warn!(
                "The broker ended the host program's subscription to {}.",
                self.filter.as_str()
            );
            state.ended = Some(Ended::Lost);
        }
        drop(state);
        if notify {
            self.queue.notify();
        }
        if closed {
            router.close_link(self.link, LinkLoss::Requested, now);
        }
        !closed
    }

    fn subscribed(&mut self, reasons: &[ReasonCode]) {
        let granted = match reasons.first().map(|r| r.0) {
            Some(0) => Ok(QoS::AtMostOnce),
            Some(1) => Ok(QoS::AtLeastOnce),
            Some(2) => Ok(QoS::ExactlyOnce),
            Some(code) => Err(ReasonCode(code)),
            None => Err(ReasonCode::UNSPECIFIED_ERROR),
        };
        match granted {
            Ok(qos) => {
                self.queue.lock().granted = Some(qos);
                self.queue.notify();
            }
            Err(reason) => {
                info!(
                    "The host program's subscription to {} was refused ({reason:?}).",
                    self.filter.as_str()
                );
                end(&self.queue, Ended::Refused(reason));
            }
        }
    }
}

fn delivery(publish: Publish) -> Delivery {
    Delivery {
        packet_id: publish.packet_id,
        message: Received {
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            duplicate: publish.dup,
            properties: publish.properties,
        },
    }
}

/// Opens a host link named `$host/<name>` with a clean MQTT 5 session.
fn open(router: &mut Router, token: usize, name: &str, window: u16, now: Instant) -> LinkId {
    let link = router.open_link(token, Peer::Host, now);
    router.set_link_listener(link, NO_LISTENER);
    let mut properties = Properties::default();
    properties.receive_maximum = Some(window.max(1));
    let connect = Connect {
        protocol: ProtocolVersion::V5,
        clean_start: true,
        keep_alive: 0,
        client_id: format!("{HOST_CLIENT_PREFIX}{name}"),
        will: None,
        username: None,
        password: None,
        properties,
    };
    send(router, link, &Packet::Connect(Box::new(connect)), now);
    // The CONNACK; a refusal shows as a link the router wants closed.
    let _ = take_packets(router, link, usize::MAX, now);
    link
}

/// Hands a packet to the router as if it had come over a socket.
fn send(router: &mut Router, link: LinkId, packet: &Packet, now: Instant) {
    let mut bytes = Vec::new();
    encode(packet, ProtocolVersion::V5, &mut bytes);
    router.receive(link, &bytes, now);
}

/// The packets the router has written to the link; at most `publishes` PUBLISH packets, and
/// every other packet before the first one left.
fn take_packets(router: &mut Router, link: LinkId, publishes: usize, now: Instant) -> Vec<Packet> {
    let output = router.output(link);
    let mut packets = Vec::new();
    let mut consumed = 0;
    let mut left = publishes;
    while let Some(rest) = output.get(consumed..).filter(|r| !r.is_empty()) {
        match decode_packet(rest, ProtocolVersion::V5, u32::MAX) {
            Ok(Some((packet, length))) => {
                if matches!(packet, Packet::Publish(_)) {
                    if left == 0 {
                        break;
                    }
                    left -= 1;
                }
                consumed += length;
                packets.push(packet);
            }
            Ok(None) | Err(_) => break,
        }
    }
    if consumed > 0 {
        router.consume_output(link, consumed, now);
    }
    packets
}

/// Closes a link with a DISCONNECT, so the router logs a normal departure.
fn disconnect(router: &mut Router, link: LinkId, now: Instant) {
    send(
        router,
        link,
        &Packet::Disconnect(Disconnect::default()),
        now,
    );
    router.close_link(link, LinkLoss::Requested, now);
}
