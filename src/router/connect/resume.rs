//! The session a CONNECT attaches to: the take-over of a client already connected, the
//! resumption or fresh start of its session, and the re-sending of what was in flight.

use std::sync::Arc;

use crate::protocol::{Packet, PubResponse, PublishHeader};
use crate::router::outbound::write_publish;
use crate::router::session::{Flight, Session};
use crate::router::{Ending, Router};

impl Router {
    /// A client already connected with this id is disconnected ([MQTT-3.1.4-2] in 3.1.1,
    /// [MQTT-3.1.4-3] in 5.0) like any lost connection: its will is published now, or with
    /// a Will Delay waits in the session, which `open_session` then continues (the will is
    /// cancelled [MQTT-3.1.3-9]) or ends (the will goes out at once). `tests_will.rs` has each
    /// case with the statement it rests on.
    pub(super) fn take_over(&mut self, client_id: &Arc<str>) {
        let online = self
            .session_by_client_id
            .get(client_id)
            .and_then(|&session| self.sessions.get(session))
            .and_then(|session| session.link());
        if let Some(old_link) = online {
            self.end_link(old_link, Ending::TakenOver);
        }
    }

    /// Resumes the client's session or starts a new one; returns its key and whether it was
    /// resumed. Clean start discards any previous session ([MQTT-3.1.2-6] in 3.1.1,
    /// [MQTT-3.1.2-4] in 5.0), and a will still waiting out its delay in a discarded session is
    /// published now: the session's end is one of its two moments [MQTT-3.1.2-8]. A Clean
    /// Start 1 connection does not count as "a new Network Connection to this Session", which
    /// would cancel it [MQTT-3.1.3-9]; it ends that session.
    pub(super) fn open_session(
        &mut self,
        client_id: &Arc<str>,
        clean: bool,
        expiry: u32,
    ) -> (usize, bool) {
        if let Some(&existing) = self.session_by_client_id.get(client_id) {
            if !clean {
                return (existing, true);
            }
            self.end_session(existing);
        }
        let key = self
            .sessions
            .insert(Session::new(Arc::clone(client_id), expiry));
        self.session_by_client_id.insert(Arc::clone(client_id), key);
        (key, false)
    }

    /// [MQTT-4.4.0-1] On resumption, unacknowledged PUBLISH packets are re-sent with DUP set
    /// and PUBREL packets re-sent, in their original order.
    pub(super) fn resend_inflight(&mut self, session_key: usize, key: usize) {
        let (Some(session), Some(link)) = (self.sessions.get(session_key), self.links.get_mut(key))
        else {
            return;
        };
        for (packet_id, flight) in &session.delivery().inflight {
            match flight {
                Flight::Qos1Sent(queued) | Flight::Qos2Sent(queued) => {
                    let header = PublishHeader {
                        dup: true,
                        qos: queued.qos,
                        retain: queued.retain,
                        packet_id: Some(*packet_id),
                    };
                    let ids = &queued.subscription_ids;
                    // Not for this connection's client (too large, or outside its mount
                    // point): it stays in flight and is sent again if a later connection
                    // allows it.
                    let message = &queued.message;
                    if write_publish(link, header, message, ids, self.now).is_ok() {
                        self.counters.sent.count_publish(message.payload.len());
                    }
                }
                Flight::Released => link.write(
                    &Packet::PubRel(PubResponse::new(*packet_id)),
                    &mut self.counters.sent,
                ),
            }
        }
        self.mark_ready(key);
    }
}
