//! An accepted CONNECT: its session opened, its link connected, the CONNACK sent, and a
//! resumed session's messages sent again.

use std::fmt::Display;
use std::sync::Arc;

use log::info;

use crate::config::MAX_REMAINING_LENGTH;
use crate::logging::CONNECTION_TARGET;
use crate::protocol::{
    ConnAck, Connect, ConnectReturnCode, Packet, Properties, ProtocolVersion, QoS, ReasonCode,
};
use crate::router::ListenerRules;
use crate::router::link::LinkState;
use crate::router::session::NEVER_EXPIRES;
use crate::router::{LinkId, Router};

impl Router {
    /// Accepts a CONNECT that passed every check, once an earlier connection with its id is
    /// taken over: opens or resumes the session, connects the link, answers CONNACK, and
    /// sends a resumed session's messages again.
    pub(super) fn accept(
        &mut self,
        key: usize,
        mut connect: Connect,
        client_id: Arc<str>,
        assigned: bool,
    ) {
        let expiry = session_expiry(&connect);
        let (session_key, session_present) =
            self.open_session(&client_id, connect.clean_start, expiry);
        let listener = self
            .links
            .get(key)
            .map_or(0, |link| usize::from(link.listener));
        self.compile_acl(session_key, listener, connect.username.as_deref());
        let keep_alive = self.keep_alive_for(&connect);
        let assigned = assigned.then(|| client_id.to_string());
        let rules = self
            .links
            .get(key)
            .map_or_else(|| Arc::clone(&self.no_listener), |l| Arc::clone(&l.rules));
        let connack = self.connack(&connect, session_present, assigned, keep_alive, &rules);
        if !self.connect_link(key, session_key, &client_id, &mut connect, keep_alive) {
            return;
        }
        self.connect_session(key, session_key, &connect, expiry);
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

    /// Makes the link connected, attached to its session, with the CONNECT's will and
    /// keepalive; `false` when the link is gone.
    fn connect_link(
        &mut self,
        key: usize,
        session_key: usize,
        client_id: &Arc<str>,
        connect: &mut Connect,
        keep_alive: u16,
    ) -> bool {
        let Some(link) = self.links.get_mut(key) else {
            return false;
        };
        link.state = LinkState::Connected;
        link.attach_session(session_key);
        link.client_id = Some(Arc::clone(client_id));
        // The will goes to its topic under the mount point, like the client's PUBLISH.
        let rules = &link.rules;
        if let Some(will) = connect.will.take() {
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
        log_connected(&link.peer, client_id, connect, keep_alive);
        true
    }

    /// Attaches the session to the link, with this connection's expiry and in-flight window.
    fn connect_session(&mut self, key: usize, session_key: usize, connect: &Connect, expiry: u32) {
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
    }

    fn connack(
        &self,
        connect: &Connect,
        session_present: bool,
        assigned: Option<String>,
        keep_alive: u16,
        rules: &ListenerRules,
    ) -> ConnAck {
        let mut properties = Properties::default();
        let max_qos = rules.max_qos;
        if connect.protocol.is_v5() {
            properties.receive_maximum = Some(self.config.max_inflight_messages);
            properties.topic_alias_maximum = Some(rules.topic_alias_maximum);
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
}

/// The session expiry interval: MQTT 5 says it in the CONNECT, 0 when absent; a 3.x session
/// ends with a clean-session connection and otherwise never expires.
fn session_expiry(connect: &Connect) -> u32 {
    match (connect.protocol.is_v5(), connect.clean_start) {
        (true, _) => connect.properties.session_expiry_interval.unwrap_or(0),
        (false, true) => 0,
        (false, false) => NEVER_EXPIRES,
    }
}

/// mosquitto's line: p is its protocol number (1 for 3.1, 2 for 3.1.1, 5), and the user name
/// is shown only when there is one.
fn log_connected(peer: &impl Display, client_id: &str, connect: &Connect, keep_alive: u16) {
    let user = connect
        .username
        .as_deref()
        .map(|name| format!(", u'{name}'"))
        .unwrap_or_default();
    info!(
        target: CONNECTION_TARGET,
        "New client connected from {} as {} (p{}, c{}, k{}{user}).",
        peer,
        client_id,
        mosquitto_protocol_number(connect.protocol),
        u8::from(connect.clean_start),
        keep_alive
    );
}

/// The protocol number mosquitto's connect line shows.
fn mosquitto_protocol_number(version: ProtocolVersion) -> u8 {
    match version {
        ProtocolVersion::V3_1 => 1,
        ProtocolVersion::V3_1_1 => 2,
        ProtocolVersion::V5 => 5,
    }
}
