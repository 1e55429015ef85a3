//! CONNECT: the checks in their order, client identifiers, and refusals; the acceptance
//! (session, link, CONNACK) is `accept`'s, and the session it attaches to, taken over or
//! resumed, is `resume`'s.

use std::sync::Arc;

use log::info;

use super::hooks::Verdict;
use super::link::{ClientLimits, OverLimit};
use super::listeners::HOST_CLIENT_PREFIX;
use super::publish_checks::will_refusal;
pub use super::refusal::Refusal;
use super::{Ending, Peer, Router};
use crate::auth::ListenerSecurity;
use crate::logging::CONNECTION_TARGET;
use crate::protocol::{ConnAck, Connect, Packet, Properties, ProtocolVersion};

mod accept;
mod resume;

/// MQTT 3.1 limits client identifiers to 23 characters; mosquitto enforces it, so clients
/// written for it expect the refusal.
const MQTT31_MAX_CLIENT_ID: usize = 23;

impl Router {
    /// Handles a CONNECT in its steps: the limits and the checks that need no login, the
    /// login, the client id, the host program's hook, then the takeover of a connection with
    /// the same id and the acceptance. A step that refuses answers, ends the link, and stops
    /// the steps after it.
    pub(super) fn handle_connect(&mut self, key: usize, connect: Connect) {
        if let Some(link) = self.links.get_mut(key) {
            link.version = connect.protocol;
            // Before any answer, refusals included: they too must fit [MQTT-3.1.2-24].
            link.limits = client_limits(&connect.properties);
        }
        if self.refuse_over_limit(key, &connect) {
            return;
        }
        if let Some(refusal) = self.refusal_before_login(key, &connect) {
            self.refuse_connect(key, refusal);
            return;
        }
        let Some(connect) = self.authenticate(key, connect) else {
            return;
        };
        let Some((client_id, assigned)) = self.identify(key, &connect) else {
            return;
        };
        if self.denied_by_hooks(key, &client_id, &connect) {
            return;
        }
        self.take_over(&client_id);
        self.accept(key, connect, client_id, assigned);
    }

    /// Refuses a CONNECT that comes in over the connection or memory limits; returns whether
    /// it did.
    fn refuse_over_limit(&mut self, key: usize, connect: &Connect) -> bool {
        // A client coming back to its session is let in even at the memory limit: taking its
        // queue is what frees the memory, and it costs only its connection.
        let resumes = !connect.clean_start
            && (self.session_by_client_id).contains_key(connect.client_id.as_str());
        let refusal = match self.links.get(key).and_then(|link| link.over_limit) {
            Some(OverLimit::Memory) if resumes => return false,
            Some(OverLimit::Memory) => Refusal::OutOfMemory,
            Some(OverLimit::Connections) => Refusal::TooManyConnections,
            None if !resumes && self.memory_full() => Refusal::OutOfMemory,
            None => return false,
        };
        if matches!(refusal, Refusal::OutOfMemory) {
            self.count_connection_refused_for_memory();
        }
        self.refuse_connect(key, refusal);
        true
    }

    /// The first refusal a CONNECT meets before its login is checked: an authentication
    /// method, a will the listener does not allow, a keepalive a 3.x client cannot be told.
    fn refusal_before_login(&self, key: usize, connect: &Connect) -> Option<Refusal> {
        if let Some(method) = &connect.properties.authentication_method {
            log::debug!("Authentication method {method:?} is not supported");
            return Some(Refusal::BadAuthenticationMethod);
        }
        let link = self.links.get(key);
        if let Some(refusal) = link.and_then(|link| will_refusal(link, connect, &self.config)) {
            return Some(refusal);
        }
        if !connect.protocol.is_v5() && self.keep_alive_for(connect) != connect.keep_alive {
            // A 3.x client cannot be told a shorter keepalive; mosquitto refuses it likewise.
            return Some(Refusal::KeepAliveTooLong);
        }
        None
    }

    /// The client id, and whether the broker assigned it; `None` when the id was refused. The
    /// host program's links keep the id they were given.
    fn identify(&mut self, key: usize, connect: &Connect) -> Option<(Arc<str>, bool)> {
        let security = self.link_security(key);
        let from_host = self.links.get(key).is_some_and(|l| l.peer == Peer::Host);
        let ids = match from_host {
            true => Ok((Arc::from(connect.client_id.as_str()), false)),
            false => self.client_id_for(connect, &security),
        };
        let (client_id, assigned) = match ids {
            Ok(id) => id,
            Err(Refusal::NotAuthorized(why)) => {
                self.refuse_login(key, connect, why);
                return None;
            }
            Err(refusal) => {
                self.refuse_connect(key, refusal);
                return None;
            }
        };
        // The host program's in-process links: no network client may take one over, whether
        // it names the id, or its username or an assigned-id prefix makes it.
        if !from_host && client_id.starts_with(HOST_CLIENT_PREFIX) {
            self.refuse_connect(key, Refusal::IdentifierRejected);
            return None;
        }
        Some((client_id, assigned))
    }

    /// Asks the host program's authenticate hook, when there is one, and refuses the client
    /// it denies; returns whether it did.
    fn denied_by_hooks(&mut self, key: usize, client_id: &Arc<str>, connect: &Connect) -> bool {
        if !self.has_hooks() {
            return false;
        }
        let (username, password) = (connect.username.as_deref(), connect.password.as_deref());
        let Verdict::Deny(reason) = self.hook_authenticate(key, client_id, username, password)
        else {
            return false;
        };
        info!(target: CONNECTION_TARGET, "Client {client_id} disconnected, not authorised.");
        self.refuse_connect(key, Refusal::ByHost(reason));
        true
    }

    /// The id to use, and whether the broker assigned it [MQTT-3.1.3-6]. The listener's rules
    /// apply in mosquitto's order: an empty id is refused with `allow_zero_length_clientid
    /// false` (which [MQTT-3.1.3-8] allows a server) or assigned with `auto_id_prefix`; then
    /// the id must start with `clientid_prefixes`; then `use_username_as_clientid` replaces it
    /// by the username, and refuses a client without one, as mosquitto does.
    fn client_id_for(
        &mut self,
        connect: &Connect,
        security: &ListenerSecurity,
    ) -> Result<(Arc<str>, bool), Refusal> {
        let v31 = connect.protocol == ProtocolVersion::V3_1;
        let (id, assigned) = if connect.client_id.is_empty() {
            // 3.1.1 assigns an id only to a clean session; MQTT 5 to any [MQTT-3.1.3-6].
            if v31
                || (!connect.clean_start && !connect.protocol.is_v5())
                || !security.allow_zero_length_clientid
            {
                return Err(Refusal::IdentifierRejected);
            }
            (self.assign_client_id(&security.auto_id_prefix), true)
        } else {
            if v31 && connect.client_id.chars().count() > MQTT31_MAX_CLIENT_ID {
                return Err(Refusal::IdentifierRejected);
            }
            (connect.client_id.clone(), false)
        };
        if let Some(prefix) = &self.config.clientid_prefixes
            && !id.starts_with(prefix.as_str())
        {
            return Err(Refusal::NotAuthorized(
                "client id without the required prefix",
            ));
        }
        if security.use_username_as_clientid {
            return match &connect.username {
                Some(username) => Ok((username.as_str().into(), false)),
                None => Err(Refusal::NotAuthorized(
                    "use_username_as_clientid and no username",
                )),
            };
        }
        Ok((id.into(), assigned))
    }

    /// The configured maximum keepalive overrides a longer (or disabled) one; an MQTT 5 client
    /// is told through Server Keep Alive [MQTT-3.2.2-21].
    fn keep_alive_for(&self, connect: &Connect) -> u16 {
        let max = self.config.max_keepalive;
        if max > 0 && (connect.keep_alive == 0 || connect.keep_alive > max) {
            max
        } else {
            connect.keep_alive
        }
    }

    /// Answers a CONNECT whose protocol name and level minibroker does not speak, in the
    /// CONNACK format [`answer_version`] picks for its level, and closes.
    pub(super) fn refuse_protocol(&mut self, key: usize, level: u8) {
        if let Some(link) = self.links.get_mut(key) {
            link.version = answer_version(level);
        }
        self.refuse_connect(key, Refusal::UnsupportedVersion);
    }

    /// Answers CONNECT with a failure code and closes. [MQTT-3.2.2-4] session present is 0.
    pub(super) fn refuse_connect(&mut self, key: usize, refusal: Refusal) {
        let (return_code, reason) = refusal.codes();
        let is_v5 = self.links.get(key).is_some_and(|link| link.version.is_v5());
        if !is_v5 && !refusal.answers_3x() {
            self.end_link(key, Ending::Refused(refusal.describe()));
            return;
        }
        self.send(
            key,
            &Packet::ConnAck(ConnAck {
                session_present: false,
                return_code,
                reason,
                properties: Properties::default(),
            }),
        );
        self.end_link(key, Ending::Refused(refusal.describe()));
    }
}

/// The version whose CONNACK answers a CONNECT with protocol `level` and a name and level
/// minibroker does not speak together ("MQIsdp"/3, "MQTT"/4 and "MQTT"/5 are accepted).
///
/// - Levels 3 and 4 get the 3.x answer, return code 1 in a two-byte CONNACK: their client
///   reads that format whatever name it sent. MQTT 3.1.1 requires it for a level it does not
///   support [MQTT-3.1.2-2] and leaves a wrong name to the server [MQTT-3.1.2-1]; answering
///   3/"MQTT" or 4/"MQIsdp" the same way tells the client which half to change.
/// - 0x83 and 0x84, levels 3 and 4 with the bridge bit that mosquitto bridges send with
///   `try_private`, get the 3.x answer too: those bridges retry without the bit on return
///   code 1.
/// - Every other level gets the MQTT 5 answer, reason code 0x84 (Unsupported Protocol
///   Version), which MQTT 5 offers for a level other than 5 [MQTT-3.1.2-2] and for a name
///   other than "MQTT" [MQTT-3.1.2-1]: so 0, 1, 2, 6 and above, and 5 with any other name.
pub fn answer_version(level: u8) -> ProtocolVersion {
    match level {
        3 | 4 | 0x83 | 0x84 => ProtocolVersion::V3_1_1,
        _ => ProtocolVersion::V5,
    }
}

/// What the client's CONNECT properties allow the broker to send it.
fn client_limits(properties: &Properties) -> ClientLimits {
    ClientLimits {
        maximum_packet_size: properties.maximum_packet_size.unwrap_or(u32::MAX),
        topic_alias_maximum: properties.topic_alias_maximum.unwrap_or(0),
        problem_information: properties.request_problem_information != Some(0),
        ..ClientLimits::default()
    }
}
