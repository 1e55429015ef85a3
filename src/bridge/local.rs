//! A bridge's local side: an in-process MQTT 5 client of the router, on a link with a
//! [`Peer::Bridge`] address.
//!
//! The bridge speaks to its own broker in MQTT 5, whatever it speaks to the remote end, for two
//! subscription options 3.1.1 lacks: No Local, so a message the bridge brought in is never
//! handed back to it, and Retain As Published, so a retained message keeps its flag on its way
//! out. While the remote end is down the link is closed and the session waits offline like any
//! persistent client's: its queue is bounded by `max_queued_messages` and `max_queued_bytes`
//! under `queue_full_policy`, and QoS 0 is queued only with `queue_qos0_messages`.

use std::sync::Arc;
use std::time::Instant;

use crate::protocol::{
    Connect, Disconnect, Packet, PacketId, Properties, ProtocolVersion, QoS, RetainHandling,
    Subscribe, SubscriptionOptions, SubscriptionRequest, decode_packet, encode,
};
use crate::router::{LinkId, LinkLoss, Peer, Router};
use crate::topic::TopicFilter;

/// No listener has this position: the link gets no listener's rules, password check or ACL,
/// as mosquitto exempts its own bridges.
const NO_LISTENER: usize = usize::MAX;
/// With `local_username` the bridge logs in as that user, checked against the first
/// listener's password file, and its ACL rules apply (mosquitto's reason for the option).
const FIRST_LISTENER: usize = 0;

/// Who the bridge is towards its own broker.
#[derive(Debug)]
pub struct LocalSide {
    pub name: Arc<str>,
    pub client_id: String,
    /// `local_cleansession`: nothing is kept, or queued, while the remote end is down.
    pub clean: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The reactor's key for the link, handed back by the router in `Ready`.
    pub token: usize,
    link: Option<LinkId>,
}

impl LocalSide {
    pub fn new(name: Arc<str>, client_id: String, clean: bool, token: usize) -> LocalSide {
        LocalSide {
            name,
            client_id,
            clean,
            username: None,
            password: None,
            token,
            link: None,
        }
    }

    pub fn link(&self) -> Option<LinkId> {
        self.link
    }

    /// Opens the link and sends CONNECT and SUBSCRIBE. The router's answers (CONNACK, SUBACK,
    /// re-sent deliveries, retained messages) are read with [`LocalSide::take_packets`].
    pub fn open<'a>(
        &mut self,
        router: &mut Router,
        filters: impl Iterator<Item = (&'a TopicFilter, QoS)>,
        retain: RetainHandling,
        limits: (u16, u32),
        now: Instant,
    ) {
        self.close(router, now);
        let link = router.open_link(self.token, Peer::Bridge(Arc::clone(&self.name)), now);
        let listener = match self.username {
            Some(_) => FIRST_LISTENER,
            None => NO_LISTENER,
        };
        router.set_link_listener(link, listener);
        self.link = Some(link);
        let mut properties = Properties::default();
        if !self.clean {
            properties.session_expiry_interval = Some(u32::MAX);
        }
        properties.receive_maximum = Some(limits.0.max(1));
        properties.maximum_packet_size = Some(limits.1.max(2));
        let connect = Connect {
            protocol: ProtocolVersion::V5,
            clean_start: self.clean,
            keep_alive: 0,
            client_id: self.client_id.clone(),
            will: None,
            username: self.username.clone(),
            password: self.password.clone().map(String::into_bytes),
            properties,
        };
        self.send(router, &Packet::Connect(Box::new(connect)), now);
        let options = |qos| SubscriptionOptions {
            qos,
            no_local: true,
            retain_as_published: true,
            retain_handling: retain,
        };
        let filters: Vec<SubscriptionRequest> = filters
            .map(|(filter, qos)| SubscriptionRequest {
                filter: filter.as_str().to_owned(),
                options: options(qos),
            })
            .collect();
        if let Some(packet_id) = PacketId::new(1)
            && !filters.is_empty()
        {
            let subscribe = Subscribe {
                packet_id,
                filters,
                properties: Properties::default(),
            };
            self.send(router, &Packet::Subscribe(subscribe), now);
        }
    }

    /// Hands a packet to the router as if the bridge had sent it over a socket.
    pub fn send(&self, router: &mut Router, packet: &Packet, now: Instant) {
        let Some(link) = self.link else { return };
        let mut bytes = Vec::new();
        encode(packet, ProtocolVersion::V5, &mut bytes);
        router.receive(link, &bytes, now);
    }

    /// The packets the router has written to the link, up to `budget` bytes of them (the
    /// first always, however large); `None` when the router ended the link or wrote something
    /// that does not decode.
    pub fn take_packets(
        &self,
        router: &mut Router,
        budget: usize,
        now: Instant,
    ) -> Option<Vec<Packet>> {
        let link = self.link?;
        let output = router.output(link);
        let mut packets = Vec::new();
        let mut consumed = 0;
        while consumed < output.len() && (packets.is_empty() || consumed < budget) {
            let rest = output.get(consumed..).unwrap_or_default();
            match decode_packet(rest, ProtocolVersion::V5, u32::MAX) {
                Ok(Some((packet, length))) => {
                    consumed += length;
                    packets.push(packet);
                }
                Ok(None) => break,
                Err(_) => return None,
            }
        }
        if consumed > 0 {
            router.consume_output(link, consumed, now);
        }
        if packets.is_empty() && router.wants_close(link) {
            return None;
        }
        Some(packets)
    }

    /// Whether the router has output for the link.
    pub fn has_output(&self, router: &Router) -> bool {
        self.link
            .is_some_and(|link| !router.output(link).is_empty())
    }

    /// Ends the link with a DISCONNECT, so the session goes offline (or ends, when clean)
    /// without a loss being logged; what was delivered and not acknowledged stays in it.
    pub fn close(&mut self, router: &mut Router, now: Instant) {
        let Some(link) = self.link.take() else { return };
        if !router.wants_close(link) {
            let mut bytes = Vec::new();
            let packet = Packet::Disconnect(Disconnect::default());
            encode(&packet, ProtocolVersion::V5, &mut bytes);
            router.receive(link, &bytes, now);
        }
        router.close_link(link, LinkLoss::Requested, now);
    }

    /// At startup, before the first connection: the persistent session and its subscriptions
    /// are made (or resumed) so messages queue from the start, as mosquitto subscribes its
    /// bridges locally at startup. Retained messages wait for the connection.
    pub fn prime<'a>(
        &mut self,
        router: &mut Router,
        filters: impl Iterator<Item = (&'a TopicFilter, QoS)>,
        now: Instant,
    ) {
        if self.clean {
            return;
        }
        self.open(
            router,
            filters,
            RetainHandling::DoNotSend,
            (1, u32::MAX),
            now,
        );
        // Deliveries of a resumed session stay in flight and are sent again on connection.
        let _ = self.take_packets(router, usize::MAX, now);
        self.close(router, now);
    }
}
