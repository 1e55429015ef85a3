//! What the router holds for its clients, counted as it changes, and the memory budget's
//! actions on the router's state (see `memory` for the policy).
//!
//! Counting must cost next to nothing per delivery, so nothing is scanned: messages count
//! themselves while they live (`Charge`); a session's queue and window are settled when they
//! grow or drain, and a link's output when it is written out, when the reactor takes it, and,
//! under a budget, at every write, the capacity charged kept beside them; links, sessions,
//! subscriptions and retained topics cost a fixed amount each, measured once and rounded up.
//! The reactor adds what it holds per connection. Under a budget the total is thus always
//! current, and assessing it after every PUBLISH costs a sum and a comparison while memory is
//! below where an episode starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use log::{info, warn};

use super::link::Link;
use super::memory::{Budget, MemoryCounters, PATIENCE, Pressure, RELIEF_PERCENT, Turn};
use super::message::Message;
use super::retain::RetainSource;
use super::session::{Flight, Queued, Session};
use super::{Ready, Router};
use crate::protocol::{PacketId, QoS};

/// A link's own record, its slab slot, its rules and its client id, rounded up.
const LINK_COST: usize = size_of::<Link>() + 96;
/// A session's record, its client id twice over (the session and the index by id), rounded up.
const SESSION_COST: usize = size_of::<Session>() + 160;
/// One subscription: its entry in the table and its filter's levels, rounded up.
const SUBSCRIPTION_COST: usize = 192;
/// One retained topic's node in the ordered store, beside the message itself.
const RETAINED_TOPIC_COST: usize = 64;
/// A retained message's recorded publisher (`check_retain_source`): its hash table entry and
/// the names it may keep alive after the session has gone, rounded up.
const RETAINED_SOURCE_COST: usize = size_of::<RetainSource>() + 96;
const QUEUED_COST: usize = size_of::<Queued>();
const FLIGHT_COST: usize = size_of::<(PacketId, Flight)>();

/// A link's output above this is not added to while the broker is under pressure: new
/// deliveries wait in the session's queue, which holds a shared message instead of an encoded
/// copy per link.
const PRESSURE_OUTPUT_HIGH_WATER: usize = 16 * 1024;
/// A link whose unwritten output is above this is not read while the broker is under pressure
/// (see [`Router::read_pause_output`]).
const PRESSURE_READ_PAUSE: usize = 64 * 1024;
/// The same, without pressure: replies (PINGRESP, PUBACK) to a client that sends without
/// reading would otherwise grow without bound.
const READ_PAUSE: usize = 1024 * 1024;
/// Episodes are logged at most this often; the next report counts those in between.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// The router's share of the memory budget.
#[derive(Debug, Default)]
pub struct MemoryUse {
    pub budget: Budget,
    /// Bytes of the messages alive, shared with each message's `Charge`.
    messages: Arc<AtomicUsize>,
    /// Link output capacity, as last settled.
    pub outputs: usize,
    /// Session queue and window capacity, as last settled.
    pub entries: usize,
    /// What the reactor holds for its connections, as it last said.
    io: usize,
    /// Publishers not read during the episode, to read again at its end.
    pub paused: Vec<Ready>,
    /// See [`Router::output_high_water`].
    high_water: usize,
    /// When an episode was last logged, and how many went unlogged since: a broker hovering
    /// at its threshold may start and end episodes many times a second.
    last_report: Option<Instant>,
    unreported: u64,
    /// Whether the episode under way was logged, so its end is too.
    reporting: bool,
}

impl MemoryUse {
    pub fn new(limit: usize) -> MemoryUse {
        MemoryUse {
            budget: Budget::new(limit),
            high_water: super::link::OUTPUT_HIGH_WATER,
            ..MemoryUse::default()
        }
    }

    /// Has `message` count against the budget from now on, when a budget is set.
    pub fn charge(&self, message: &Message) {
        if self.budget.limit() > 0 {
            message.charge.set(&self.messages, message.footprint());
        }
    }

    /// Counts a write to `link`'s output, under a budget: settling at every write costs a
    /// comparison, where settling the links written to before each assessment would go over
    /// all of them again after every PUBLISH. Without a budget the output is counted when the
    /// reactor takes the link.
    #[inline]
    pub fn count_output(&mut self, link: &mut Link) {
        if self.budget.limit() > 0 {
            settle_output(&mut self.outputs, link);
        }
    }

    /// What messages made outside `route` (restored from the store) are charged to, when a
    /// budget is set.
    pub fn meter(&self) -> Option<Arc<AtomicUsize>> {
        (self.budget.limit() > 0).then(|| Arc::clone(&self.messages))
    }
}

/// Brings the outputs' total up to date with `link`'s output buffer.
#[inline]
pub fn settle_output(outputs: &mut usize, link: &mut Link) {
    let capacity = link.output.capacity();
    // Most writes fit the room the buffer has: one comparison then.
    if capacity == link.charged_output as usize {
        return;
    }
    let capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
    *outputs = outputs.saturating_sub(link.charged_output as usize) + capacity as usize;
    link.charged_output = capacity;
}

/// Brings the entries' total up to date with `session`'s queue and window.
pub fn settle_entries(entries: &mut usize, session: &mut Session) {
    let capacity = session.delivery().queue.capacity() * QUEUED_COST
        + session.delivery().inflight.capacity() * FLIGHT_COST;
    let capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
    *entries = entries.saturating_sub(session.charged_entries as usize) + capacity as usize;
    session.charged_entries = capacity;
}

impl Router {
    /// Bytes the broker holds for its clients, by its own count.
    pub fn memory_used(&self) -> usize {
        let m = &self.memory;
        m.messages.load(Ordering::Relaxed)
            + m.outputs
            + m.entries
            + m.io
            + self.links.len() * LINK_COST
            + self.sessions.len() * SESSION_COST
            + self.subscriptions.len() * SUBSCRIPTION_COST
            + self.retained.len() * RETAINED_TOPIC_COST
            + self.retained.sources() * RETAINED_SOURCE_COST
    }

    /// `memory_limit`, 0 for none.
    pub fn memory_limit(&self) -> usize {
        self.memory.budget.limit()
    }

    /// The budget's state now, for the statistics.
    pub fn memory_pressure(&self) -> Pressure {
        self.memory.budget.pressure(self.memory_used())
    }

    pub fn memory_counters(&self) -> MemoryCounters {
        self.memory.budget.counters
    }

    /// The reactor's own share: its connections' buffers and transport state. Called once a
    /// turn, after which the budget is assessed.
    pub fn set_io_memory(&mut self, bytes: usize, now: Instant) {
        self.now = now;
        self.memory.io = bytes;
        if self.memory.budget.in_force() {
            self.assess_memory();
        }
    }

    /// Whether a new connection is to be refused for memory.
    pub fn memory_full(&self) -> bool {
        // Asked at every accept: without a limit, nothing is summed.
        self.memory.budget.limit() > 0 && self.memory.budget.at_limit(self.memory_used())
    }

    /// Counts a connection refused for memory.
    pub(super) fn count_connection_refused_for_memory(&mut self) {
        self.memory.budget.counters.refused_connections += 1;
    }

    /// Unwritten output above which the reactor stops reading a link until writes bring it
    /// below half: lower under pressure, so a client that sends without reading holds little.
    pub fn read_pause_output(&self) -> usize {
        if self.memory.budget.under_pressure() {
            PRESSURE_READ_PAUSE
        } else {
            READ_PAUSE
        }
    }

    /// Output above which a link takes no new deliveries, which wait in the session's queue:
    /// lower under pressure. Read at every delivery, so kept rather than worked out.
    pub(super) fn output_high_water(&self) -> usize {
        self.memory.high_water
    }

    /// Runs the budget with what is in use now: starts and ends episodes, gives up patience,
    /// and at the limit sheds queued QoS 0 messages.
    #[inline]
    pub(super) fn assess_memory(&mut self) {
        if !self.memory.budget.in_force() {
            return;
        }
        let used = self.memory_used();
        // At ease there is nothing to start, end or shed, and the output high water, which
        // follows the episode, stays as it is.
        if !self.memory.budget.at_ease(used) {
            self.act_on_memory(used);
        }
    }

    #[inline(never)]
    fn act_on_memory(&mut self, used: usize) {
        let limit = self.memory.budget.limit();
        let now = self.now;
        match self.memory.budget.assess(used, now) {
            Some(Turn::Started) => {
                let m = &mut self.memory;
                m.reporting = m.last_report.is_none_or(|at| now >= at + REPORT_EVERY);
                if m.reporting {
                    m.last_report = Some(now);
                    let earlier = std::mem::take(&mut m.unreported);
                    let also = if earlier > 0 {
                        format!(" ({earlier} shorter episodes since the last report)")
                    } else {
                        String::new()
                    };
                    warn!(
                        "memory_limit: {used} of {limit} bytes in use; publishers are not read \
                         until it falls below {RELIEF_PERCENT}%{also}"
                    );
                } else {
                    m.unreported += 1;
                }
            }
            Some(Turn::PatienceOver) => {
                if self.memory.reporting {
                    warn!(
                        "memory_limit: still {used} of {limit} bytes in use after {PATIENCE:?}; \
                     publishers are read again, and at the limit QoS 0 messages are dropped, \
                     QoS 1/2 publishes and new connections refused"
                    );
                }
                self.resume_paused();
            }
            Some(Turn::Ended { lasted, cost }) => {
                if self.memory.reporting {
                    info!(
                        "memory_limit: back to {used} of {limit} bytes after {:.1} s; {} QoS 0 \
                     messages dropped, {} publishes and {} connections refused",
                        lasted.as_secs_f64(),
                        cost.dropped,
                        cost.refused_publishes,
                        cost.refused_connections
                    );
                }
                self.resume_paused();
            }
            None => {}
        }
        self.memory.high_water = if self.memory.budget.under_pressure() {
            PRESSURE_OUTPUT_HIGH_WATER
        } else {
            super::link::OUTPUT_HIGH_WATER
        };
        if self.memory.budget.at_limit(used) {
            self.shed_queued_qos0();
        }
    }

    /// Counts the output of the links written to since the reactor last took them, which went
    /// uncounted while no budget was set.
    fn settle_ready_outputs(&mut self) {
        for ready in &self.ready {
            if let Some(link) = self.links.get_mut(ready.link.key())
                && link.generation == ready.link.generation
            {
                settle_output(&mut self.memory.outputs, link);
            }
        }
    }

    /// A reload set a budget where there was none: the messages held already (retained, in
    /// queues and windows) count from now on, each once however many hold it, as those taken
    /// later do. Those a host program's subscription holds are its own.
    fn charge_held_messages(&mut self) {
        let memory = &self.memory;
        for message in self.retained.iter() {
            memory.charge(message);
        }
        for (_, session) in self.sessions.iter() {
            let delivery = session.delivery();
            for queued in &delivery.queue {
                memory.charge(&queued.message);
            }
            for (_, flight) in delivery.inflight.iter() {
                if let Flight::Qos1Sent(sent) | Flight::Qos2Sent(sent) = flight {
                    memory.charge(&sent.message);
                }
            }
        }
    }

    fn resume_paused(&mut self) {
        for ready in std::mem::take(&mut self.memory.paused) {
            if let Some(link) = self
                .live(ready.link)
                .and_then(|key| self.links.get_mut(key))
            {
                link.paused_for_memory = false;
                self.read_again.push(ready);
            }
        }
    }

    /// When the budget next needs assessing without any event: the end of its patience.
    pub(super) fn memory_deadline(&self) -> Option<Instant> {
        self.memory.budget.next_deadline()
    }

    /// Drops queued QoS 0 messages, the fullest queues first, until memory is back under the
    /// shedding target or no queue has any.
    fn shed_queued_qos0(&mut self) {
        let target = self.memory.budget.shed_target();
        let mut fullest: Vec<(usize, usize)> = self
            .sessions
            .iter()
            .filter(|(_, session)| session.delivery().queued_qos0 > 0)
            .map(|(key, session)| (session.delivery().queued_bytes, key))
            .collect();
        fullest.sort_unstable_by(|a, b| b.cmp(a));
        for (_, key) in fullest {
            if self.memory_used() < target {
                break;
            }
            let Some(session) = self.sessions.get_mut(key) else {
                continue;
            };
            let shed = session.shed_qos0();
            if let Some(d) = session.existing_delivery_mut() {
                d.queue.shrink_to_fit();
            }
            settle_entries(&mut self.memory.entries, session);
            self.memory.budget.counters.dropped += shed as u64;
        }
    }

    /// A QoS 0 delivery that would have to wait in a queue, at the limit: dropped instead.
    pub(super) fn drop_waiting_qos0(&mut self, item: &Queued) -> bool {
        if item.qos != QoS::AtMostOnce || self.memory.budget.limit() == 0 {
            return false;
        }
        if !self.memory.budget.at_limit(self.memory_used()) {
            return false;
        }
        self.memory.budget.counters.dropped += 1;
        true
    }

    /// Whether a QoS 1/2 PUBLISH, or a retained message, is to be refused for memory now:
    /// whether the `incoming` bytes it would add (0 for one already counted) reach the limit.
    /// Counts the refusal.
    pub(super) fn refuse_for_memory(&mut self, incoming: usize) -> bool {
        if self.memory.budget.limit() == 0 {
            return false;
        }
        self.assess_memory();
        let refuse = (self.memory.budget).at_limit(self.memory_used() + incoming);
        if refuse {
            self.memory.budget.counters.refused_publishes += 1;
        }
        refuse
    }

    /// A reload's new limit.
    pub(super) fn set_memory_limit(&mut self, limit: usize) {
        let was_unlimited = self.memory.budget.limit() == 0;
        self.memory.budget.set_limit(limit);
        if was_unlimited && limit > 0 {
            self.charge_held_messages();
        }
        self.settle_ready_outputs();
        self.assess_memory();
    }
}
