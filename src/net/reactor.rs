//! The event loop: one `mio::Poll` turning socket readiness into router calls, and router output
//! into socket writes. It knows nothing of MQTT; the router decides what bytes mean.
//!
//! One loop turn (`turn`): poll, read the clock once, handle every event (accept, read, note
//! writability), run the router's timers, write each ready link's output once, then remove the
//! connections that ended during the turn. Removal waits for the end of the turn so no event is ever matched to a
//! slot that was freed (and possibly reused) earlier in the same batch.
//!
//! A connection the router asked to close leaves the router at once but not the loop: it moves
//! to the closing sockets ([`closing`]), which send its last output (the refusal or the reason),
//! shut down the sending side and discard what still arrives, for a second or 64 KiB at most.

use std::io;
use std::mem;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use log::info;
use mio::event::Event;
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

mod accept;
mod bridges;
mod closing;
mod flush;
mod host;
mod read;
mod signals;
mod turn;

use super::TlsServer;
use super::connection::Connection;
use super::listener::Listener;
use crate::config::Config;
use crate::disk::Store;
use crate::router::sys_tree::SysTree;
use crate::router::{LinkId, LinkLoss, Ready, Router};
use closing::{ClosingSockets, MAX_CLOSING};

/// What a SIGHUP asks of the program that runs the broker: a configuration read afresh (for
/// the `minibroker` command, its file and flags parsed again), or `None` to keep the running
/// one (the file no longer parses; the hook has said why). Called on the broker's thread.
pub type ReloadHook = Box<dyn FnMut() -> Option<Config> + Send>;

/// Wakes the loop from another thread (a [`crate::BrokerHandle`] with a request, or a stop).
pub(crate) const WAKER: Token = Token(usize::MAX);
/// Readable when a signal arrived (command-line use only).
const SIGNALS: Token = Token(usize::MAX - 1);
/// Listener `i` has token `FIRST_LISTENER + i`. Everything below is a slab key, so a connection's
/// token can never be mistaken for a listener's.
const FIRST_LISTENER: usize = usize::MAX - 1 - MAX_LISTENERS;
/// A socket being closed gracefully has token `FIRST_CLOSING + key` in its own slab; client
/// connections' keys stay below this.
const FIRST_CLOSING: usize = FIRST_LISTENER - MAX_CLOSING;
/// Bridge `i`'s socket has token `FIRST_BRIDGE + i`.
pub(crate) const FIRST_BRIDGE: usize = FIRST_CLOSING - MAX_BRIDGES;
/// The token every link of the host program's in-process client carries; no connection's.
pub(crate) const HOST_TOKEN: usize = FIRST_BRIDGE - 1;
/// More bridges than this are refused at bind time.
pub(crate) const MAX_BRIDGES: usize = 1024;
/// More listeners than this are refused at bind time.
pub(crate) const MAX_LISTENERS: usize = 1024;

/// Connections accepted over a limit only to be refused at their CONNECT, at once; each is
/// closed within the CONNECT timeout, so a flood of them costs at most this many sockets.
const MAX_REFUSING: usize = 64;
/// What `$SYS/broker/version` says.
const SYS_VERSION: &str = concat!("minibroker version ", env!("CARGO_PKG_VERSION"));
/// Reads per connection per turn before others get their go; the rest waits for the next turn,
/// which then polls without blocking (edge-triggered readiness will not be reported again).
const READS_PER_TURN: usize = 16;
/// The shared buffer every socket is read into; only partial packets are copied out of it.
const SCRATCH_SIZE: usize = 64 * 1024;

/// The read buffer shared by every socket, made at the first read: a broker no client has
/// reached yet does not hold it.
#[derive(Default)]
struct Scratch(Vec<u8>);

impl Scratch {
    fn get(&mut self) -> &mut [u8] {
        if self.0.is_empty() {
            self.0 = vec![0; SCRATCH_SIZE];
        }
        &mut self.0
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}
/// How long to stop accepting when out of file descriptors or memory, instead of spinning on a
/// listener that stays readable.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
const EVENTS_CAPACITY: usize = 1024;

/// Why a connection is being removed: a loss the router did not ask for, or its own request.
type Ending = Option<LinkLoss>;

struct ListenerSlot {
    listener: Listener,
    /// Accepting is suspended until then, after running out of descriptors or memory.
    paused_until: Option<Instant>,
}

pub(crate) struct Reactor {
    poll: Poll,
    listeners: Vec<ListenerSlot>,
    /// Connections open on each listener group ([`Listener::group`]), for `max_connections`.
    open_in_group: Vec<u32>,
    /// Connections open over every listener, for `max_connections_total`.
    open_total: u32,
    max_total: Option<u32>,
    /// Connections accepted over a limit, waiting for their CONNECT to refuse it: at most
    /// [`MAX_REFUSING`], beyond which the extra ones are dropped at once.
    refusing: usize,
    connections: Slab<Connection>,
    router: Router,
    /// The certificate for TLS listeners; `None` when there are none.
    tls: Option<TlsServer>,
    /// The persistence store, written each turn before the output; `None` without persistence.
    store: Option<Store>,
    signals: Option<Signals>,
    /// Where a SIGHUP gets the configuration read afresh.
    reload: Option<ReloadHook>,
    stop: Arc<AtomicBool>,
    scratch: Scratch,
    /// Links to write; filled by the router, carried to the next turn when it refills output.
    ready: Vec<Ready>,
    /// Connections whose socket became writable this turn.
    writable: Vec<Token>,
    /// Connections that hit [`READS_PER_TURN`] and still have bytes waiting.
    continue_reading: Vec<(Token, LinkId)>,
    /// Connections to remove at the end of the turn.
    doomed: Vec<(Token, LinkId, Ending)>,
    /// Sockets the router is done with, sending their last output before they close.
    closing: ClosingSockets,
    /// Bound on a connection's partial packet, in bytes; the router should refuse an oversize
    /// packet from its fixed header long before this is reached.
    max_pending_in: usize,
    turn: u64,
    /// The broker's bridges to other brokers.
    bridges: bridges::Bridges,
    /// When running out of descriptors or memory was last logged.
    accept_warned: Option<Instant>,
    stopping: bool,
    /// The host program's requests and subscriptions, for an embedded broker.
    host: Option<crate::embed::Host>,
    /// The waker fired this turn: the host program asked something.
    host_woken: bool,
    events: Events,
    /// The router's next timer, as of the last turn.
    deadline: Option<Instant>,
    started: Instant,
    /// The loop has shut down; further turns do nothing.
    stopped: bool,
    /// `$SYS/broker/...`, every `sys_interval`; `None` when it is 0.
    sys: Option<SysTree>,
    traffic: Traffic,
    /// What the connections hold in memory, as last settled (see `Connection::footprint`).
    io_bytes: usize,
}

/// What only the loop sees of the traffic, for the statistics.
#[derive(Debug, Default, Clone, Copy)]
struct Traffic {
    bytes_received: u64,
    bytes_sent: u64,
    /// Connections accepted since start.
    connections: u64,
}

/// What one turn of the loop ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The broker goes on.
    Running,
    /// The broker was asked to stop and has closed everything.
    Stopped,
}

impl Reactor {
    /// Registers the listeners (and the signals when `handle_signals`) with `poll`, whose waker
    /// must already be registered under [`WAKER`].
    pub(crate) fn new(
        poll: Poll,
        listeners: Vec<Listener>,
        router: Router,
        tls: Option<TlsServer>,
        stop: Arc<AtomicBool>,
        handle_signals: bool,
        reload: Option<ReloadHook>,
    ) -> io::Result<Reactor> {
        let max_packet_size = router.max_packet_size();
        let sys_interval = router.config().sys_interval;
        let mut slots = Vec::with_capacity(listeners.len());
        for (i, mut listener) in listeners.into_iter().enumerate() {
            let token = Token(FIRST_LISTENER + i);
            poll.registry()
                .register(listener.socket.source(), token, Interest::READABLE)?;
            slots.push(ListenerSlot {
                listener,
                paused_until: None,
            });
        }
        let signals = if handle_signals {
            let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2])?;
            poll.registry()
                .register(&mut signals, SIGNALS, Interest::READABLE)?;
            Some(signals)
        } else {
            None
        };
        // `Broker::run_with` logs the TCP listeners by address; a Unix socket has none, so it
        // is logged here, once signals are handled, as those lines are.
        for slot in slots.iter().filter(|s| s.listener.tcp_addr().is_none()) {
            info!("listening on {}", slot.listener);
        }
        Ok(Reactor {
            poll,
            open_in_group: vec![0; slots.len()],
            open_total: 0,
            max_total: router.config().max_connections_total,
            refusing: 0,
            listeners: slots,
            connections: Slab::new(),
            router,
            tls,
            store: None,
            signals,
            reload,
            stop,
            scratch: Scratch::default(),
            ready: Vec::new(),
            writable: Vec::new(),
            continue_reading: Vec::new(),
            doomed: Vec::new(),
            closing: ClosingSockets::default(),
            max_pending_in: usize::try_from(max_packet_size).unwrap_or(usize::MAX),
            turn: 0,
            bridges: bridges::Bridges::default(),
            accept_warned: None,
            stopping: false,
            host: None,
            host_woken: false,
            events: Events::with_capacity(EVENTS_CAPACITY),
            deadline: None,
            sys: SysTree::new(sys_interval, SYS_VERSION, Instant::now()),
            started: Instant::now(),
            stopped: false,
            traffic: Traffic::default(),
            io_bytes: 0,
        })
    }

    /// The persistence store, written each turn from now on.
    pub(crate) fn with_store(mut self, store: Option<Store>) -> Reactor {
        self.store = store;
        self
    }

    fn dispatch(&mut self, event: &Event, now: Instant) {
        match event.token() {
            WAKER => {
                if self.stop.load(Ordering::Acquire) {
                    self.stopping = true;
                }
                self.host_woken = true;
            }
            SIGNALS => self.take_signals(),
            Token(t) if t >= FIRST_LISTENER => self.accept(t - FIRST_LISTENER, now),
            Token(t) if t >= FIRST_CLOSING => {
                let registry = self.poll.registry();
                self.closing
                    .event(registry, t - FIRST_CLOSING, self.scratch.get());
            }
            Token(t) if (FIRST_BRIDGE..FIRST_CLOSING).contains(&t) => {
                self.bridge_event(t - FIRST_BRIDGE, now);
            }
            token => self.connection_event(token, event, now),
        }
    }

    /// Queues a connection for removal at the end of the turn.
    fn doom(&mut self, token: Token, link: LinkId, ending: Ending) {
        if let Some(conn) = self.connections.get_mut(token.0) {
            conn.closing = true;
            self.doomed.push((token, link, ending));
        }
    }

    /// Closes the connections that ended this turn and tells the router.
    fn remove_doomed(&mut self, now: Instant) {
        for (token, link, ending) in mem::take(&mut self.doomed) {
            match self.connections.get(token.0) {
                Some(conn) if conn.link == link => {}
                _ => continue, // already removed: doomed twice in one turn
            }
            let mut conn = self.connections.remove(token.0);
            self.io_bytes = self.io_bytes.saturating_sub(conn.charged as usize);
            if let Some(open) = self.open_in_group.get_mut(conn.group as usize) {
                *open = open.saturating_sub(1);
                self.open_total = self.open_total.saturating_sub(1);
            } else if conn.group == accept::REFUSING {
                self.refusing = self.refusing.saturating_sub(1);
            }
            // The router logs the client's departure; it knows who the client was.
            let Some(loss) = ending else {
                // The router asked, and its last output is a refusal or a reason that must
                // arrive. The link goes first, so nothing more from the client is processed.
                let output = self.router.output(link).to_vec();
                self.router.close_link(link, LinkLoss::Requested, now);
                let registry = self.poll.registry();
                self.closing
                    .start(registry, conn.transport, output, now, self.scratch.get());
                continue;
            };
            if conn.transport.farewell_pending() {
                // The transport's own last bytes (a WebSocket close frame, an HTTP answer)
                // go out before the socket closes, as a refusal would.
                self.router.close_link(link, loss, now);
                let registry = self.poll.registry();
                (self.closing).start(
                    registry,
                    conn.transport,
                    Vec::new(),
                    now,
                    self.scratch.get(),
                );
                continue;
            }
            // A loss: the peer or its socket is gone, so there is nobody left to tell.
            self.release(&mut conn);
            self.router.close_link(link, loss, now);
        }
    }

    fn release(&self, conn: &mut Connection) {
        // Deregistering a socket that is about to be closed only fails if it was never
        // registered, which cannot happen here. A failed TLS handshake has closed it already.
        if let Some(socket) = conn.transport.source() {
            let _ = self.poll.registry().deregister(socket);
        }
        conn.shutdown();
    }
}
