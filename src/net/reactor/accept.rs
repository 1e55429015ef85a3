//! Accepting connections: drained to `WouldBlock`, and paused rather than spun when the process
//! runs out of descriptors or memory.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use log::{debug, warn};
use mio::net::TcpStream;
use mio::{Interest, Token};

use super::{ACCEPT_PAUSE, FIRST_LISTENER, Reactor};

/// A process short of descriptors may stay short for a long time, hovering at its limit; one
/// warning per this period says so without flooding the log.
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(10);
use crate::net::connection::Connection;
use crate::net::listener::os_message;

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
            match slot.listener.socket.accept() {
                Ok((stream, peer)) => {
                    self.add_connection(stream, peer, now);
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

    fn add_connection(&mut self, mut stream: TcpStream, peer: SocketAddr, now: Instant) {
        let entry = self.connections.vacant_entry();
        let token = Token(entry.key());
        if token.0 >= FIRST_LISTENER {
            warn!("connection from {peer} refused: no token left");
            return;
        }
        if let Err(e) = stream.set_nodelay(true) {
            debug!("TCP_NODELAY on {peer}: {}", os_message(&e));
        }
        let registry = self.poll.registry();
        if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
            warn!("connection from {peer} dropped: {}", os_message(&e));
            return;
        }
        let link = self.router.open_link(token.0, peer, now);
        // The router logs the new connection.
        entry.insert(Connection::new(stream, link));
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
