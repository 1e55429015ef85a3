//! One subscription of the host program on its own link: messages move from the router's
//! output into the subscription's queue while it has room, and what the host took is
//! acknowledged back.

use std::sync::Arc;
use std::time::Instant;

use log::{info, warn};

use super::Received;
use super::handle::end;
use super::link::{disconnect, has_output, send, take_packets};
use super::queue::{Delivery, Ended, Queue};
use crate::protocol::{
    Packet, PacketId, Properties, PubResponse, Publish, QoS, ReasonCode, Subscribe,
    SubscriptionOptions, SubscriptionRequest,
};
use crate::router::{LinkId, Router};
use crate::topic::TopicFilter;

/// Acknowledgements and deliveries handled per subscription per turn, so one busy subscription
/// cannot hold the loop; what is left waits for the next turn, which then comes at once.
const DELIVERIES_PER_TURN: usize = 4096;

/// What a pump left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pumped {
    /// Nothing the queue has room for is left.
    Done,
    /// The turn's share was used up with room and messages left: pump again next turn.
    More,
    /// The subscription has ended.
    Ended,
}

pub(crate) struct HostSubscription {
    pub(crate) link: LinkId,
    filter: TopicFilter,
    pub(crate) queue: Arc<Queue>,
}

impl HostSubscription {
    pub(crate) fn new(link: LinkId, filter: TopicFilter, queue: Arc<Queue>) -> Self {
        HostSubscription {
            link,
            filter,
            queue,
        }
    }

    /// Sends the SUBSCRIBE; the SUBACK comes back through [`HostSubscription::pump`].
    pub(crate) fn subscribe(
        &mut self,
        router: &mut Router,
        options: super::SubscribeOptions,
        now: Instant,
    ) {
        let request = SubscriptionRequest {
            filter: self.filter.as_str().to_owned(),
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
            send(router, self.link, &Packet::Subscribe(subscribe), now);
        }
    }

    /// Acknowledges what the host took, moves messages into the queue while it has room, and
    /// ends the subscription if the host dropped it.
    pub(crate) fn pump(&mut self, router: &mut Router, now: Instant) -> Pumped {
        let (taken, room, dropped) = {
            let mut state = self.queue.lock();
            let taken = std::mem::take(&mut state.taken);
            let room = self.queue.capacity.saturating_sub(state.messages.len());
            (taken, room, state.dropped)
        };
        if dropped {
            disconnect(router, self.link, now);
            return Pumped::Ended;
        }
        for (packet_id, qos) in taken {
            let answer = PubResponse::new(packet_id);
            let packet = match qos {
                QoS::ExactlyOnce => Packet::PubRec(answer),
                _ => Packet::PubAck(answer),
            };
            send(router, self.link, &packet, now);
        }
        let budget = room.min(DELIVERIES_PER_TURN);
        let mut deliveries = Vec::new();
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
        let more = budget < room && deliveries.len() == budget && has_output(router, self.link);
        let mut state = self.queue.lock();
        let notify = !deliveries.is_empty() || closed;
        state.messages.extend(deliveries);
        if closed && state.ended.is_none() {
            let filter = self.filter.as_str();
            warn!("The broker ended the host program's subscription to {filter}.");
            state.ended = Some(Ended::Lost);
        }
        drop(state);
        if notify {
            self.queue.notify();
        }
        if closed {
            disconnect(router, self.link, now);
            return Pumped::Ended;
        }
        if more { Pumped::More } else { Pumped::Done }
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
                let filter = self.filter.as_str();
                info!("The host program's subscription to {filter} was refused ({reason:?}).");
                end(&self.queue, Ended::Refused(reason));
            }
        }
    }

    /// The broker stops: the host hears of it, and the link closes.
    pub(crate) fn close(self, router: &mut Router, now: Instant) {
        end(&self.queue, Ended::Stopped);
        disconnect(router, self.link, now);
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
