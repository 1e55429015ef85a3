//! The broker turned by the host program's own event loop: one turn per call, a descriptor to
//! wait on, and the next deadline.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use super::LoopState;
use crate::embed::BrokerHandle;
use crate::net::Reactor;
use crate::router::Stats;

/// A started broker that runs one turn at a time, inside the host program's own event loop.
///
/// Wait for [`BrokerLoop::as_raw_fd`] to become readable (it is an epoll descriptor, so it
/// can be registered with another poll), or until [`BrokerLoop::next_deadline`], then call
/// [`BrokerLoop::poll_once`] with a zero timeout; or simply call `poll_once` with the
/// longest time the host can spare.
///
/// ```
/// use std::time::Duration;
/// use minibroker::{BrokerBuilder, LoopState};
/// use minibroker::embed::Publication;
///
/// let mut broker = BrokerBuilder::new().build()?.into_loop()?;
/// let handle = broker.handle();
/// let inbox = handle.subscribe("lights/#", minibroker::protocol::QoS::AtMostOnce)?;
/// handle.publish(Publication::new("lights/hall", "on"))?;
/// let message = loop {
///     broker.poll_once(Some(Duration::from_millis(10)))?;
///     if let Some(message) = inbox.try_recv() {
///         break message;
///     }
/// };
/// assert_eq!(&*message.payload, b"on");
/// handle.stop()?;
/// assert_eq!(broker.poll_once(None)?, LoopState::Stopped);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A `BrokerLoop` stays on the thread that made it (it is not `Send`): that thread is the
/// broker's, where the handle's waiting calls refuse to wait. Make the [`Broker`] on any thread
/// and call [`Broker::into_loop`] on the one that will turn it.
///
/// [`Broker`]: super::Broker
/// [`Broker::into_loop`]: super::Broker::into_loop
pub struct BrokerLoop {
    pub(super) reactor: Reactor,
    pub(super) handle: BrokerHandle,
    /// Not `Send`: the handle knows the loop's thread by the one that started it.
    pub(super) _on_this_thread: std::marker::PhantomData<*const ()>,
}

impl std::fmt::Debug for BrokerLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerLoop")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl BrokerLoop {
    /// One turn of the broker: waits for network events at most `timeout` (`None`: until the
    /// next event or timer), handles them and writes the output. After a stop (through a
    /// handle) the turn closes every connection and returns [`LoopState::Stopped`], as every
    /// later call does.
    pub fn poll_once(&mut self, timeout: Option<Duration>) -> io::Result<LoopState> {
        self.reactor.turn(timeout)
    }

    /// When the broker next has work without a network event (a keepalive, a retry, a
    /// delayed will); `None` when it waits only for events.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.reactor.next_deadline()
    }

    /// A handle for other threads, or for this one (its waiting calls refuse to wait here).
    pub fn handle(&self) -> BrokerHandle {
        self.handle.clone()
    }

    /// The statistics now, without waiting for a turn.
    pub fn stats(&self) -> Stats {
        self.reactor.stats()
    }

    /// The TCP addresses the broker listens on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.handle.local_addrs()
    }
}

impl AsRawFd for BrokerLoop {
    /// The loop's epoll descriptor: readable when `poll_once` has events to handle.
    fn as_raw_fd(&self) -> RawFd {
        self.reactor.poll_fd()
    }
}

impl Drop for BrokerLoop {
    /// Closes every connection and saves the store, as a stop does.
    fn drop(&mut self) {
        self.reactor.stop_now();
    }
}
