//! The global memory budget (`memory_limit`): when the broker nears it, and what it does about
//! it, step by step, least harmful first.
//!
//! mosquitto bounds each client's queue but not their sum, so a thousand slow clients can
//! still take a small board down. Here the router counts what grows with clients (see
//! `memory_use`) and this module decides:
//!
//! 1. At [`BACKPRESSURE_PERCENT`] of the limit an *episode* starts: links that publish are no
//!    longer read, so the kernel's socket buffers and then the publishers themselves wait,
//!    and nothing is dropped. Deliveries drain the queues; below [`RELIEF_PERCENT`] the
//!    episode ends and every paused link is read again.
//! 2. When pausing has not ended the episode within [`PATIENCE`] (memory held by clients that
//!    do not read, or by retained messages, does not drain by waiting), publishers are read
//!    again, and at the limit itself the broker gives up what it must: QoS 0 messages queued
//!    for the fullest queues first, QoS 0 deliveries that would have to wait, QoS 1/2
//!    publishes (refused with 0x97), new retained messages that would grow the store, and new
//!    connections.
//!
//! One line is logged when an episode starts and one when it ends, with what it cost.

use std::time::{Duration, Instant};

/// Where an episode starts, in percent of the limit.
pub const BACKPRESSURE_PERCENT: usize = 80;
/// Where an episode ends, in percent of the limit: lower than the start, so the broker does not
/// flap between reading and pausing at one threshold.
pub const RELIEF_PERCENT: usize = 70;
/// How long pausing publishers may take to bring memory back under the episode's start.
pub const PATIENCE: Duration = Duration::from_secs(1);
/// Queued QoS 0 messages are dropped at the limit until memory is back under this, in percent
/// of the limit, so the next message does not find the broker at the limit again.
pub const SHED_TO_PERCENT: usize = 90;

/// How close the broker is to its limit, as `$SYS/broker/memory/state` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pressure {
    /// Below the point where pausing starts, or no limit.
    #[default]
    Normal,
    /// An episode is under way: publishers are paused, or were and memory has not come down.
    Backpressure,
    /// At the limit: messages are dropped and publishes and connections refused.
    Full,
}

impl Pressure {
    /// The word `$SYS/broker/memory/state` says.
    pub fn name(self) -> &'static str {
        match self {
            Pressure::Normal => "normal",
            Pressure::Backpressure => "backpressure",
            Pressure::Full => "full",
        }
    }
}

/// What the budget gave up, for `$SYS/broker/memory/...` and the episode's log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryCounters {
    /// Episodes since the broker started.
    pub episodes: u64,
    /// QoS 0 deliveries dropped for memory (queued ones shed, and ones that would have waited).
    pub dropped: u64,
    /// QoS 1/2 PUBLISH packets refused, and retained messages not stored.
    pub refused_publishes: u64,
    /// Connections refused.
    pub refused_connections: u64,
}

/// What [`Budget::assess`] found changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// An episode started: publishers are paused from now on.
    Started,
    /// Pausing did not help in time: paused publishers are to be read again.
    PatienceOver,
    /// The episode ended; what it cost. Paused publishers are to be read again.
    Ended {
        lasted: Duration,
        cost: MemoryCounters,
    },
}

#[derive(Debug, Clone, Copy)]
struct Episode {
    started: Instant,
    publishers_paused: bool,
    /// The totals when it started, so its own cost can be told at its end.
    totals_before: MemoryCounters,
}

/// The budget's state. Pure: the router feeds it the bytes in use and the time.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Bytes; 0 is no limit.
    limit: usize,
    /// The limit's thresholds in bytes, worked out once: assessed after every PUBLISH, the
    /// budget should not divide each time.
    starts_at: usize,
    ends_below: usize,
    sheds_to: usize,
    episode: Option<Episode>,
    pub counters: MemoryCounters,
}

impl Budget {
    pub fn new(limit: usize) -> Budget {
        let mut budget = Budget::default();
        budget.set_limit(limit);
        budget
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A reload changed the limit; an episode under way is judged by the new one next turn.
    pub fn set_limit(&mut self, limit: usize) {
        let percent = |percent: usize| limit / 100 * percent + limit % 100 * percent / 100;
        self.limit = limit;
        self.starts_at = percent(BACKPRESSURE_PERCENT);
        self.ends_below = percent(RELIEF_PERCENT);
        self.sheds_to = percent(SHED_TO_PERCENT);
    }

    /// Whether `used` bytes are at the limit, where things are refused and dropped.
    pub fn at_limit(&self, used: usize) -> bool {
        self.limit > 0 && used >= self.limit
    }

    /// Whether there is anything to assess: a limit, or an episode a reload's removal of the
    /// limit has yet to end.
    #[inline]
    pub fn in_force(&self) -> bool {
        self.limit > 0 || self.episode.is_some()
    }

    /// Whether assessing `used` bytes would change nothing: no episode is under way, and `used`
    /// is below where one starts, which is below the limit where shedding starts too.
    #[inline]
    pub fn at_ease(&self, used: usize) -> bool {
        self.episode.is_none() && used < self.starts_at
    }

    /// Whether links that publish are not to be read now.
    pub fn pausing_publishers(&self) -> bool {
        self.episode.is_some_and(|e| e.publishers_paused)
    }

    /// Whether an episode is under way.
    pub fn under_pressure(&self) -> bool {
        self.episode.is_some()
    }

    pub fn pressure(&self, used: usize) -> Pressure {
        if self.at_limit(used) {
            Pressure::Full
        } else if self.episode.is_some() {
            Pressure::Backpressure
        } else {
            Pressure::Normal
        }
    }

    /// The bytes that shedding queued QoS 0 messages brings memory down to.
    pub fn shed_target(&self) -> usize {
        self.sheds_to
    }

    /// Moves the episode along with `used` bytes in use at `now`.
    pub fn assess(&mut self, used: usize, now: Instant) -> Option<Turn> {
        if self.limit == 0 {
            return self.episode.take().map(|episode| self.end(episode, now));
        }
        let (start, relief) = (self.starts_at, self.ends_below);
        match self.episode.as_mut() {
            None if used >= start => {
                self.counters.episodes += 1;
                self.episode = Some(Episode {
                    started: now,
                    publishers_paused: true,
                    totals_before: self.counters,
                });
                Some(Turn::Started)
            }
            None => None,
            Some(_) if used < relief => {
                let episode = self.episode.take()?;
                Some(self.end(episode, now))
            }
            Some(episode) if episode.publishers_paused && now >= episode.started + PATIENCE => {
                episode.publishers_paused = false;
                Some(Turn::PatienceOver)
            }
            Some(_) => None,
        }
    }

    fn end(&self, episode: Episode, now: Instant) -> Turn {
        let before = episode.totals_before;
        let now_ = self.counters;
        Turn::Ended {
            lasted: now.saturating_duration_since(episode.started),
            cost: MemoryCounters {
                episodes: 1,
                dropped: now_.dropped - before.dropped,
                refused_publishes: now_.refused_publishes - before.refused_publishes,
                refused_connections: now_.refused_connections - before.refused_connections,
            },
        }
    }

    /// When [`Budget::assess`] must next run even if nothing else happens: the end of the
    /// patience, while publishers are paused.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.episode
            .filter(|e| e.publishers_paused)
            .map(|e| e.started + PATIENCE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn no_limit_never_starts_an_episode() {
        let mut budget = Budget::new(0);
        let now = Instant::now();
        assert_eq!(budget.assess(usize::MAX, now), None);
        assert_eq!(budget.pressure(usize::MAX), Pressure::Normal);
        assert!(!budget.at_limit(usize::MAX));
    }

    #[test]
    fn an_episode_starts_at_eighty_percent_and_ends_below_seventy() {
        let mut budget = Budget::new(100 * MIB);
        let now = Instant::now();
        assert_eq!(budget.assess(79 * MIB, now), None);
        assert_eq!(budget.assess(80 * MIB, now), Some(Turn::Started));
        assert!(budget.pausing_publishers());
        assert_eq!(budget.pressure(80 * MIB), Pressure::Backpressure);
        assert_eq!(budget.assess(75 * MIB, now), None, "hysteresis");
        assert!(budget.pausing_publishers());
        let ended = budget.assess(69 * MIB, now + Duration::from_millis(300));
        assert_eq!(
            ended,
            Some(Turn::Ended {
                lasted: Duration::from_millis(300),
                cost: MemoryCounters {
                    episodes: 1,
                    ..MemoryCounters::default()
                }
            })
        );
        assert!(!budget.pausing_publishers());
        assert_eq!(budget.counters.episodes, 1);
    }

    #[test]
    fn publishers_are_read_again_when_pausing_does_not_help_in_time() {
        let mut budget = Budget::new(100 * MIB);
        let start = Instant::now();
        budget.assess(90 * MIB, start);
        assert_eq!(budget.next_deadline(), Some(start + PATIENCE));
        assert_eq!(budget.assess(90 * MIB, start + PATIENCE / 2), None);
        assert_eq!(
            budget.assess(90 * MIB, start + PATIENCE),
            Some(Turn::PatienceOver)
        );
        assert!(!budget.pausing_publishers());
        assert!(budget.under_pressure());
        assert_eq!(budget.next_deadline(), None);
        assert_eq!(budget.assess(100 * MIB, start + PATIENCE * 2), None);
        assert_eq!(budget.pressure(100 * MIB), Pressure::Full);
    }

    #[test]
    fn an_episode_tells_its_own_cost() {
        let mut budget = Budget::new(1000);
        let now = Instant::now();
        budget.counters.dropped = 5;
        budget.assess(900, now);
        budget.counters.dropped += 3;
        budget.counters.refused_connections += 2;
        let Some(Turn::Ended { cost, .. }) = budget.assess(0, now) else {
            panic!("the episode should end");
        };
        assert_eq!(cost.dropped, 3);
        assert_eq!(cost.refused_connections, 2);
    }

    #[test]
    fn percentages_do_not_overflow_on_huge_limits() {
        let budget = Budget::new(usize::MAX);
        assert!(budget.shed_target() < usize::MAX);
        assert!(budget.shed_target() > usize::MAX / 100 * 89);
    }

    #[test]
    fn removing_the_limit_ends_an_episode() {
        let mut budget = Budget::new(1000);
        let now = Instant::now();
        budget.assess(1000, now);
        budget.set_limit(0);
        assert!(matches!(budget.assess(1000, now), Some(Turn::Ended { .. })));
        assert!(!budget.under_pressure());
    }
}
