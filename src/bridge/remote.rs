//! The remote side of a bridge: the packets that come back, and the flows they finish.

use std::sync::Arc;
use std::time::Instant;

use log::{info, warn};

use super::connect::refusal_text;
use super::flows::Received;
use super::{Bridge, RemoteLimits, State};
use crate::protocol::{
    ConnAck, Packet, PacketId, Properties, ProtocolVersion, PubResponse, Publish, QoS,
    RetainHandling, Subscribe, SubscriptionOptions, SubscriptionRequest, Unsubscribe,
    decode_packet, encode,
};
use crate::router::Router;

impl Bridge {
    /// Appends a packet for the remote end, within the packet size it accepts.
    pub(super) fn send_remote(&mut self, packet: &Packet, now: Instant) {
        let max = self.limits.maximum_packet_size;
        crate::protocol::encode_within(packet, self.protocol, max, &mut self.output);
        self.last_sent = now;
    }

    /// Bytes from the remote end: every complete packet is handled; returns how many bytes
    /// were used (the rest is a partial packet to present again with more behind it).
    pub fn receive(&mut self, router: &mut Router, data: &[u8], now: Instant) -> usize {
        let mut consumed = 0;
        while self.close.is_none() {
            let rest = data.get(consumed..).unwrap_or_default();
            match decode_packet(rest, self.protocol, self.max_in) {
                Ok(None) => return consumed,
                Ok(Some((packet, length))) => {
                    consumed += length;
                    self.ping_sent = None;
                    self.handle_remote(router, packet, now);
                    self.pump(router, now);
                }
                Err(error) => {
                    self.want_close(&format!("bad packet from the remote end: {error}"));
                }
            }
        }
        data.len()
    }

    fn handle_remote(&mut self, router: &mut Router, packet: Packet, now: Instant) {
        if let State::AwaitingConnAck(_) = self.state {
            match packet {
                Packet::ConnAck(connack) => self.handle_connack(router, connack, now),
                other => self.want_close(&format!("{} before CONNACK", other.name())),
            }
            return;
        }
        match packet {
            Packet::Publish(publish) => self.remote_publish(router, publish, now),
            Packet::PubAck(ack) => {
                self.log_refused(ack.reason);
                if let Some(local) = self.flows.acked(ack.packet_id) {
                    self.local_ack(router, Packet::PubAck(PubResponse::new(local)), now);
                }
            }
            Packet::PubRec(rec) => self.remote_pubrec(router, rec, now),
            Packet::PubRel(rel) => {
                self.flows.remote_qos2_released(rel.packet_id);
                let comp = PubResponse::new(rel.packet_id);
                self.send_remote(&Packet::PubComp(comp), now);
            }
            Packet::PubComp(comp) => self.flows.completed(comp.packet_id),
            Packet::SubAck(suback) => {
                let filters: Vec<String> = self
                    .map
                    .remote_subscriptions()
                    .map(|(f, _)| f.to_string())
                    .collect();
                for (filter, reason) in filters.iter().zip(&suback.reasons) {
                    if reason.is_error() {
                        warn!(
                            "Bridge {}: the remote end refused the subscription to {filter} \
                             (code 0x{:02X})",
                            self.name, reason.0
                        );
                    }
                }
            }
            Packet::UnsubAck(_) | Packet::PingResp => {}
            Packet::Disconnect(disconnect) => {
                let why = format!(
                    "DISCONNECT from the remote end (0x{:02X})",
                    disconnect.reason.0
                );
                self.want_close(&why);
            }
            other => self.want_close(&format!("{} from the remote end", other.name())),
        }
    }

    fn handle_connack(&mut self, router: &mut Router, connack: ConnAck, now: Instant) {
        let v5 = self.protocol.is_v5();
        let code = if v5 {
            connack.reason.0
        } else {
            connack.return_code as u8
        };
        if code != 0 {
            info!(
                "Bridge {} refused by {}: CONNACK code {code} ({})",
                self.name,
                self.address_label(),
                refusal_text(code, v5)
            );
            if code == 1 && self.try_private {
                info!(
                    "Bridge {}: trying again without the bridge bit (try_private)",
                    self.name
                );
                self.try_private = false;
                self.retry_now = true;
            }
            self.want_close(&format!("connection refused, code {code}"));
            return;
        }
        let p = &connack.properties;
        self.limits = RemoteLimits {
            receive_maximum: p.receive_maximum.unwrap_or(u16::MAX),
            maximum_packet_size: p.maximum_packet_size.unwrap_or(u32::MAX),
        };
        if !connack.session_present {
            self.flows.connection_ended(false);
        }
        let released: Vec<PacketId> = self.flows.released().collect();
        for id in released {
            self.send_remote(&Packet::PubRel(PubResponse::new(id)), now);
        }
        if self.settings.attempt_unsubscribe && !self.settings.cleansession {
            self.unsubscribe_remotely(now);
        }
        self.subscribe_remotely(now);
        self.publish_state_remotely(true, now);
        self.connected(router, now);
    }

    /// SUBSCRIBE for the `in` and `both` lines. MQTT 5's No Local keeps the remote end from
    /// sending back what the bridge published there.
    fn subscribe_remotely(&mut self, now: Instant) {
        let filters: Vec<SubscriptionRequest> = self
            .map
            .remote_subscriptions()
            .map(|(filter, qos)| SubscriptionRequest {
                filter: filter.as_str().to_owned(),
                options: SubscriptionOptions {
                    qos,
                    no_local: self.protocol.is_v5(),
                    retain_as_published: self.protocol.is_v5(),
                    retain_handling: RetainHandling::SendAtSubscribe,
                },
            })
            .collect();
        let Some(packet_id) = self.flows.free_id() else {
            return;
        };
        if filters.is_empty() {
            return;
        }
        let subscribe = Subscribe {
            packet_id,
            filters,
            properties: Properties::default(),
        };
        self.send_remote(&Packet::Subscribe(subscribe), now);
    }

    /// UNSUBSCRIBE for the `out` lines' remote filters (`bridge_attempt_unsubscribe`); only
    /// a kept remote session can hold them.
    fn unsubscribe_remotely(&mut self, now: Instant) {
        let filters: Vec<String> = self
            .map
            .remote_out_only()
            .map(|f| f.as_str().to_owned())
            .collect();
        let Some(packet_id) = self.flows.free_id() else {
            return;
        };
        if filters.is_empty() {
            return;
        }
        let unsubscribe = Unsubscribe {
            packet_id,
            filters,
            properties: Properties::default(),
        };
        self.send_remote(&Packet::Unsubscribe(unsubscribe), now);
    }

    /// The state topic on the remote end (`notifications`, unless local only): retained, QoS 1.
    pub(super) fn publish_state_remotely(&mut self, up: bool, now: Instant) {
        let s = &self.settings;
        if !s.notifications || s.notifications_local_only {
            return;
        }
        let Some(packet_id) = self.flows.own_publish_id() else {
            return;
        };
        let payload: &[u8] = if up { b"1" } else { b"0" };
        let publish = Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: true,
            topic: Arc::from(self.state_topic.as_str()),
            packet_id: Some(packet_id),
            properties: Properties::default(),
            payload: Arc::from(payload),
        };
        self.send_remote(&Packet::Publish(publish), now);
    }

    /// An MQTT 5 remote end may refuse a message (not authorised, quota exceeded…); it is
    /// finished locally all the same, and the log says so.
    fn log_refused(&self, reason: crate::protocol::ReasonCode) {
        if reason.is_error() {
            info!(
                "Bridge {}: the remote end refused a message (reason 0x{:02X})",
                self.name, reason.0
            );
        }
    }

    fn remote_pubrec(&mut self, router: &mut Router, rec: PubResponse, now: Instant) {
        self.log_refused(rec.reason);
        let failed = rec.reason.is_error();
        let local = match self.flows.received(rec.packet_id, failed) {
            Received::Release(local) => local,
            Received::Unknown => None,
        };
        if !failed {
            let rel = PubResponse::new(rec.packet_id);
            self.send_remote(&Packet::PubRel(rel), now);
        }
        if let Some(local) = local {
            self.local_ack(router, Packet::PubRec(PubResponse::new(local)), now);
        }
    }

    /// A PUBLISH from the remote end goes to the local broker under its local topic, unless
    /// no `in` line matches, it is the bridge's own message echoed back, or it is too large
    /// for the local broker; those are acknowledged and dropped.
    fn remote_publish(&mut self, router: &mut Router, publish: Publish, now: Instant) {
        let id = publish.packet_id;
        if publish.qos == QoS::ExactlyOnce
            && let Some(id) = id
            && self.flows.remote_qos2_pending(id)
        {
            // Already taken; only the PUBREC went missing [MQTT-4.3.3-2].
            return self.send_remote(&Packet::PubRec(PubResponse::new(id)), now);
        }
        let local = self.local_copy(&publish, router, now);
        match (local, publish.qos, id) {
            (Some(mut local), QoS::AtMostOnce, _) => {
                local.packet_id = None;
                self.local.send(router, &Packet::Publish(local), now);
            }
            (Some(mut local), _, Some(remote)) => {
                local.packet_id = self.flows.hand_in(remote);
                self.local.send(router, &Packet::Publish(local), now);
            }
            (None, QoS::AtLeastOnce, Some(remote)) => {
                self.send_remote(&Packet::PubAck(PubResponse::new(remote)), now);
            }
            (None, QoS::ExactlyOnce, Some(remote)) => {
                self.flows.remote_qos2_received(remote);
                self.send_remote(&Packet::PubRec(PubResponse::new(remote)), now);
            }
            _ => {}
        }
    }

    /// The PUBLISH to hand to the local broker for one from the remote end, if it goes.
    fn local_copy(&mut self, publish: &Publish, router: &Router, now: Instant) -> Option<Publish> {
        let (topic, _) = self.map.incoming(&publish.topic)?;
        let guarded = !self.protocol.is_v5() && !self.try_private;
        if guarded && self.echo.is_echo(&publish.topic, &publish.payload) {
            return None;
        }
        let mut properties = publish.properties.clone();
        if !properties.is_empty() {
            properties.topic_alias = None;
            properties.subscription_identifiers.clear();
        }
        let copy = Publish {
            dup: false,
            qos: publish.qos,
            retain: publish.retain,
            topic: Arc::from(topic),
            packet_id: publish.packet_id,
            properties,
            payload: Arc::clone(&publish.payload),
        };
        let mut size = Vec::new();
        encode(
            &Packet::Publish(copy.clone()),
            ProtocolVersion::V5,
            &mut size,
        );
        if size.len() > router.max_packet_size() as usize {
            info!(
                "Bridge {}: dropped a message on {} of {} bytes, above the local max_packet_size",
                self.name,
                publish.topic,
                size.len()
            );
            return None;
        }
        self.last_traffic = now;
        Some(copy)
    }

    /// An acknowledgement to the local broker for a delivery it made to the bridge.
    pub(super) fn local_ack(&mut self, router: &mut Router, packet: Packet, now: Instant) {
        self.local.send(router, &packet, now);
    }
}
