//! How links and sessions end: the reason logged, the MQTT 5 DISCONNECT the broker sends, the
//! will (at once or after its delay), and when an offline session expires.

use std::sync::Arc;
use std::time::Duration;

use log::{debug, info};

use super::link::LinkState;
use super::message::Message;
use super::retain::RetainSource;
use super::session::NEVER_EXPIRES;
use super::{LinkLoss, Router};
use crate::auth::ClientAcl;
use crate::logging::CONNECTION_TARGET;
use crate::protocol::{Disconnect, Packet, Properties, ReasonCode, Will};

/// Why a link ends, for the log line, the DISCONNECT an MQTT 5 client is sent, and whether its
/// will is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ending {
    /// The client sent DISCONNECT: the will is discarded [MQTT-3.1.2-10].
    Disconnect,
    /// MQTT 5 DISCONNECT with reason 0x04: the client asks for its will to be published.
    DisconnectWithWill,
    /// CONNECT was refused with a CONNACK failure code; there is no session or will yet.
    Refused(&'static str),
    ConnectTimeout,
    KeepaliveTimeout,
    /// Another connection with the same client id took over the session [MQTT-3.1.4-2].
    TakenOver,
    /// The client broke a protocol rule; MQTT 5 clients are told which.
    Violation {
        reason: ReasonCode,
        why: String,
    },
    ServerShutdown,
    /// The client's queue kept dropping messages for `slow_consumer_timeout`.
    SlowConsumer,
    /// A reload's files no longer accept the client's login (mosquitto's re-check on SIGHUP).
    NoLongerAuthorised,
    /// A 3.x client's QoS 1/2 PUBLISH came at the memory limit: 3.x has no negative
    /// acknowledgement, so the connection closes without one [MQTT-3.3.5-2] and the client
    /// sends the message again once it is back.
    OutOfMemory,
    Lost(LinkLoss),
}

impl Ending {
    fn publishes_will(&self) -> bool {
        !matches!(
            self,
            Ending::Disconnect
                | Ending::Refused(_)
                | Ending::ServerShutdown
                | Ending::Lost(LinkLoss::Shutdown)
        )
    }

    /// The reason code of the DISCONNECT sent to an MQTT 5 client before closing, if any
    /// (MQTT 5 section 4.13: the broker should say why it closes).
    fn disconnect_reason(&self) -> Option<ReasonCode> {
        match self {
            Ending::Violation { reason, .. } => Some(*reason),
            Ending::TakenOver => Some(ReasonCode::SESSION_TAKEN_OVER),
            Ending::KeepaliveTimeout => Some(ReasonCode::KEEP_ALIVE_TIMEOUT),
            Ending::ServerShutdown => Some(ReasonCode::SERVER_SHUTTING_DOWN),
            Ending::SlowConsumer | Ending::OutOfMemory => Some(ReasonCode::QUOTA_EXCEEDED),
            Ending::NoLongerAuthorised => Some(ReasonCode::NOT_AUTHORIZED),
            _ => None,
        }
    }

    /// mosquitto's own line for a connected client's end (its `log__printf` calls in
    /// `loop.c` and `handle_*.c`), word for word, so that log watchers and fail2ban filters
    /// written for mosquitto keep matching. `None` where mosquitto writes none.
    fn connection_line(&self, id: &str) -> Option<String> {
        Some(match self {
            Ending::Disconnect | Ending::DisconnectWithWill => format!("Client {id} disconnected."),
            Ending::Lost(LinkLoss::PeerClosed) => format!("Client {id} closed its connection."),
            Ending::Lost(LinkLoss::Io(_)) => format!("Socket error on client {id}, disconnecting."),
            Ending::KeepaliveTimeout => format!("Client {id} has exceeded timeout, disconnecting."),
            Ending::TakenOver => format!("Client {id} already connected, closing old connection."),
            Ending::Violation { .. } => format!("Client {id} disconnected due to protocol error."),
            Ending::NoLongerAuthorised => format!("Client {id} disconnected, not authorised."),
            Ending::SlowConsumer => {
                format!("Client {id} disconnected: its queue stayed full (slow_consumer_timeout).")
            }
            _ => return None,
        })
    }

    /// What the broker knows beyond mosquitto's line: the rule broken, the refusal, the socket
    /// error. `None` when mosquitto's line says it all.
    fn detail(&self) -> Option<String> {
        match self {
            Ending::Refused(why) => Some(format!("refused: {why}")),
            Ending::ConnectTimeout => Some("closed: no CONNECT within the connect timeout".into()),
            Ending::Violation { why, .. } => Some(format!("protocol error: {why}")),
            Ending::OutOfMemory => {
                Some("closed: memory_limit reached, its PUBLISH is not acknowledged".into())
            }
            Ending::Lost(LinkLoss::Io(error)) => Some(format!("socket error: {error}")),
            Ending::ServerShutdown | Ending::Lost(LinkLoss::Shutdown) => {
                Some("closed: broker shutting down".into())
            }
            _ => None,
        }
    }
}

/// How long a session with `expiry` (seconds, [`NEVER_EXPIRES`] for a 3.x persistent session)
/// stays offline before it ends; `None` for never. mosquitto's `persistent_client_expiration`
/// caps every session, 3.x and MQTT 5 alike: the broker may end a session before its expiry
/// interval, which MQTT 5 allows for resource constraints (section 4.1: a server "MAY
/// discard" session state), and it is what keeps abandoned 3.x sessions from piling up.
/// Not called for expiry 0, which ends the session at once.
pub(super) fn offline_lifetime(expiry: u32, cap: Option<Duration>) -> Option<Duration> {
    let own = (expiry != NEVER_EXPIRES).then(|| Duration::from_secs(u64::from(expiry)));
    match (own, cap) {
        (Some(own), Some(cap)) => Some(own.min(cap)),
        (own, cap) => own.or(cap),
    }
}

impl Router {
    /// Ends a link's protocol life: logs why, tells an MQTT 5 client, detaches its session,
    /// deals with the will, and asks the reactor to close the socket.
    pub(super) fn end_link(&mut self, key: usize, ending: Ending) {
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        if link.state == LinkState::Closing {
            return;
        }
        let was_connected = link.state == LinkState::Connected;
        if was_connected
            && link.version.is_v5()
            && let Some(reason) = ending.disconnect_reason()
        {
            let mut properties = Properties::default();
            if let Ending::Violation { why, .. } = &ending {
                properties.reason_string = Some(why.clone());
            }
            let disconnect = Packet::Disconnect(Disconnect { reason, properties });
            link.write(&disconnect, &mut self.counters.sent);
        }
        link.state = LinkState::Closing;
        let will = (link.extras.as_mut())
            .and_then(|extras| extras.will.take())
            .filter(|_| ending.publishes_will());
        let session = link.detach_session();
        if was_connected && let Some(line) = ending.connection_line(link.name()) {
            info!(target: CONNECTION_TARGET, "{line}");
        }
        if was_connected && self.has_hooks() {
            self.observe_disconnected(key);
        }
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        if let Some(detail) = ending.detail() {
            let line = format!("Client {} from {} {detail}", link.name(), link.peer);
            // Refusals and broken rules are worth an operator's eye; the rest is routine.
            if matches!(ending, Ending::Refused(_) | Ending::Violation { .. }) {
                info!("{line}");
            } else {
                debug!("{line}");
            }
        }
        self.mark_ready(key);
        match session {
            Some(session_key) => self.detach_session(session_key, will),
            None => {
                if let Some(will) = will {
                    self.publish_will(*will, None, None);
                }
            }
        }
    }

    /// The session's link is gone. Its will is published now or, with an MQTT 5 will delay,
    /// when the delay or the session ends, whichever is first [MQTT-3.1.3-9]. A session with
    /// expiry interval 0 ends now; others wait offline until they expire (`offline_lifetime`).
    fn detach_session(&mut self, session_key: usize, will: Option<Box<Will>>) {
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        session.detach_link();
        if let Some(d) = session.existing_delivery_mut() {
            d.full_since = None;
        }
        let expiry = session.expiry_interval;
        let now = self.now;
        let mut publish_now = None;
        if let Some(will) = will {
            let delay = will.properties.will_delay_interval.unwrap_or(0).min(expiry);
            if delay > 0 {
                let at = now + Duration::from_secs(u64::from(delay));
                session.pending_will = Some(Box::new((at, *will)));
                self.session_deadlines.push(at, session_key);
            } else {
                publish_now = Some(*will);
            }
        }
        let cap = self.config.persistent_client_expiration;
        if expiry != 0
            && let Some(lifetime) = offline_lifetime(expiry, cap)
        {
            let at = now + lifetime;
            session.expires_at = Some(at);
            self.session_deadlines.push(at, session_key);
        }
        let acl = session.acl.clone();
        self.journal_session(session_key);
        self.reassign_shared(session_key);
        if let Some(will) = publish_now {
            let source = self.retain_source(Some(session_key));
            self.publish_will(will, acl.as_deref(), source);
        }
        if expiry == 0 {
            self.end_session(session_key);
        }
    }

    /// Removes a session and everything it holds; a will still delayed is published now.
    pub(super) fn end_session(&mut self, session_key: usize) {
        let Some(session) = self.sessions.try_remove(session_key) else {
            return;
        };
        self.memory.entries =
            (self.memory.entries).saturating_sub(session.charged_entries as usize);
        self.subscriptions.remove_subscriber(session_key);
        self.shared.remove_session(session_key);
        self.session_by_client_id.remove(&session.client_id);
        self.journal_session_ended(session_key, &session);
        self.counters.retired_dropped += session.delivery().dropped;
        if session.delivery().dropped > 0 {
            debug!(
                "Session {} ended having dropped {} messages on full queues",
                session.client_id,
                session.delivery().dropped
            );
        }
        if session.pending_will.is_some() {
            let source = self.source_of(&session);
            if let Some(pending) = session.pending_will {
                self.publish_will(pending.1, session.acl.as_deref(), source);
            }
        }
    }

    /// A session deadline came due: a delayed will, or the end of an offline session.
    pub(super) fn session_timer(&mut self, session_key: usize) {
        let now = self.now;
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        if session
            .pending_will
            .as_ref()
            .is_some_and(|pending| pending.0 <= now)
            && let Some(pending) = session.pending_will.take()
        {
            let acl = session.acl.clone();
            let source = self.retain_source(Some(session_key));
            self.publish_will(pending.1, acl.as_deref(), source);
            self.journal_session(session_key);
        }
        let expired = self.sessions.get(session_key).is_some_and(|session| {
            session.link().is_none() && session.expires_at.is_some_and(|at| at <= now)
        });
        let stuck = self.config.slow_consumer_timeout.and_then(|timeout| {
            let session = self.sessions.get(session_key)?;
            let since = session.delivery().full_since?;
            (since + timeout <= now).then_some(session.link()?)
        });
        if let Some(key) = stuck {
            self.end_link(key, Ending::SlowConsumer);
        }
        if expired {
            debug!("Session {session_key} expired");
            self.counters.clients_expired += 1;
            self.end_session(session_key);
        }
    }

    /// WRITE is checked now, with the rights of the client that set the will (mosquitto's
    /// order: a will allowed at CONNECT may be refused by a file reloaded since). `source` is
    /// that client, recorded with a retained will for `check_retain_source`.
    pub(super) fn publish_will(
        &mut self,
        will: Will,
        acl: Option<&ClientAcl>,
        source: Option<RetainSource>,
    ) {
        if !Router::will_allowed(acl, &will) {
            return;
        }
        let message = Message::from_will(will, self.now);
        self.route_from(Arc::new(message), None, source.as_ref());
    }

    /// DISCONNECT from the client. An MQTT 5 client may change the session expiry interval,
    /// but not from 0 to non-zero (MQTT 5 section 3.14.2.2.2), and may ask for its will with 0x04.
    pub(super) fn handle_disconnect(&mut self, key: usize, disconnect: Disconnect) {
        if let Some(expiry) = disconnect.properties.session_expiry_interval
            && let Some(session) = self.session_of(key)
        {
            if session.expiry_interval == 0 && expiry != 0 {
                let why = "DISCONNECT sets a session expiry after CONNECT set none".to_owned();
                self.violation(key, ReasonCode::PROTOCOL_ERROR, why);
                return;
            }
            session.expiry_interval = expiry;
        }
        let ending = if disconnect.reason == ReasonCode::DISCONNECT_WITH_WILL {
            Ending::DisconnectWithWill
        } else {
            Ending::Disconnect
        };
        self.end_link(key, ending);
    }
}
