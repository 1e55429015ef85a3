//! Outgoing bridge connections: the sockets under the [`crate::bridge`] state machines, in the
//! same event loop as everything else.
//!
//! An attempt resolves the address and starts a non-blocking TCP connect (from
//! `bridge_bind_address` if set) to each address the name gives, in turn, until one answers;
//! it then runs the TLS handshake when the bridge has a CA, and hands bytes both ways. Name
//! resolution uses the system resolver, which blocks: for an address written as numbers (or
//! `localhost`) it answers at once; a DNS name costs the loop one lookup per attempt, which is
//! why a gateway should name its upstream by address or keep a local resolver cache.
//!
//! - `setup.rs`: the bridges built at startup (TLS connectors), resolving and connecting.
//! - `probe.rs`: going back to the primary address from a secondary one.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::transport::Transport;
use crate::bridge::Bridge;
use crate::router::Router;
pub(crate) use setup::load_bridges;
use setup::{connect_to, resolve};

mod probe;
mod setup;

/// One bridge and its connection, when there is one.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) core: Bridge,
    conn: Option<Remote>,
    #[cfg(feature = "tls")]
    tls: Option<native_tls::TlsConnector>,
    /// A partial packet from the remote end.
    pending_in: Vec<u8>,
    /// The addresses the current attempt's host name resolved to and not yet tried, last
    /// first (`localhost` may give `::1` before `127.0.0.1`).
    candidates: Vec<SocketAddr>,
    /// A TCP connection to the primary address while connected to a secondary one, and when
    /// it started; only to see whether the primary answers.
    probe: Option<(TcpStream, Instant)>,
    next_probe: Option<Instant>,
    /// Reads stopped at their share of a turn with bytes maybe still waiting; the next turn
    /// reads on (edge-triggered readiness will not say so again).
    read_more: bool,
}

/// Reads from the remote end per turn before local clients get theirs.
const READS_PER_TURN: usize = 16;

#[derive(Debug)]
struct Remote {
    transport: Transport,
    /// The TCP connection is established (the connect completed).
    connected: bool,
    /// CONNECT was queued: the transport (TLS included) is up.
    up: bool,
    writable_registered: bool,
}

impl Outgoing {
    #[cfg(feature = "tls")]
    pub(crate) fn new(core: Bridge, tls: Option<native_tls::TlsConnector>) -> Outgoing {
        Outgoing {
            core,
            conn: None,
            tls,
            pending_in: Vec::new(),
            candidates: Vec::new(),
            probe: None,
            next_probe: None,
            read_more: false,
        }
    }

    #[cfg(not(feature = "tls"))]
    pub(crate) fn new(core: Bridge) -> Outgoing {
        Outgoing {
            core,
            conn: None,
            pending_in: Vec::new(),
            candidates: Vec::new(),
            probe: None,
            next_probe: None,
            read_more: false,
        }
    }

    /// Whether a read was cut short and continues next turn.
    pub(crate) fn read_more(&self) -> bool {
        self.read_more
    }

    /// Starts an attempt if one is due; failures to even start are losses like any other.
    pub(crate) fn maybe_connect(
        &mut self,
        router: &mut Router,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) {
        if self.conn.is_some() || !self.core.attempt_due(router, now) {
            return;
        }
        let index = self.core.address();
        let Some(address) = self.core.settings().addresses.get(index).cloned() else {
            return;
        };
        self.core
            .connecting(&format!("{}:{}", address.host, address.port), now);
        match resolve(&address) {
            Ok(mut found) => {
                found.reverse();
                self.candidates = found;
                self.connect_next(router, registry, token, now, "no address");
            }
            Err(e) => self.core.lost(router, &e, now),
        }
    }

    /// Starts a connect to the next address the host name resolved to; with none left, the
    /// attempt failed for `why` (the last address's error).
    fn connect_next(
        &mut self,
        router: &mut Router,
        registry: &Registry,
        token: Token,
        now: Instant,
        why: &str,
    ) {
        let mut why = why.to_owned();
        let bind = self.core.settings().bind_address.clone();
        while let Some(target) = self.candidates.pop() {
            let mut stream = match connect_to(target, bind.as_deref()) {
                Ok(stream) => stream,
                Err(e) => {
                    why = e;
                    continue;
                }
            };
            let interest = Interest::READABLE | Interest::WRITABLE;
            if let Err(e) = registry.register(&mut stream, token, interest) {
                why = e.to_string();
                continue;
            }
            self.conn = Some(Remote {
                transport: Transport::Plain(stream),
                connected: false,
                up: false,
                writable_registered: true,
            });
            return;
        }
        self.core.lost(router, &why, now);
    }

    /// A readiness event on the bridge's socket. A connect that failed moves on to the host's
    /// next address, if it has one.
    pub(crate) fn event(
        &mut self,
        router: &mut Router,
        registry: &Registry,
        token: Token,
        scratch: &mut [u8],
        now: Instant,
    ) {
        let Err(why) = self.advance(router, scratch, now) else {
            return;
        };
        let connecting = self.conn.as_ref().is_some_and(|c| !c.connected);
        if connecting && !self.candidates.is_empty() {
            if let Some(mut conn) = self.conn.take()
                && let Some(source) = conn.transport.source()
            {
                let _ = registry.deregister(source);
            }
            return self.connect_next(router, registry, token, now, &why);
        }
        self.close(router, &why, now);
    }

    fn advance(
        &mut self,
        router: &mut Router,
        scratch: &mut [u8],
        now: Instant,
    ) -> Result<(), String> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        if !conn.connected {
            let Transport::Plain(stream) = &conn.transport else {
                return Ok(());
            };
            if let Some(e) = stream.take_error().map_err(|e| e.to_string())? {
                return Err(e.to_string());
            }
            match stream.peer_addr() {
                Ok(_) => conn.connected = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(()),
                Err(e) => return Err(e.to_string()),
            }
            self.start_transport()?;
        }
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        if !conn.up {
            // Moves a TLS handshake along; plain TCP is up at once.
            conn.transport.write(&[]).or_else(would_block)?;
            if conn.transport.establishing() {
                return Ok(());
            }
            conn.up = true;
            self.core.transport_up(now);
        }
        self.read(router, scratch, now)
    }

    #[cfg(feature = "tls")]
    fn start_transport(&mut self) -> Result<(), String> {
        let (Some(conn), Some(connector)) = (self.conn.as_mut(), self.tls.as_ref()) else {
            return Ok(());
        };
        let Transport::Plain(stream) = std::mem::replace(&mut conn.transport, Transport::Failed)
        else {
            return Ok(());
        };
        let host = self
            .core
            .settings()
            .addresses
            .get(self.core.address())
            .map_or_else(String::new, |a| a.host.clone());
        conn.transport =
            Transport::connect_tls(connector, &host, stream).map_err(|e| e.to_string())?;
        Ok(())
    }

    #[cfg(not(feature = "tls"))]
    fn start_transport(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// Reads until the socket is drained, the turn's share is used or the memory budget holds
    /// the bridge's reads; every complete packet goes to the bridge.
    fn read(
        &mut self,
        router: &mut Router,
        scratch: &mut [u8],
        now: Instant,
    ) -> Result<(), String> {
        self.read_more = false;
        for _ in 0..READS_PER_TURN {
            let Some(conn) = self.conn.as_mut() else {
                return Ok(());
            };
            // Read again by the reactor's bridge turns once the budget allows.
            let held = !router.bridge_may_read();
            self.core.hold_reads(held);
            if held {
                return Ok(());
            }
            let n = match conn.transport.read(scratch) {
                Ok(0) => return Err("the remote end closed the connection".into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.to_string()),
            };
            let fresh = scratch.get(..n).unwrap_or_default();
            self.pending_in.extend_from_slice(fresh);
            let consumed = self.core.receive(router, &self.pending_in, now);
            self.pending_in.drain(..consumed.min(self.pending_in.len()));
            if self.pending_in.is_empty() {
                self.pending_in = Vec::new();
            }
            if let Some(why) = self.core.take_close() {
                return Err(why);
            }
        }
        self.read_more = true;
        Ok(())
    }

    /// Once per loop turn: timers, a due attempt, and the local side's deliveries.
    pub(crate) fn turn(
        &mut self,
        router: &mut Router,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> Option<Instant> {
        let next = self.core.tick(router, now);
        self.maybe_connect(router, registry, token, now);
        self.core.pump(router, now);
        if let Some(why) = self.core.take_close() {
            self.close(router, &why, now);
            return self.core.tick(router, now);
        }
        let probe = self.probe_primary(now);
        [next, probe].into_iter().flatten().min()
    }

    /// Writes what the bridge has for the remote end (once the store holds what its
    /// acknowledgements promise); a failed write ends the connection, and returns true.
    pub(crate) fn write_out(
        &mut self,
        router: &mut Router,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> bool {
        match self.write(registry, token) {
            Ok(()) => false,
            Err(why) => {
                self.close(router, &why, now);
                true
            }
        }
    }

    /// Writes what the bridge has for the remote end; WRITABLE stays registered while some
    /// remains (or a connect or handshake is under way).
    fn write(&mut self, registry: &Registry, token: Token) -> Result<(), String> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        if conn.up {
            while !self.core.output().is_empty() {
                match conn.transport.write(self.core.output()) {
                    Ok(0) => break,
                    Ok(n) => self.core.consume_output(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        let wanted = !conn.up || !self.core.output().is_empty();
        if wanted != conn.writable_registered {
            let interest = if wanted {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if let Some(source) = conn.transport.source() {
                registry
                    .reregister(source, token, interest)
                    .map_err(|e| e.to_string())?;
            }
            conn.writable_registered = wanted;
        }
        Ok(())
    }

    /// Ends the connection: the socket is closed, and the bridge plans its next attempt.
    pub(crate) fn close(&mut self, router: &mut Router, why: &str, now: Instant) {
        if let Some(mut conn) = self.conn.take() {
            conn.transport.shutdown();
        }
        self.pending_in = Vec::new();
        self.candidates.clear();
        self.read_more = false;
        self.probe = None;
        self.next_probe = None;
        self.core.lost(router, why, now);
    }

    /// The broker stops: the remote end is told (state 0, DISCONNECT) as far as the socket
    /// takes it now.
    pub(crate) fn shut_down(&mut self, router: &mut Router, now: Instant) {
        self.core.shut_down(router, now);
        if let Some(mut conn) = self.conn.take() {
            if conn.up {
                let _ = conn.transport.write(self.core.output());
            }
            conn.transport.shutdown();
        }
    }
}

fn would_block(e: io::Error) -> Result<usize, String> {
    if e.kind() == io::ErrorKind::WouldBlock {
        Ok(0)
    } else {
        Err(e.to_string())
    }
}
