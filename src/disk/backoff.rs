//! When a store whose snapshot failed may try again: a second after the first failure, then
//! twice as long after each further one, up to a minute. A full or broken disk then costs the
//! broker an occasional attempt, not a snapshot of its whole state in every loop turn.

use std::time::{Duration, Instant};

/// The wait after the first failure.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The earliest instant of the next attempt, and the wait that led to it; `None` while
    /// the last attempt succeeded.
    next: Option<(Instant, Duration)>,
}

impl Backoff {
    /// An attempt failed at `now`; returns how long until the next may be made.
    pub fn failed(&mut self, now: Instant) -> Duration {
        let wait = match self.next {
            None => FIRST_WAIT,
            Some((_, wait)) => (wait * 2).min(MAX_WAIT),
        };
        self.next = Some((now + wait, wait));
        wait
    }

    /// An attempt succeeded; returns whether earlier ones had failed.
    pub fn succeeded(&mut self) -> bool {
        self.next.take().is_some()
    }

    /// Whether an attempt the broker makes on its own may be made at `now`.
    pub fn allows(&self, now: Instant) -> bool {
        self.next.is_none_or(|(at, _)| now >= at)
    }

    /// The earliest instant of the next attempt, while attempts fail.
    pub fn next_attempt(&self) -> Option<Instant> {
        self.next.map(|(at, _)| at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_a_second_to_a_minute_and_a_success_ends_it() {
        let start = Instant::now();
        let mut backoff = Backoff::default();
        assert!(backoff.allows(start));
        let mut now = start;
        let mut waits = Vec::new();
        for _ in 0..9 {
            let wait = backoff.failed(now);
            assert!(!backoff.allows(now + wait - Duration::from_millis(1)));
            assert_eq!(backoff.next_attempt(), Some(now + wait));
            now += wait;
            assert!(backoff.allows(now));
            waits.push(wait.as_secs());
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert!(backoff.succeeded());
        assert!(!backoff.succeeded());
        assert_eq!(backoff.next_attempt(), None);
        assert_eq!(backoff.failed(now), FIRST_WAIT, "a new failure starts over");
    }
}
