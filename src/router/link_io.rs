//! The reactor's side of a link: the bytes read from its socket handed in, decoded and
//! dispatched by packet type (a decode error or a protocol violation ending the link), its
//! output handed out and written, and its end, asked for or not.

use std::time::Instant;

use super::lifecycle::Ending;
use super::link::LinkState;
use super::{LinkId, LinkLoss, Peer, Ready, Router, memory_use};
use crate::protocol::{DecodeError, Packet, ReasonCode, decode_packet};

impl Router {
    /// Bytes arrived on `link`. Every complete packet at the front of `data` is decoded and
    /// handled; the return value is how many bytes were consumed, and the reactor keeps the rest
    /// (a partial packet) to present again with more bytes behind it. Once the link is closing,
    /// all of `data` is consumed and ignored.
    pub fn receive(&mut self, link: LinkId, data: &[u8], now: Instant) -> usize {
        self.now = now;
        let Some(key) = self.live(link) else {
            return data.len();
        };
        let mut consumed = 0;
        loop {
            let Some(link) = self.links.get_mut(key) else {
                return data.len();
            };
            if matches!(link.state, LinkState::Closing | LinkState::Held) {
                return data.len();
            }
            if link.state == LinkState::Connected {
                link.last_activity = now;
            }
            let rest = data.get(consumed..).unwrap_or_default();
            match decode_packet(rest, link.version, self.config.max_packet_size) {
                Ok(None) => {
                    // Replies to what was read (PINGRESP, PUBACK) count against the budget
                    // too, before the reactor reads more.
                    if self.memory.budget.limit() > 0 {
                        self.assess_memory();
                    }
                    return consumed;
                }
                Ok(Some((packet, length))) => {
                    consumed += length;
                    self.counters.packets_received += 1;
                    let payload = match &packet {
                        Packet::Publish(publish) => Some(publish.payload.len()),
                        _ => None,
                    };
                    if let Some(bytes) = payload {
                        self.counters.publish_received += 1;
                        self.counters.publish_bytes_received += bytes as u64;
                        // In-process links hand over whole packets and cannot be paused.
                        link.published = !matches!(link.peer, Peer::Bridge(_) | Peer::Host);
                    }
                    self.handle_packet(key, packet);
                    // The rest of what was read waits with the reactor while the link is held,
                    // so one large read does not run past the budget or the rate.
                    if let Some(bytes) = payload
                        && self.reads_may_be_held()
                        && self.after_publish(key, bytes)
                    {
                        return consumed;
                    }
                }
                Err(error) => {
                    self.reject_input(key, error);
                    return data.len();
                }
            }
        }
    }

    /// Bytes waiting to be written to `link`'s socket (empty for an unknown link).
    pub fn output(&self, link: LinkId) -> &[u8] {
        self.live(link)
            .and_then(|key| self.links.get(key))
            .map_or(&[], |link| link.output.as_slice())
    }

    /// The reactor wrote the first `written` bytes of [`Router::output`]. Freed window space may
    /// pull queued messages into the output, which marks the link ready again.
    pub fn consume_output(&mut self, link: LinkId, written: usize, now: Instant) {
        self.now = now;
        let Some(key) = self.live(link) else {
            return;
        };
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        if written >= link.output.len() {
            // Released, not cleared: idle connections must not each keep a buffer.
            link.output = Vec::new();
        } else {
            link.output.drain(..written);
        }
        memory_use::settle_output(&mut self.memory.outputs, link);
        if let Some(session) = link.session() {
            self.pump(session);
        }
    }

    /// True once the router wants the connection closed (after DISCONNECT, a protocol error,
    /// a refused CONNECT, a takeover or a timeout). The reactor writes what output it can, then
    /// closes the socket and calls [`Router::close_link`].
    pub fn wants_close(&self, link: LinkId) -> bool {
        self.live(link)
            .and_then(|key| self.links.get(key))
            .is_none_or(|link| link.state == LinkState::Closing)
    }

    /// The connection is gone. If the router had not asked for it, this is a loss: the will is
    /// published and a persistent session goes offline. Frees the link; idempotent.
    pub fn close_link(&mut self, link: LinkId, loss: LinkLoss, now: Instant) {
        self.now = now;
        let Some(key) = self.live(link) else {
            return;
        };
        self.end_link(key, Ending::Lost(loss));
        let link = self.links.remove(key);
        self.memory.outputs = (self.memory.outputs).saturating_sub(link.charged_output as usize);
    }

    /// The broker is stopping: MQTT 5 clients are sent DISCONNECT with reason "server shutting
    /// down" (0x8B), and every link is marked closing. Wills are not published, and persistent
    /// sessions are not ended, since the broker's state ends with it.
    pub fn shut_down(&mut self, now: Instant) {
        self.now = now;
        let keys: Vec<usize> = self.links.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.end_link(key, Ending::ServerShutdown);
        }
    }

    /// Moves the links with new output or a close request into `ready` (each once).
    pub fn take_ready(&mut self, ready: &mut Vec<Ready>) {
        for entry in self.ready.drain(..) {
            if let Some(link) = self.links.get_mut(entry.link.key())
                && link.generation == entry.link.generation
            {
                link.ready = false;
                memory_use::settle_output(&mut self.memory.outputs, link);
                ready.push(entry);
            }
        }
    }

    pub(super) fn handle_packet(&mut self, key: usize, packet: Packet) {
        let Some(link) = self.links.get(key) else {
            return;
        };
        if link.state == LinkState::AwaitingConnect {
            match packet {
                Packet::Connect(connect) => self.handle_connect(key, *connect),
                other => {
                    let why = format!("first packet must be CONNECT, got {}", other.name());
                    self.violation(key, ReasonCode::PROTOCOL_ERROR, why);
                }
            }
            return;
        }
        match packet {
            Packet::Publish(publish) => self.handle_publish(key, publish),
            Packet::PubAck(ack) => self.handle_puback(key, ack),
            Packet::PubRec(rec) => self.handle_pubrec(key, rec),
            Packet::PubRel(rel) => self.handle_pubrel(key, rel),
            Packet::PubComp(comp) => self.handle_pubcomp(key, comp),
            Packet::Subscribe(subscribe) => self.handle_subscribe(key, subscribe),
            Packet::Unsubscribe(unsubscribe) => self.handle_unsubscribe(key, unsubscribe),
            Packet::PingReq => self.send(key, &Packet::PingResp),
            Packet::Disconnect(disconnect) => self.handle_disconnect(key, disconnect),
            Packet::Connect(_) => {
                let why = "second CONNECT".to_owned();
                self.violation(key, ReasonCode::PROTOCOL_ERROR, why);
            }
            other => {
                let why = format!("{} is not accepted from clients", other.name());
                self.violation(key, ReasonCode::PROTOCOL_ERROR, why);
            }
        }
    }

    /// A decode error closes the link. Before CONNECT is accepted, an unsupported protocol name
    /// or level is answered first with a CONNACK saying so [MQTT-3.1.2-2].
    pub(super) fn reject_input(&mut self, key: usize, error: DecodeError) {
        let awaiting_connect = self
            .links
            .get(key)
            .is_some_and(|link| link.state == LinkState::AwaitingConnect);
        match error {
            DecodeError::UnsupportedProtocolVersion { level } if awaiting_connect => {
                self.refuse_protocol(key, level);
            }
            _ => self.violation(key, error.reason_code(), error.to_string()),
        }
    }

    pub(super) fn violation(&mut self, key: usize, reason: ReasonCode, why: String) {
        self.end_link(key, Ending::Violation { reason, why });
    }
}
