//! Messages going out: what the local broker delivers to the bridge is published to the remote
//! end under its remote topic, and the local broker's answers to what came in are passed back.

use std::sync::Arc;
use std::time::Instant;

use log::{debug, warn};

use super::{Bridge, OUTPUT_HIGH_WATER, State};
use crate::protocol::{Packet, PubResponse, Publish, QoS, encode_within};
use crate::router::Router;

impl Bridge {
    /// Takes what the local broker has written to the bridge's link, while the remote socket
    /// is not too far behind. Call after anything that may have given the link output.
    pub fn pump(&mut self, router: &mut Router, now: Instant) {
        if self.state != State::Connected || self.close.is_some() {
            return;
        }
        while self.output.len() < OUTPUT_HIGH_WATER && self.local.has_output(router) {
            let budget = OUTPUT_HIGH_WATER - self.output.len();
            let Some(packets) = self.local.take_packets(router, budget, now) else {
                self.want_close("the local broker closed the bridge's session");
                return;
            };
            if packets.is_empty() {
                return;
            }
            for packet in packets {
                self.handle_local(router, packet, now);
            }
        }
        if self
            .local
            .link()
            .is_some_and(|link| router.wants_close(link))
        {
            self.want_close("the local broker closed the bridge's session");
        }
    }

    /// Whether the local side has output the bridge could take now.
    pub fn wants_pump(&self, router: &Router) -> bool {
        self.state == State::Connected
            && self.output.len() < OUTPUT_HIGH_WATER
            && self.local.has_output(router)
    }

    fn handle_local(&mut self, router: &mut Router, packet: Packet, now: Instant) {
        match packet {
            Packet::Publish(publish) => self.forward_out(router, publish, now),
            Packet::ConnAck(connack) => {
                if connack.reason.is_error() {
                    let why = format!(
                        "the local broker refused the bridge's session (0x{:02X})",
                        connack.reason.0
                    );
                    self.want_close(&why);
                } else if !connack.session_present {
                    self.flows.local_session_lost();
                }
            }
            Packet::SubAck(suback) => self.local_suback(&suback.reasons),
            // Answers to messages that came in from the remote end.
            Packet::PubAck(ack) => {
                if let Some(remote) = self.flows.answered(ack.packet_id) {
                    self.send_remote(&Packet::PubAck(PubResponse::new(remote)), now);
                }
            }
            Packet::PubRec(rec) => {
                let rel = PubResponse::new(rec.packet_id);
                self.local.send(router, &Packet::PubRel(rel), now);
                if let Some(remote) = self.flows.answered(rec.packet_id) {
                    self.flows.remote_qos2_received(remote);
                    self.send_remote(&Packet::PubRec(PubResponse::new(remote)), now);
                }
            }
            // The local broker releases a QoS 2 delivery the remote end already took.
            Packet::PubRel(rel) => {
                let comp = PubResponse::new(rel.packet_id);
                self.local.send(router, &Packet::PubComp(comp), now);
            }
            Packet::PubComp(_) | Packet::PingResp => {}
            other => {
                let why = format!("{} from the local broker", other.name());
                self.want_close(&why);
            }
        }
    }

    /// A refused local subscription is logged; the bridge runs with the others.
    fn local_suback(&self, reasons: &[crate::protocol::ReasonCode]) {
        let filters = self.map.local_subscriptions().map(|(f, _)| f.as_str());
        for (filter, reason) in filters.zip(reasons) {
            if reason.is_error() {
                warn!(
                    "Bridge {}: the local subscription to {filter} was refused (0x{:02X})",
                    self.name, reason.0
                );
            }
        }
    }

    /// A local delivery goes to the remote end at the QoS it was delivered with (the lower of
    /// the published QoS and the `topic` line's). QoS 1 and 2 are acknowledged locally only
    /// when the remote end has them.
    fn forward_out(&mut self, router: &mut Router, publish: Publish, now: Instant) {
        let Some((topic, _)) = self.map.outgoing(&publish.topic) else {
            return self.ack_locally(router, &publish, now);
        };
        self.last_traffic = now;
        let remote_id = match (publish.qos, publish.packet_id) {
            (QoS::AtMostOnce, _) => None,
            (qos, Some(local)) => match self.flows.send(local, qos) {
                Some(id) => Some(id),
                None => return self.want_close("no packet id free towards the remote end"),
            },
            (_, None) => return,
        };
        let mut properties = publish.properties;
        if !properties.is_empty() {
            properties.topic_alias = None;
            properties.subscription_identifiers.clear();
        }
        let retain = publish.retain && self.settings.outgoing_retain;
        let echo_possible = !self.protocol.is_v5() && !self.try_private;
        if echo_possible && self.map.may_echo(&topic) {
            self.echo.sent(&topic, &publish.payload, now);
        }
        let out = Publish {
            dup: publish.dup || remote_id.is_some_and(|(_, again)| again),
            qos: publish.qos,
            retain,
            topic: Arc::from(topic),
            packet_id: remote_id.map(|(id, _)| id),
            properties,
            payload: publish.payload,
        };
        let max = self.limits.maximum_packet_size;
        let packet = Packet::Publish(out);
        let before = self.output.len();
        if encode_within(&packet, self.protocol, max, &mut self.output)
            == crate::protocol::Fit::Oversize
        {
            self.output.truncate(before);
            debug!(
                "Bridge {}: a message is larger than the remote end accepts; dropped",
                self.name
            );
            if let (Packet::Publish(out), Some(_)) = (&packet, remote_id) {
                self.drop_remote_flight(router, out, now);
            }
            return;
        }
        self.last_sent = now;
    }

    /// The remote end will never see this message: its local delivery is finished.
    fn drop_remote_flight(&mut self, router: &mut Router, out: &Publish, now: Instant) {
        let Some(remote) = out.packet_id else { return };
        let local = match out.qos {
            QoS::AtLeastOnce => self
                .flows
                .acked(remote)
                .map(|l| Packet::PubAck(PubResponse::new(l))),
            _ => match self.flows.received(remote, true) {
                super::flows::Received::Release(Some(l)) => {
                    Some(Packet::PubRec(PubResponse::new(l)))
                }
                _ => None,
            },
        };
        if let Some(packet) = local {
            self.local_ack(router, packet, now);
        }
    }

    /// A delivery no `out` line maps (an overlapping subscription's leftovers): finished
    /// locally at once.
    fn ack_locally(&mut self, router: &mut Router, publish: &Publish, now: Instant) {
        let Some(id) = publish.packet_id else { return };
        let packet = match publish.qos {
            QoS::AtLeastOnce => Packet::PubAck(PubResponse::new(id)),
            _ => Packet::PubRec(PubResponse::new(id)),
        };
        self.local_ack(router, packet, now);
    }
}
