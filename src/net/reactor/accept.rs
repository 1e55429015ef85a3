//! Accepting connections: drained to `WouldBlock`, and paused rather than spun when the process
//! runs out of descriptors or memory.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use mio::net::TcpStream;
use mio::{Interest, Token};

use super::{ACCEPT_PAUSE, FIRST_CLOSING, Reactor};
use crate::config::ListenerKind;
use crate::logging::CONNECTION_TARGET;

/// A process short of descriptors may stay short for a long time, hovering at its limit; one
/// warning per this period says so without flooding the log.
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(10);
use crate::net::connection::Connection;
use crate::net::listener::os_message;
use crate::net::transport::Transport;

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
            let kind = slot.listener.kind;
            let config_index = slot.listener.config_index;
            let port = slot.listener.addr.port();
            match slot.listener.socket.accept() {
                Ok((stream, peer)) => {
                    // mosquitto's line, which fail2ban filters for it match on.
                    info!(target: CONNECTION_TARGET, "New connection from {peer} on port {port}.");
                    self.add_connection(stream, kind, peer, now, config_index);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if accept_error_is_transient(&e) => {
                    debug!("accept on {}: {}", slot.listener.addr, os_message(&e));
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
                            slot.listener.addr,
                            os_message(&e)
                        );
                    }
                    return;
                }
            }
        }
    }

    /// Registers an accepted socket and opens its router link. On a TLS listener the link is
    /// opened before the handshake, so the router's CONNECT timeout covers the handshake too:
    /// a client that never finishes it is closed like one that never sends CONNECT.
    fn add_connection(
        &mut self,
        stream: TcpStream,
        kind: ListenerKind,
        peer: SocketAddr,
        now: Instant,
        config_index: usize,
    ) {
        let entry = self.connections.vacant_entry();
        let token = Token(entry.key());
        if token.0 >= FIRST_CLOSING {
            warn!("connection from {peer} refused: no token left");
            return;
        }
        if let Err(e) = stream.set_nodelay(true) {
            debug!("TCP_NODELAY on {peer}: {}", os_message(&e));
        }
        let mut transport = match kind {
            ListenerKind::Plain => Transport::Plain(stream),
            ListenerKind::Tls => match self.tls.as_ref().map(|tls| tls.accept(stream)) {
                Some(Ok(transport)) => transport,
                Some(Err(e)) => {
                    debug!("connection from {peer} dropped: {e}");
                    return;
                }
                // Not reached: a TLS listener without a certificate is refused at bind time.
                None => {
                    warn!("connection from {peer} refused: no TLS certificate");
                    return;
                }
            },
        };
        // A handshake may have to wait for the socket to take its messages.
        let establishing = transport.establishing();
        let interest = if establishing {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let registered = match transport.socket() {
            Some(socket) => self.poll.registry().register(socket, token, interest),
            None => Ok(()),
        };
        if let Err(e) = registered {
            warn!("connection from {peer} dropped: {}", os_message(&e));
            return;
        }
        let link = self.router.open_link(token.0, peer, now);
        self.router.set_link_listener(link, config_index);
        // The router logs the new connection.
        let mut connection = Connection::new(transport, link);
        connection.writable_registered = establishing;
        entry.insert(connection);
    }
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
