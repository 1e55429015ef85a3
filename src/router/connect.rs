//! CONNECT: the checks in their order, client identifiers, CONNACK, and refusals; the session
//! it attaches to, taken over or resumed, is `resume`'s.

use std::sync::Arc;

use log::info;

use super::hooks::Verdict;
use super::link::{ClientLimits, LinkState, OverLimit};
use super::listeners::HOST_CLIENT_PREFIX;
use super::publish_checks::will_refusal;
pub use super::refusal::Refusal;
use super::session::NEVER_EXPIRES;
use super::{Ending, LinkId, Peer, Router};
use crate::auth::ListenerSecurity;
use crate::config::MAX_REMAINING_LENGTH;
use crate::logging::CONNECTION_TARGET;
use crate::protocol::{
    ConnAck, Connect, ConnectReturnCode, Packet, Properties, ProtocolVersion, QoS, ReasonCode,
};

mod resume;

/// MQTT 3.1 limits client identifiers to 23 characters; mosquitto enforces it, so clients
/// written for it expect the refusal.
const MQTT31_MAX_CLIENT_ID: usize = 23;

impl Router {
    pub(super) fn handle_connect(&mut self, key: usize, connect: Connect) {
        if let Some(link) = self.links.get_mut(key) {
            link.version = connect.protocol;
            // Before any answer, refusals included: they too must fit [MQTT-3.1.2-24].
            link.limits = client_limits(&connect.properties);
        }
        // A client coming back to its session is let in even at the memory limit: taking its
        // queue is what frees the memory, and it costs only its connection.
        let resumes = !connect.clean_start
            && (self.session_by_client_id).contains_key(connect.client_id.as_str());
        match self.links.get(key).and_then(|link| link.over_limit) {
            Some(OverLimit::Memory) if resumes => {}
            Some(OverLimit::Memory) => {
                self.count_connection_refused_for_memory();
                self.refuse_connect(key, Refusal::OutOfMemory);
                return;
            }
            Some(OverLimit::Connections) => {
                self.refuse_connect(key, Refusal::TooManyConnections);
                return;
            }
            None if !resumes && self.memory_full() => {
                self.count_connection_refused_for_memory();
                self.refuse_connect(key, Refusal::OutOfMemory);
                return;
            }
            None => {}
        }
        if let Some(method) = &connect.properties.authentication_method {
            log::debug!("Authentication method {method:?} is not supported");
            self.refuse_connect(key, Refusal::BadAuthenticationMethod);
            return;
        }
        let will_refusal = self
            .links
            .get(key)
            .and_then(|link| will_refusal(link, &connect, &self.config));
        if let Some(refusal) = will_refusal {
            self.refuse_connect(key, refusal);
            return;
        }
        if !connect.protocol.is_v5() && self.keep_alive_for(&connect) != connect.keep_alive {
            // A 3.x client cannot be told a shorter keepalive; mosquitto refuses it likewise.
            self.refuse_connect(key, Refusal::KeepAliveTooLong);
            return;
        }
        let Some(connect) = self.authenticate(key, connect) else {
            return;
        };
        let security = self.link_security(key);
        let from_host = self.links.get(key).is_some_and(|l| l.peer == Peer::Host);
        let ids = match from_host {
            true => Ok((Arc::from(connect.client_id.as_str()), false)),
            false => self.client_id_for(&connect, &security),
        };
        let (client_id, assigned) = match ids {
            Ok(id) => id,
            Err(Refusal::NotAuthorized(why)) => {
                self.refuse_login(key, &connect, why);
                return;
            }
            Err(refusal) => {
                self.refuse_connect(key, refusal);
                return;
            }
        };
        // The host program's in-process links: no network client may take one over, whether
        // it names the id, or its username or an assigned-id prefix makes it.
        if !from_host && client_id.starts_with(HOST_CLIENT_PREFIX) {
            self.refuse_connect(key, Refusal::IdentifierRejected);
            return;
        }
        if self.has_hooks() {
            let (username, password) = (connect.username.as_deref(), connect.password.as_deref());
            if let Verdict::Deny(reason) =
                self.hook_authenticate(key, &client_id, username, password)
            {
                info!(target: CONNECTION_TARGET, "Client {client_id} disconnected, not authorised.");
                self.refuse_connect(key, Refusal::ByHost(reason));
                return;
            }
        }
        self.take_over(&client_id);
        let is_v5 = connect.protocol.is_v5();
        let expiry = match (is_v5, connect.clean_start) {
            (true, _) => connect.properties.session_expiry_interval.unwrap_or(0),
            (false, true) => 0,
            (false, false) => NEVER_EXPIRES,
        };
        let (session_key, session_present) =
            self.open_session(&client_id, connect.clean_start, expiry);
        let listener = self
            .links
            .get(key)
            .map_or(0, |link| usize::from(link.listener));
        self.compile_acl(session_key, listener, connect.username.as_deref());
        let keep_alive = self.keep_alive_for(&connect);
        let assigned = assigned.then(|| client_id.to_string());
        let max_qos = self
            .links
            .get(key)
            .map_or(QoS::ExactlyOnce, |l| l.rules.max_qos);
        let connack = self.connack(&connect, session_present, assigned, keep_alive, max_qos);
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        link.state = LinkState::Connected;
        link.attach_session(session_key);
        link.client_id = Some(Arc::clone(&client_id));
        // The will goes to its topic under the mount point, like the client's PUBLISH.
        let rules = &link.rules;
        if let Some(will) = connect.will {
            let will = Box::new(rules.mount_will(will));
            link.extras_mut().will = Some(will);
        }
        link.keep_alive = keep_alive;
        // Still the time of accept: the CONNECT-timeout entry in the heap was due from then.
        let pending_entry = link.last_activity + self.config.connect_timeout;
        link.last_activity = self.now;
        // The CONNECT-timeout entry is still in the heap and re-arms itself at the keepalive
        // deadline when it comes due; a second entry is needed only to fire sooner than that.
        if let Some(deadline) = link.deadline(self.config.connect_timeout)
            && deadline < pending_entry
        {
            let id = LinkId::new(key, link.generation);
            self.deadlines.push(deadline, id);
        }
        // mosquitto's line: p is its protocol number (1 for 3.1, 2 for 3.1.1, 5), and the
        // user name is shown only when there is one.
        let user = connect
            .username
            .as_deref()
            .map(|name| format!(", u'{name}'"))
            .unwrap_or_default();
        info!(
            target: CONNECTION_TARGET,
            "New client connected from {} as {} (p{}, c{}, k{}{user}).",
            link.peer,
            client_id,
            mosquitto_protocol_number(connect.protocol),
            u8::from(connect.clean_start),
            keep_alive
        );
        let configured = self.config.max_inflight_messages;
        let receive_maximum = connect.properties.receive_maximum;
        if let Some(session) = self.sessions.get_mut(session_key) {
            session.attach_link(key);
            session.expiry_interval = expiry;
            session.expires_at = None;
            // [MQTT-3.1.3-9] a resumed session cancels the will still waiting out its delay,
            // whether its connection was lost or taken over by this one.
            session.pending_will = None;
            session.window = receive_maximum.map_or(configured, |max| max.min(configured));
            session.window_bytes = self.config.max_inflight_bytes;
            session.protocol = connect.protocol;
        }
        // Stored before the CONNACK can leave: the reactor writes the store first.
        self.journal_connected(session_key);
        self.send(key, &Packet::ConnAck(connack));
        if self.has_hooks() {
            self.observe_connected(key, connect.username.as_deref());
        }
        if session_present {
            self.resend_inflight(session_key, key);
            self.pump(session_key);
        }
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

    fn connack(
        &self,
        connect: &Connect,
        session_present: bool,
        assigned: Option<String>,
        keep_alive: u16,
        max_qos: QoS,
    ) -> ConnAck {
        let mut properties = Properties::default();
        if connect.protocol.is_v5() {
            properties.receive_maximum = Some(self.config.max_inflight_messages);
            properties.topic_alias_maximum = Some(self.config.topic_alias_maximum);
            // [MQTT-3.2.2-9] a server without QoS 1 or 2 says so; the property may only be
            // 0 or 1, its absence meaning 2.
            if max_qos < QoS::ExactlyOnce {
                properties.maximum_qos = Some(max_qos.bits());
            }
            properties.retain_available = Some(u8::from(self.config.retain_available));
            properties.wildcard_subscription_available = Some(1);
            properties.subscription_identifier_available = Some(1);
            properties.shared_subscription_available = Some(1);
            if self.config.max_packet_size < MAX_REMAINING_LENGTH + 5 {
                properties.maximum_packet_size = Some(self.config.max_packet_size);
            }
            properties.assigned_client_identifier = assigned;
            if keep_alive != connect.keep_alive {
                properties.server_keep_alive = Some(keep_alive);
            }
        }
        ConnAck {
            // [MQTT-3.2.2-1] 0 with clean session; [MQTT-3.2.2-2] 1 when a session resumed. In
            // MQTT 3.1 that byte is "reserved, not used" and stays 0: the flag is new in 3.1.1,
            // and a resumed 3.1 session is still resumed, only not announced.
            session_present: session_present && connect.protocol != ProtocolVersion::V3_1,
            return_code: ConnectReturnCode::Accepted,
            reason: ReasonCode::SUCCESS,
            properties,
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

/// The protocol number mosquitto's connect line shows.
fn mosquitto_protocol_number(version: ProtocolVersion) -> u8 {
    match version {
        ProtocolVersion::V3_1 => 1,
        ProtocolVersion::V3_1_1 => 2,
        ProtocolVersion::V5 => 5,
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
