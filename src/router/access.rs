//! Access control: the ACL checks on PUBLISH, SUBSCRIBE, wills and deliveries, and the
//! per-session rights they use, compiled at CONNECT and again after a reload.
//!
//! With no `acl_file` a session's `acl` is `None`: a delivery then costs one branch, and a
//! PUBLISH or Will only the always-applied `$SYS`/`$share` rules (`auth::acl_check`).

use log::debug;

use super::Router;
use super::hooks::Verdict;
use super::session::Session;
use crate::auth::{Access, ClientAcl, ClientIdentity};
use crate::protocol::{Packet, PubResponse, Publish, QoS, ReasonCode, Will};
use crate::topic::TopicFilter;

/// Whether rights `acl` (`None`: no ACL file) allow `access` to `topic`.
pub(super) fn allows(acl: Option<&ClientAcl>, topic: &str, access: Access) -> bool {
    match acl {
        Some(acl) => acl.check(topic, access),
        None => ClientAcl::unrestricted().check(topic, access),
    }
}

/// Whether a delivery of a message on `topic` may reach `session`: READ on the real topic, so
/// a wildcard subscription never leaks a forbidden one.
pub(super) fn may_read(session: &Session, topic: &str) -> bool {
    session
        .acl
        .as_ref()
        .is_none_or(|acl| acl.check(topic, Access::Read))
}

impl Router {
    /// Compiles the rights of the client that now owns `session_key`.
    pub(super) fn compile_acl(
        &mut self,
        session_key: usize,
        listener: usize,
        username: Option<&str>,
    ) {
        let acl_file = self
            .security
            .listeners
            .get(listener)
            .and_then(|l| l.acl.clone());
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        // Listeners are fewer than `MAX_LISTENERS`, far below 65,536.
        session.listener = u16::try_from(listener).unwrap_or(u16::MAX);
        session.username = username.map(Into::into);
        session.acl = acl_file.map(|file| {
            Box::new(file.compile(&ClientIdentity {
                client_id: &session.client_id,
                username,
            }))
        });
    }

    /// After a reload: every session, online or not, gets its rights from the new files.
    pub(super) fn recompile_acls(&mut self) {
        let sessions: Vec<(usize, usize, Option<std::sync::Arc<str>>)> = self
            .sessions
            .iter()
            .map(|(key, s)| (key, usize::from(s.listener), s.username.clone()))
            .collect();
        for (key, listener, username) in sessions {
            self.compile_acl(key, listener, username.as_deref());
        }
    }

    /// WRITE for a client's PUBLISH; `false` when it was denied and answered.
    pub(super) fn authorise_publish(
        &mut self,
        key: usize,
        session_key: usize,
        publish: &Publish,
    ) -> bool {
        let acl = self
            .sessions
            .get(session_key)
            .and_then(|s| s.acl.as_deref());
        let reason = if !allows(acl, &publish.topic, Access::Write) {
            ReasonCode::NOT_AUTHORIZED
        } else if !self.has_hooks() {
            return true;
        } else {
            let username = self
                .sessions
                .get(session_key)
                .and_then(|s| s.username.clone());
            let (topic, qos, retain) = (&publish.topic, publish.qos, publish.retain);
            match self.hook_publish(key, username.as_deref(), topic, qos, retain) {
                Verdict::Allow => return true,
                // A success code from the hook would tell the client its message went out.
                Verdict::Deny(reason) if reason.0 >= 0x80 => reason,
                Verdict::Deny(_) => ReasonCode::NOT_AUTHORIZED,
            }
        };
        let Some(link) = self.links.get(key) else {
            return false;
        };
        // mosquitto's line, at the same level.
        debug!(
            "Denied PUBLISH from {} (d{}, q{}, r{}, m{}, '{}', ... ({} bytes))",
            link.name(),
            u8::from(publish.dup),
            publish.qos.bits(),
            u8::from(publish.retain),
            publish.packet_id.map_or(0, |id| id.get()),
            publish.topic,
            publish.payload.len()
        );
        let is_v5 = link.version.is_v5();
        // As mosquitto: QoS 0 is dropped; QoS 1 and 2 are still acknowledged, with 0x87 in
        // MQTT 5 [MQTT-3.4.2-1 lists it for PUBACK, MQTT-3.5.2 for PUBREC], so the client does
        // not resend, and the connection stays open.
        let Some(id) = publish.packet_id else {
            return false;
        };
        let mut response = PubResponse::new(id);
        if is_v5 {
            response.reason = reason;
        }
        match publish.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.send(key, &Packet::PubAck(response)),
            QoS::ExactlyOnce => self.send(key, &Packet::PubRec(response)),
        }
        false
    }

    /// Whether a SUBSCRIBE to `filter` (for `$share/group/filter`, the part after the group)
    /// can ever deliver anything to this session.
    pub(super) fn may_subscribe(&self, session_key: usize, filter: &TopicFilter) -> bool {
        self.sessions
            .get(session_key)
            .and_then(|s| s.acl.as_deref())
            .is_none_or(|acl| acl.can_ever_read(filter))
    }

    /// WRITE for a will when it is published, with the rights of the client that set it.
    pub(super) fn will_allowed(acl: Option<&ClientAcl>, will: &Will) -> bool {
        let allowed = allows(acl, &will.topic, Access::Write);
        if !allowed {
            debug!("Denied will on '{}'", will.topic);
        }
        allowed
    }
}
