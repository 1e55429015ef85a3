//! CONNECT: client identifiers, session take-over and resumption, CONNACK, and refusals.

use std::sync::Arc;
use std::time::{Duration, Instant};

use log::info;

use super::link::LinkState;
use super::session::{Flight, Session};
use super::{Ending, LinkId, Router};
use crate::protocol::{
    ConnAck, Connect, ConnectReturnCode, Packet, Properties, ProtocolVersion, PubResponse,
    PublishHeader, ReasonCode, encode_publish,
};
use crate::topic::TopicName;

/// Why a CONNECT is refused. [`Refusal::codes`] is the one place that turns a refusal into the
/// codes CONNACK carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// [MQTT-3.1.2-2] unknown protocol name or level.
    UnsupportedVersion,
    /// [MQTT-3.1.3-8] empty client id without clean session; MQTT 3.1 ids of 1 to 23 characters.
    IdentifierRejected,
}

impl Refusal {
    pub fn codes(self) -> (ConnectReturnCode, ReasonCode) {
        match self {
            Refusal::UnsupportedVersion => (
                ConnectReturnCode::UnacceptableProtocolVersion,
                ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            ),
            Refusal::IdentifierRejected => (
                ConnectReturnCode::IdentifierRejected,
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
            ),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Refusal::UnsupportedVersion => "unsupported protocol version",
            Refusal::IdentifierRejected => "client identifier rejected",
        }
    }
}

/// MQTT 3.1 limits client identifiers to 23 characters; mosquitto enforces it, so clients
/// written for it expect the refusal.
const MQTT31_MAX_CLIENT_ID: usize = 23;

impl Router {
    pub(super) fn handle_connect(&mut self, key: usize, connect: Connect, now: Instant) {
        if let Some(link) = self.links.get_mut(key) {
            link.version = connect.protocol;
        }
        if connect.protocol == ProtocolVersion::V5 {
            self.refuse_connect(key, Refusal::UnsupportedVersion, now);
            return;
        }
        if let Some(will) = &connect.will
            && let Err(error) = TopicName::parse(&will.topic)
        {
            self.violation(key, format!("invalid will topic: {error}"), now);
            return;
        }
        let client_id = match self.client_id_for(&connect) {
            Ok(id) => id,
            Err(refusal) => {
                self.refuse_connect(key, refusal, now);
                return;
            }
        };
        self.take_over(&client_id, now);
        let (session_key, session_present) = self.open_session(&client_id, connect.clean_start);
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        link.state = LinkState::Connected;
        link.session = Some(session_key);
        link.client_id = Some(Arc::clone(&client_id));
        link.will = connect.will;
        link.keep_alive = Duration::from_secs(u64::from(connect.keep_alive));
        link.last_activity = now;
        if let Some(deadline) = link.deadline(self.config.connect_timeout) {
            self.deadlines.push(
                deadline,
                LinkId {
                    index: key,
                    generation: link.generation,
                },
            );
        }
        info!(
            "New client connected from {} as {} (p{}, c{}, k{}).",
            link.peer,
            client_id,
            connect.protocol.level(),
            u8::from(connect.clean_start),
            connect.keep_alive
        );
        if let Some(session) = self.sessions.get_mut(session_key) {
            session.link = Some(key);
        }
        // [MQTT-3.2.2-1] session present 0 with clean session; [MQTT-3.2.2-2] 1 when resumed.
        self.send(
            key,
            &Packet::ConnAck(ConnAck {
                session_present,
                return_code: ConnectReturnCode::Accepted,
                reason: ReasonCode::SUCCESS,
                properties: Properties::default(),
            }),
        );
        if session_present {
            self.resend_inflight(session_key, key);
            self.pump(session_key);
        }
    }

    /// The id the client asked for, or one assigned by the broker [MQTT-3.1.3-6].
    fn client_id_for(&mut self, connect: &Connect) -> Result<Arc<str>, Refusal> {
        let v31 = connect.protocol == ProtocolVersion::V3_1;
        if connect.client_id.is_empty() {
            if !connect.clean_start || v31 {
                return Err(Refusal::IdentifierRejected);
            }
            return Ok(self.assign_client_id().into());
        }
        if v31 && connect.client_id.chars().count() > MQTT31_MAX_CLIENT_ID {
            return Err(Refusal::IdentifierRejected);
        }
        Ok(connect.client_id.as_str().into())
    }

    /// [MQTT-3.1.4-2] A client already connected with this id is disconnected.
    fn take_over(&mut self, client_id: &Arc<str>, now: Instant) {
        let online = self
            .session_by_client_id
            .get(client_id)
            .and_then(|&session| self.sessions.get(session))
            .and_then(|session| session.link);
        if let Some(old_link) = online {
            self.end_link(old_link, Ending::TakenOver, now);
        }
    }

    /// Resumes the client's session or starts a new one; returns its key and whether it was
    /// resumed. Clean session discards any previous session [MQTT-3.1.2-6].
    fn open_session(&mut self, client_id: &Arc<str>, clean: bool) -> (usize, bool) {
        if let Some(&existing) = self.session_by_client_id.get(client_id) {
            if !clean {
                return (existing, true);
            }
            self.remove_session(existing);
        }
        let key = self
            .sessions
            .insert(Session::new(Arc::clone(client_id), clean));
        self.session_by_client_id.insert(Arc::clone(client_id), key);
        (key, false)
    }

    /// Answers CONNECT with a failure code and closes. [MQTT-3.2.2-4] session present is 0.
    pub(super) fn refuse_connect(&mut self, key: usize, refusal: Refusal, now: Instant) {
        let (return_code, reason) = refusal.codes();
        self.send(
            key,
            &Packet::ConnAck(ConnAck {
                session_present: false,
                return_code,
                reason,
                properties: Properties::default(),
            }),
        );
        self.end_link(key, Ending::Refused(refusal.describe()), now);
    }

    /// [MQTT-4.4.0-1] On resumption, unacknowledged PUBLISH packets are re-sent with DUP set
    /// and PUBREL packets re-sent, in their original order.
    fn resend_inflight(&mut self, session_key: usize, key: usize) {
        let (Some(session), Some(link)) = (self.sessions.get(session_key), self.links.get_mut(key))
        else {
            return;
        };
        for (packet_id, flight) in &session.inflight {
            match flight {
                Flight::Qos1Sent(queued) | Flight::Qos2Sent(queued) => {
                    let header = PublishHeader {
                        dup: true,
                        qos: queued.qos,
                        retain: queued.retain,
                        packet_id: Some(*packet_id),
                    };
                    let message = &queued.message;
                    encode_publish(
                        &mut link.output,
                        link.version,
                        header,
                        &message.topic,
                        &message.properties,
                        &message.payload,
                    );
                }
                Flight::Released => crate::protocol::encode(
                    &Packet::PubRel(PubResponse::new(*packet_id)),
                    link.version,
                    &mut link.output,
                ),
            }
        }
        self.mark_ready(key);
    }
}
