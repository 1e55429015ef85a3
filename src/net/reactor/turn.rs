//! One turn of the loop: poll, read the clock once, handle every event, run the timers,
//! commit the store, write each ready link's output once, then remove the connections that
//! ended; and the loop's end, which closes everything.

use std::io;
use std::mem;
use std::time::{Duration, Instant};

use log::info;
use mio::Events;

use super::{Reactor, Turn};
use crate::disk::Store;
use crate::logging;
use crate::net::connection::Connection;
use crate::router::LinkLoss;
use crate::router::sys_tree::SysTree;

impl Reactor {
    /// Runs until asked to stop (by the waker or a signal), then closes every connection.
    pub(crate) fn run(mut self) -> io::Result<()> {
        while self.turn(None)? == Turn::Running {}
        Ok(())
    }

    /// One turn: waits for events at most until the next timer or `max_wait` (`None`: no
    /// limit of the caller's), handles them, runs the timers, writes the output.
    pub(crate) fn turn(&mut self, max_wait: Option<Duration>) -> io::Result<Turn> {
        if self.stopped {
            return Ok(Turn::Stopped);
        }
        let now = Instant::now();
        if self.turn == 0 {
            self.deadline = self.router.tick(now);
        }
        let timeout = match (self.poll_timeout(self.deadline, now), max_wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut events = mem::replace(&mut self.events, Events::with_capacity(0));
        let polled = self.poll.poll(&mut events, timeout);
        if let Err(e) = polled
            && e.kind() != io::ErrorKind::Interrupted
        {
            self.events = events;
            return Err(e);
        }
        let now = Instant::now();
        self.turn += 1;
        self.resume_listeners(now);
        self.continue_reads(now);
        for event in events.iter() {
            self.dispatch(event, now);
        }
        self.events = events;
        self.host_requests(now);
        self.closing.expire(self.poll.registry(), now);
        if self.stopping {
            self.shut_down(now);
            self.stopped = true;
            return Ok(Turn::Stopped);
        }
        self.deadline = self.router.tick(now);
        self.publish_sys(now);
        self.bridge_turns(now);
        // What this turn's acknowledgements promise is in the store before they leave.
        if let Some(store) = self.store.as_mut() {
            store.commit(&mut self.router, now);
            store.tick(&mut self.router, now);
        }
        self.flush(now);
        self.host_pump(now);
        self.bridge_writes(now);
        self.remove_doomed(now);
        self.settle_memory(now);
        // `log_dest topic`: this turn's log lines go to their $SYS topics.
        let router = &mut self.router;
        logging::publish_topic_lines(|topic, line| {
            router.publish_internal(topic, line.as_bytes(), now);
        });
        // Writes and closes may have produced output (freed window, a will); write it next
        // turn, which then does not block.
        self.router.take_ready(&mut self.ready);
        Ok(Turn::Running)
    }

    /// Closes everything now, as a stop does, unless the loop has stopped already.
    pub(crate) fn stop_now(&mut self) {
        if !self.stopped {
            self.shut_down(Instant::now());
            self.stopped = true;
        }
    }

    /// When the loop next has something to do without an event: a timer, or work left over
    /// (then now).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        self.poll_timeout(self.deadline, now).map(|wait| now + wait)
    }

    /// The statistics, with what only the loop knows filled in.
    pub(crate) fn stats(&self) -> crate::router::Stats {
        let mut stats = self.router.stats();
        stats.uptime = self.started.elapsed();
        stats.bytes_received = self.traffic.bytes_received;
        stats.bytes_sent = self.traffic.bytes_sent;
        stats.connections = self.traffic.connections;
        stats.sockets = self.connections.len() as u64;
        let pending: usize = self.connections.iter().map(|(_, c)| c.pending_len()).sum();
        stats.heap_current += (self.scratch.len() + pending) as u64;
        stats
    }

    /// `$SYS/broker/...` when its interval is due: retained, from the broker itself.
    fn publish_sys(&mut self, now: Instant) {
        if !self.sys.as_ref().is_some_and(|sys| sys.due(now)) {
            return;
        }
        let stats = self.stats();
        let Some(sys) = self.sys.as_mut() else {
            return;
        };
        for (topic, payload) in sys.update(&stats, now) {
            self.router
                .publish_retained_internal(&topic, payload.as_bytes(), now);
        }
    }

    /// The poll's descriptor, for a host that waits on it in its own event loop.
    pub(crate) fn poll_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.poll.as_raw_fd()
    }

    pub(super) fn poll_timeout(&self, deadline: Option<Instant>, now: Instant) -> Option<Duration> {
        let host_busy = self
            .host
            .as_ref()
            .is_some_and(crate::embed::Host::wants_turn);
        if !self.ready.is_empty() || !self.continue_reading.is_empty() || host_busy {
            return Some(Duration::ZERO);
        }
        let resume = self.listeners.iter().filter_map(|s| s.paused_until).min();
        let closing = self.closing.next_deadline();
        let store = self.store.as_ref().and_then(Store::next_deadline);
        let bridges = self.bridges.next;
        let sys = self.sys.as_ref().map(SysTree::next_deadline);
        let next = [deadline, resume, closing, store, bridges, sys]
            .into_iter()
            .flatten()
            .min();
        next.map(|at| at.saturating_duration_since(now))
    }

    /// Stops accepting, gives every connection a last write, and closes them all.
    pub(super) fn shut_down(&mut self, now: Instant) {
        for mut slot in self.listeners.drain(..) {
            let _ = self
                .poll
                .registry()
                .deregister(slot.listener.socket.source());
        }
        self.shut_down_bridges(now);
        // MQTT 5 clients get DISCONNECT 0x8B in their output before the last write, which
        // may carry acknowledgements of this turn: the store is written first.
        self.router.shut_down(now);
        if let Some(store) = self.store.as_mut() {
            store.commit(&mut self.router, now);
        }
        // The host's receipts of this turn promise what the commit has just written.
        if let Some(host) = self.host.as_mut() {
            host.shut_down(&mut self.router, now);
        }
        self.router.take_ready(&mut self.ready);
        self.ready.clear();
        let mut connections: Vec<Connection> = self.connections.drain().collect();
        for conn in &mut connections {
            let output = self.router.output(conn.link);
            if !output.is_empty()
                && let Ok(written) = conn.write_once(output)
                && written > 0
            {
                self.router.consume_output(conn.link, written, now);
            }
        }
        for mut conn in connections {
            self.release(&mut conn);
            self.router.close_link(conn.link, LinkLoss::Shutdown, now);
        }
        // Those still closing gracefully have had their chance; the broker does not wait.
        self.closing.close_all(self.poll.registry());
        // After the links closed: sessions offline, wills published, all of it saved.
        if let Some(store) = self.store.as_mut() {
            store.close(&mut self.router, now);
        }
        info!("stopped");
    }
}
