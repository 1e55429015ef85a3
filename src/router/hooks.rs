//! The host program's say in the broker's decisions, for an embedded broker: who may connect,
//! publish, subscribe and receive, and what happened. Each hook is optional and runs on the
//! broker's thread, after the broker's own checks (password file, ACL file) have allowed the
//! request, so a hook can only narrow what the configuration grants.
//!
//! A hook that panics is a bug of the host program, but it must not leave the broker half way
//! through a decision: the panic is caught, logged, and counted as a refusal (an observer's
//! panic is logged and forgotten). The broker's own links (its bridges, the in-process client)
//! are not asked about.
#![deny(missing_docs)]

use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use log::error;

use super::link::Link;
use super::listeners::Peer;
use super::session::Session;
use super::{Message, Router};
use crate::config::ListenerKind;
use crate::protocol::{QoS, ReasonCode};

/// Who is asking: a client of one of the listeners.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo<'a> {
    /// The client id (the one the broker assigned, for a client that sent none).
    pub client_id: &'a str,
    /// The username of the CONNECT, if it had one.
    pub username: Option<&'a str>,
    /// The client's TCP address (behind a trusted WebSocket proxy, the address it forwarded,
    /// with port 0); `None` for a Unix socket client or an offline session.
    pub address: Option<SocketAddr>,
    /// Whether it connected through a TLS listener (wss included).
    pub tls: bool,
    /// The listener, by its position in the configuration's listeners.
    pub listener: usize,
}

/// A CONNECT to authenticate.
#[derive(Debug, Clone, Copy)]
pub struct ConnectRequest<'a> {
    /// Who connects.
    pub client: ClientInfo<'a>,
    /// The password of the CONNECT, as sent (MQTT allows any bytes).
    pub password: Option<&'a [u8]>,
}

/// A hook's answer. `Deny` carries the MQTT 5 reason code to send; a 3.x client gets the
/// closest return code it has (CONNACK) or nothing (PUBACK, SUBACK 0x80).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Refuse, with this reason code (0x80 or above; a lower one becomes 0x87 Not
    /// authorized, so that a refusal never reads as success).
    Deny(ReasonCode),
}

/// What happened, for the observer set with
/// [`BrokerBuilder::on_event`](crate::BrokerBuilder::on_event).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A client's CONNECT was accepted.
    Connected(ClientInfo<'a>),
    /// A connected client's connection ended.
    Disconnected {
        /// The client that left.
        client_id: &'a str,
    },
    /// A message was accepted for routing, from a network client (`None`: from the broker
    /// itself, a bridge or the host program).
    Message {
        /// The publishing client.
        client_id: Option<&'a str>,
        /// The topic, as routed (with the listener's mount point).
        topic: &'a str,
        /// The payload.
        payload: &'a [u8],
        /// The QoS it was published at.
        qos: QoS,
        /// Whether it was published to be retained.
        retain: bool,
    },
}

/// Decides a CONNECT.
pub type AuthenticateHook = Box<dyn FnMut(&ConnectRequest<'_>) -> Verdict + Send>;
/// Decides a PUBLISH (or a will): the client, the topic, the QoS and the retain flag.
pub type PublishHook = Box<dyn FnMut(&ClientInfo<'_>, &str, QoS, bool) -> Verdict + Send>;
/// Decides one topic filter of a SUBSCRIBE.
pub type SubscribeHook = Box<dyn FnMut(&ClientInfo<'_>, &str) -> Verdict + Send>;
/// Decides one delivery: the receiving client id, its username and the topic.
pub type DeliverHook = Box<dyn FnMut(&str, Option<&str>, &str) -> bool + Send>;
/// Sees what happened.
pub type ObserveHook = Box<dyn FnMut(&Event<'_>) + Send>;

/// The hooks set on the [`crate::BrokerBuilder`].
#[derive(Default)]
pub struct Hooks {
    pub(crate) authenticate: Option<AuthenticateHook>,
    pub(crate) publish: Option<PublishHook>,
    pub(crate) subscribe: Option<SubscribeHook>,
    pub(crate) deliver: Option<DeliverHook>,
    pub(crate) observe: Option<ObserveHook>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("authenticate", &self.authenticate.is_some())
            .field("publish", &self.publish.is_some())
            .field("subscribe", &self.subscribe.is_some())
            .field("deliver", &self.deliver.is_some())
            .field("observe", &self.observe.is_some())
            .finish()
    }
}

impl Hooks {
    /// No hook is set.
    pub fn is_empty(&self) -> bool {
        self.authenticate.is_none()
            && self.publish.is_none()
            && self.subscribe.is_none()
            && self.deliver.is_none()
            && self.observe.is_none()
    }
}

/// Runs a deciding hook; a panic counts as a refusal.
fn decide(what: &str, hook: impl FnOnce() -> Verdict) -> Verdict {
    panic::catch_unwind(AssertUnwindSafe(hook)).unwrap_or_else(|_| {
        error!("The {what} hook panicked; the request is refused.");
        Verdict::Deny(ReasonCode::UNSPECIFIED_ERROR)
    })
}

impl Router {
    /// Takes the host program's hooks.
    pub fn set_hooks(&mut self, hooks: Hooks) {
        self.hooks = (!hooks.is_empty()).then(|| Box::new(hooks));
    }

    /// Whether the link is one of a listener's, and so subject to the hooks.
    fn client_info<'a>(&self, link: &'a Link, username: Option<&'a str>) -> Option<ClientInfo<'a>> {
        if usize::from(link.listener) >= self.config.listener_options().count() {
            return None;
        }
        let tls = self
            .config
            .listeners
            .get(usize::from(link.listener))
            .is_some_and(|l| l.kind == ListenerKind::Tls);
        let address = match &link.peer {
            Peer::Tcp(addr) => Some(*addr),
            // The proxy names the client's address only; its port is unknown.
            Peer::Forwarded(forwarded) => Some(SocketAddr::new(forwarded.client, 0)),
            Peer::Unix(_) | Peer::Bridge(_) | Peer::Host => None,
        };
        Some(ClientInfo {
            client_id: link.client_id.as_deref().unwrap_or(""),
            username,
            address,
            tls,
            listener: usize::from(link.listener),
        })
    }

    /// Asks one of the hooks about the client on link `key`: `ask` picks the hook from the
    /// hooks and calls it, `None` when it is not set. The hooks are taken out of the router
    /// meanwhile, so the question can borrow the link; a link that is not a listener's (the
    /// broker's own) is not asked about.
    fn ask_about_client(
        &mut self,
        key: usize,
        username: Option<&str>,
        ask: impl FnOnce(&mut Hooks, ClientInfo<'_>) -> Option<Verdict>,
    ) -> Verdict {
        let Some(mut hooks) = self.hooks.take() else {
            return Verdict::Allow;
        };
        let verdict = self
            .links
            .get(key)
            .and_then(|link| self.client_info(link, username))
            .and_then(|client| ask(&mut hooks, client));
        self.hooks = Some(hooks);
        verdict.unwrap_or(Verdict::Allow)
    }

    /// The authenticate hook on a CONNECT whose client id is `client_id`.
    pub(super) fn hook_authenticate(
        &mut self,
        key: usize,
        client_id: &str,
        username: Option<&str>,
        password: Option<&[u8]>,
    ) -> Verdict {
        self.ask_about_client(key, username, |hooks, client| {
            let hook = hooks.authenticate.as_mut()?;
            let client = ClientInfo {
                client_id,
                ..client
            };
            let request = ConnectRequest { client, password };
            Some(decide("authenticate", || hook(&request)))
        })
    }

    /// The publish hook for a PUBLISH (or a will) from the client on link `key`.
    pub(super) fn hook_publish(
        &mut self,
        key: usize,
        username: Option<&str>,
        topic: &str,
        qos: QoS,
        retain: bool,
    ) -> Verdict {
        self.ask_about_client(key, username, |hooks, client| {
            let hook = hooks.publish.as_mut()?;
            Some(decide("publish", || hook(&client, topic, qos, retain)))
        })
    }

    /// The subscribe hook for one filter of a SUBSCRIBE from the session's client.
    pub(super) fn subscribe_verdict(&mut self, session_key: usize, filter: &str) -> Verdict {
        let Some(session) = self.sessions.get(session_key) else {
            return Verdict::Allow;
        };
        let (Some(key), username) = (session.link(), session.username.clone()) else {
            return Verdict::Allow;
        };
        self.ask_about_client(key, username.as_deref(), |hooks, client| {
            let hook = hooks.subscribe.as_mut()?;
            Some(decide("subscribe", || hook(&client, filter)))
        })
    }

    /// The delivery hook on a message for `session_key` (the broker's own sessions are not
    /// asked about).
    pub(super) fn delivery_allowed(&mut self, session_key: usize, topic: &str) -> bool {
        let listeners = self.config.listener_options().count();
        match self.sessions.get(session_key) {
            Some(session) => deliver_allowed(&mut self.hooks, listeners, session, topic),
            None => true,
        }
    }

    /// The event hook on a message accepted for routing.
    pub(super) fn observe_message(&mut self, message: &Message, publisher: Option<usize>) {
        let listeners = self.config.listener_options().count();
        let client_id = publisher
            .and_then(|key| self.sessions.get(key))
            .filter(|session| usize::from(session.listener) < listeners)
            .map(|session| Arc::clone(&session.client_id));
        self.hook_event(&Event::Message {
            client_id: client_id.as_deref(),
            topic: &message.topic,
            payload: &message.payload,
            qos: message.qos,
            retain: message.retain,
        });
    }

    /// The event hook on an accepted CONNECT.
    pub(super) fn observe_connected(&mut self, key: usize, username: Option<&str>) {
        self.ask_about_client(key, username, |hooks, client| {
            tell(hooks.observe.as_mut(), &Event::Connected(client));
            None
        });
    }

    /// The event hook on the end of a connected client's link.
    pub(super) fn observe_disconnected(&mut self, key: usize) {
        let Some(link) = self.links.get(key) else {
            return;
        };
        if usize::from(link.listener) >= self.config.listener_options().count() {
            return;
        }
        let client_id = link.client_id.clone().unwrap_or_else(|| Arc::from(""));
        self.hook_event(&Event::Disconnected {
            client_id: &client_id,
        });
    }

    /// Tells the observer, if there is one.
    pub(super) fn hook_event(&mut self, event: &Event) {
        tell(self.hooks.as_mut().and_then(|h| h.observe.as_mut()), event);
    }

    /// Whether any hook wants to see deliveries or events, so the hot paths skip the rest.
    pub(super) fn has_hooks(&self) -> bool {
        self.hooks.is_some()
    }
}

/// Tells `observer` of `event`; its panic is logged and forgotten.
fn tell(observer: Option<&mut ObserveHook>, event: &Event) {
    if let Some(observe) = observer
        && panic::catch_unwind(AssertUnwindSafe(|| observe(event))).is_err()
    {
        error!("The event hook panicked; the broker carries on.");
    }
}

/// The delivery hook, for callers that hold the session apart from the router.
pub(super) fn deliver_allowed(
    hooks: &mut Option<Box<Hooks>>,
    listeners: usize,
    session: &Session,
    topic: &str,
) -> bool {
    if usize::from(session.listener) >= listeners {
        return true;
    }
    let Some(hook) = hooks.as_mut().and_then(|h| h.deliver.as_mut()) else {
        return true;
    };
    let (client_id, username) = (&*session.client_id, session.username.as_deref());
    panic::catch_unwind(AssertUnwindSafe(|| hook(client_id, username, topic))).unwrap_or_else(
        |_| {
            error!("The delivery hook panicked; the message is not delivered to {client_id}.");
            false
        },
    )
}
