//! Accepting connections: drained to `WouldBlock`, refused at once beyond a listener's
//! `max_connections`, and paused rather than spun when the process runs out of descriptors or
//! memory.

use std::io;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use mio::net::TcpStream;
use mio::{Interest, Token};

use super::{ACCEPT_PAUSE, FIRST_CLOSING, MAX_REFUSING, Reactor};
use crate::config::ListenerKind;
use crate::logging::CONNECTION_TARGET;
use crate::net::TlsServer;
use crate::net::listener::Accepted;
use crate::router::{LinkId, ListenerId, Peer};

/// A process short of descriptors may stay short for a long time, hovering at its limit; one
/// warning per this period says so without flooding the log.
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(10);
use crate::net::connection::Connection;
use crate::net::listener::os_message;
use crate::net::transport::Transport;
#[cfg(feature = "websockets")]
use crate::net::websocket::{WebSocket, WsSettings};
#[cfg(feature = "websockets")]
use std::sync::Arc;

impl Reactor {
    pub(super) fn resume_listeners(&mut self, now: Instant) {
        for index in 0..self.listeners.len() {
            let slot = &mut self.listeners[index];
            if slot.paused_until.is_some_and(|until| until <= now) {
                slot.paused_until = None;
                // Edge-triggered: connections that queued up meanwhile raise no new event.
                self.accept(index, now);
            }
        }
    }

    /// Accepts until the listener would block or runs out of resources.
    pub(super) fn accept(&mut self, index: usize, now: Instant) {
        loop {
            let Some(slot) = self.listeners.get_mut(index) else {
                return;
            };
            if slot.paused_until.is_some() {
                return;
            }
            let listener = &slot.listener;
            let (kind, id, group, port) =
                (listener.kind, listener.id, listener.group, listener.port());
            let full = listener.max_connections.is_some_and(|max| {
                self.open_in_group
                    .get(group)
                    .is_some_and(|&open| open >= max)
            }) || self.max_total.is_some_and(|max| self.open_total >= max);
            let over = if full {
                Some(Over::Connections)
            } else if self.router.memory_full() {
                Some(Over::Memory)
            } else {
                None
            };
            match listener.socket.accept() {
                Ok((_, peer)) if over.is_some() && self.refusing >= MAX_REFUSING => {
                    // mosquitto's line; dropping the stream closes it before a byte is read.
                    let why = over.map_or("", Over::limit);
                    info!(
                        target: CONNECTION_TARGET,
                        "Client connection from {peer} denied: {why} exceeded."
                    );
                }
                Ok((stream, peer)) if let Some(over) = over => {
                    // Told why in its CONNACK rather than dropped, which clients retry at once.
                    // At the memory limit a client coming back to its session is let in at
                    // its CONNECT: taking its queue frees memory.
                    info!(
                        target: CONNECTION_TARGET,
                        "New connection from {peer} on port {port} over {}: its CONNECT will \
                         be refused.",
                        over.limit()
                    );
                    let origin = Origin {
                        kind,
                        id,
                        group: REFUSING,
                        #[cfg(feature = "websockets")]
                        websocket: listener.websocket.clone(),
                    };
                    if let Some(link) = self.add_connection(stream, origin, peer, now) {
                        match over {
                            Over::Connections => self.router.refuse_connect_over_limit(link),
                            Over::Memory => self.router.refuse_connect_for_memory(link),
                        }
                        self.refusing += 1;
                    }
                }
                Ok((stream, peer)) => {
                    // mosquitto's line, which fail2ban filters for it match on.
                    info!(target: CONNECTION_TARGET, "New connection from {peer} on port {port}.");
                    self.traffic.connections += 1;
                    let origin = Origin {
                        kind,
                        id,
                        // Listener sockets are few; were there 2^32, the connection would
                        // count against no group.
                        group: u32::try_from(group).unwrap_or(NO_GROUP),
                        #[cfg(feature = "websockets")]
                        websocket: listener.websocket.clone(),
                    };
                    self.add_connection(stream, origin, peer, now);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if accept_error_is_transient(&e) => {
                    debug!("accept on {listener}: {}", os_message(&e));
                }
                Err(e) => {
                    slot.paused_until = Some(now + ACCEPT_PAUSE);
                    let quiet = self
                        .accept_warned
                        .is_some_and(|at| now < at + ACCEPT_WARN_EVERY);
                    if !quiet {
                        self.accept_warned = Some(now);
                        warn!(
                            "cannot accept on {}: {}; pausing new connections",
                            slot.listener,
                            os_message(&e)
                        );
                    }
                    return;
                }
            }
        }
    }

    /// Registers an accepted socket and opens its router link. On a TLS or WebSockets listener
    /// the link is opened before the handshake, so the router's CONNECT timeout covers the
    /// handshake too: a client that never finishes it is closed like one that never sends
    /// CONNECT.
    fn add_connection(
        &mut self,
        stream: Accepted,
        origin: Origin,
        peer: Peer,
        now: Instant,
    ) -> Option<LinkId> {
        let entry = self.connections.vacant_entry();
        let token = Token(entry.key());
        if token.0 >= FIRST_CLOSING {
            warn!("connection from {peer} refused: no token left");
            return None;
        }
        let transport = match stream {
            Accepted::Unix(stream) => Some(Transport::Unix(stream)),
            Accepted::Tcp(stream) => tcp_transport(self.tls.as_ref(), stream, origin.kind, &peer),
        };
        #[cfg(feature = "websockets")]
        let transport = match (transport, &origin.websocket) {
            (Some(inner), Some(settings)) => {
                let ws = WebSocket::new(inner, Arc::clone(settings), peer.clone());
                Some(Transport::WebSocket(Box::new(ws)))
            }
            (transport, _) => transport,
        };
        let mut transport = transport?;
        // A handshake may have to wait for the socket to take its messages.
        let establishing = transport.establishing();
        let interest = if establishing {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let registered = match transport.source() {
            Some(socket) => self.poll.registry().register(socket, token, interest),
            None => Ok(()),
        };
        if let Err(e) = registered {
            warn!("connection from {peer} dropped: {}", os_message(&e));
            return None;
        }
        let link = self.router.open_link_on(token.0, origin.id, peer, now);
        // The listener's security settings follow the same position in the configuration.
        self.router.set_link_listener(link, origin.id.index());
        // The router logs the new connection.
        let mut connection = Connection::new(transport, link, origin.group);
        if let Some(open) = self.open_in_group.get_mut(origin.group as usize) {
            *open += 1;
            self.open_total += 1;
        }
        connection.writable_registered = establishing;
        entry.insert(connection);
        self.settle_io(token);
        Some(link)
    }
}

/// The transport of an accepted TCP socket: plain, or TLS with its handshake begun; `None`
/// when the handshake failed at once.
fn tcp_transport(
    tls: Option<&TlsServer>,
    stream: TcpStream,
    kind: ListenerKind,
    peer: &Peer,
) -> Option<Transport> {
    if let Err(e) = stream.set_nodelay(true) {
        debug!("TCP_NODELAY on {peer}: {}", os_message(&e));
    }
    match kind {
        ListenerKind::Plain => Some(Transport::Plain(stream)),
        ListenerKind::Tls => match tls.map(|tls| tls.accept(stream)) {
            Some(Ok(transport)) => Some(transport),
            Some(Err(e)) => {
                debug!("connection from {peer} dropped: {e}");
                None
            }
            // Not reached: a TLS listener without a certificate is refused at bind time.
            None => {
                warn!("connection from {peer} refused: no TLS certificate");
                None
            }
        },
    }
}

/// The limit a new connection came over.
#[derive(Debug, Clone, Copy)]
enum Over {
    /// `max_connections` or `max_connections_total`.
    Connections,
    Memory,
}

impl Over {
    fn limit(self) -> &'static str {
        match self {
            Over::Connections => "max_connections",
            Over::Memory => "memory_limit",
        }
    }
}

/// The group of a connection accepted over a limit: it counts against none.
pub(super) const REFUSING: u32 = u32::MAX;
/// The group of a connection that counts against no listener's `max_connections`.
const NO_GROUP: u32 = u32::MAX - 1;

/// The listener a connection came in on, as far as the reactor cares.
#[derive(Debug, Clone)]
struct Origin {
    kind: ListenerKind,
    /// The router's name for the listener.
    id: ListenerId,
    /// What `max_connections` counts it against: narrowed, as each connection keeps it.
    group: u32,
    /// A WebSockets listener's settings.
    #[cfg(feature = "websockets")]
    websocket: Option<Arc<WsSettings>>,
}

/// Accept errors about one connection (it was reset before we took it) rather than about us.
fn accept_error_is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::PermissionDenied
    ) || error.raw_os_error() == Some(71) // EPROTO
}
