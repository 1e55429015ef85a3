//! Slowing down password guessing: failed logins are counted per client address, and a CONNECT
//! from an address with recent failures is held before it is even checked, for a delay that
//! doubles with each failure. mosquitto has nothing of the kind.
//!
//! Holding the check, not only the refusing CONNACK, is what makes it work: an attacker who
//! opens many connections at once gets its attempts answered one slot after another, since
//! every held CONNECT from an address takes the next free slot of that address. A correct
//! password from a penalised address waits too, for at most [`MAX_DELAY`] per attempt queued
//! ahead of it.
//!
//! Memory is bounded: at most [`CAPACITY`] addresses are tracked; a new one replaces the entry
//! whose failures have decayed most (or are oldest). Counts halve every [`HALF_LIFE`] without
//! failures, so a user who mistyped once is forgotten within minutes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Addresses tracked at once: about 40 bytes each.
pub const CAPACITY: usize = 4096;
/// The delay after one failure; it doubles with each further one.
pub const BASE_DELAY: Duration = Duration::from_millis(500);
/// The longest delay one attempt gets.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// A CONNECT that would wait longer than this behind the address's other held attempts is
/// refused at once, unchecked, so one address cannot hold connections for hours.
pub const MAX_QUEUE: Duration = Duration::from_secs(60);
/// Without new failures, an address's count halves this often.
pub const HALF_LIFE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// When `failures` was last updated.
    at: Instant,
    /// The end of the last slot given to a held CONNECT from this address.
    next_free: Instant,
}

impl Entry {
    fn decayed(&self, now: Instant) -> u32 {
        let halvings = now.saturating_duration_since(self.at).as_secs() / HALF_LIFE.as_secs();
        self.failures
            .checked_shr(u32::try_from(halvings).unwrap_or(u32::MAX))
            .unwrap_or(0)
    }
}

/// What to do with a CONNECT that needs authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No recent failures: check it now.
    CheckNow,
    /// Check it at this instant.
    HoldUntil(Instant),
    /// Too many attempts queued from this address: refuse without checking.
    Refuse,
}

/// Failed logins per address.
#[derive(Debug, Default)]
pub struct FailureTracker {
    entries: HashMap<IpAddr, Entry>,
}

/// The delay after `failures` recent failures.
pub fn delay_for(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doublings = (failures - 1).min(16);
    BASE_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

impl FailureTracker {
    /// Decides about a CONNECT from `addr` arriving at `now`, reserving its slot.
    pub fn verdict(&mut self, addr: IpAddr, now: Instant) -> Verdict {
        let Some(entry) = self.entries.get_mut(&addr) else {
            return Verdict::CheckNow;
        };
        let delay = delay_for(entry.decayed(now));
        if delay.is_zero() {
            return Verdict::CheckNow;
        }
        let at = entry.next_free.max(now) + delay;
        if at.saturating_duration_since(now) > MAX_QUEUE {
            return Verdict::Refuse;
        }
        entry.next_free = at;
        Verdict::HoldUntil(at)
    }

    /// A login from `addr` failed at `now`.
    pub fn failed(&mut self, addr: IpAddr, now: Instant) {
        if !self.entries.contains_key(&addr) && self.entries.len() >= CAPACITY {
            self.evict(now);
        }
        let entry = self.entries.entry(addr).or_insert(Entry {
            failures: 0,
            at: now,
            next_free: now,
        });
        entry.failures = entry.decayed(now).saturating_add(1);
        entry.at = now;
    }

    /// Recent failures counted for `addr`.
    #[cfg(test)]
    pub fn failures(&self, addr: IpAddr, now: Instant) -> u32 {
        self.entries.get(&addr).map_or(0, |e| e.decayed(now))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops the entry that matters least: fewest decayed failures, then the oldest. A linear
    /// scan, paid only by a failure from a new address while the table is full.
    fn evict(&mut self, now: Instant) {
        let victim = self
            .entries
            .iter()
            .min_by_key(|(_, e)| (e.decayed(now), e.at))
            .map(|(addr, _)| *addr);
        if let Some(addr) = victim {
            self.entries.remove(&addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn delay_doubles_up_to_the_maximum() {
        assert_eq!(delay_for(0), Duration::ZERO);
        assert_eq!(delay_for(1), Duration::from_millis(500));
        assert_eq!(delay_for(2), Duration::from_secs(1));
        assert_eq!(delay_for(3), Duration::from_secs(2));
        assert_eq!(delay_for(5), MAX_DELAY);
        assert_eq!(delay_for(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn held_attempts_from_one_address_take_successive_slots() {
        let now = Instant::now();
        let mut t = FailureTracker::default();
        assert_eq!(t.verdict(ip(1), now), Verdict::CheckNow);
        t.failed(ip(1), now);
        assert_eq!(t.verdict(ip(1), now), Verdict::HoldUntil(now + BASE_DELAY));
        assert_eq!(
            t.verdict(ip(1), now),
            Verdict::HoldUntil(now + 2 * BASE_DELAY)
        );
        // Another address is not affected.
        assert_eq!(t.verdict(ip(2), now), Verdict::CheckNow);
    }

    #[test]
    fn a_long_queue_is_refused_unchecked() {
        let now = Instant::now();
        let mut t = FailureTracker::default();
        for _ in 0..10 {
            t.failed(ip(1), now);
        }
        let mut refused = false;
        for _ in 0..20 {
            refused |= t.verdict(ip(1), now) == Verdict::Refuse;
        }
        assert!(refused);
    }

    #[test]
    fn failures_decay() {
        let now = Instant::now();
        let mut t = FailureTracker::default();
        for _ in 0..4 {
            t.failed(ip(1), now);
        }
        assert_eq!(t.failures(ip(1), now + HALF_LIFE), 2);
        assert_eq!(t.failures(ip(1), now + 3 * HALF_LIFE), 0);
        assert_eq!(t.verdict(ip(1), now + 3 * HALF_LIFE), Verdict::CheckNow);
    }

    #[test]
    fn memory_is_bounded() {
        let now = Instant::now();
        let mut t = FailureTracker::default();
        for n in 0..(CAPACITY as u32 + 100) {
            t.failed(ip(n), now);
        }
        assert_eq!(t.len(), CAPACITY);
    }
}
