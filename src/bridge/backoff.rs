//! How long a bridge waits before its next connection attempt (`restart_timeout`).
//!
//! `restart_timeout BASE CAP` is mosquitto's jittered backoff: each delay is drawn from
//! `[BASE, previous × 3)` and capped at `CAP`, and a successful connection starts again from
//! `BASE`. The jitter keeps many gateways that lost the same upstream from reconnecting in
//! step. `restart_timeout N` is a constant delay, as mosquitto 2.0.15 and later read it.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use crate::config::RestartTimeout;

#[derive(Debug)]
pub struct Backoff {
    setting: RestartTimeout,
    /// The last delay, in seconds; 0 before the first failure since a success.
    previous: u32,
    /// Draws differ between runs and between bridges.
    seed: RandomState,
    draws: u64,
}

impl Backoff {
    pub fn new(setting: RestartTimeout) -> Backoff {
        Backoff {
            setting,
            previous: 0,
            seed: RandomState::new(),
            draws: 0,
        }
    }

    /// The delay before the next attempt, which also becomes the base of the one after it.
    pub fn next_delay(&mut self) -> Duration {
        let seconds = match self.setting {
            RestartTimeout::Constant(n) => n.max(1),
            RestartTimeout::Backoff { base, cap } => {
                let base = base.max(1);
                let high = self.previous.saturating_mul(3).max(base + 1);
                self.draws += 1;
                let span = u64::from(high - base);
                let draw = self.seed.hash_one(self.draws) % span;
                let seconds = base + u32::try_from(draw).unwrap_or(0);
                seconds.min(cap.max(base))
            }
        };
        self.previous = seconds;
        Duration::from_secs(u64::from(seconds))
    }

    /// A connection was accepted: the next failure waits the base delay again.
    pub fn reset(&mut self) {
        self.previous = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backoff_grows_within_its_bounds_and_resets() {
        let mut backoff = Backoff::new(RestartTimeout::Backoff { base: 5, cap: 30 });
        let first = backoff.next_delay().as_secs();
        assert_eq!(first, 5, "the first delay after a success is the base");
        let mut previous = first;
        for _ in 0..50 {
            let delay = backoff.next_delay().as_secs();
            assert!((5..=30).contains(&delay), "{delay}");
            assert!(delay < (previous * 3).max(6), "{delay} after {previous}");
            previous = delay;
        }
        backoff.reset();
        assert_eq!(backoff.next_delay().as_secs(), 5);
    }

    #[test]
    fn the_backoff_reaches_its_cap() {
        let mut backoff = Backoff::new(RestartTimeout::Backoff { base: 2, cap: 10 });
        let most = (0..100).map(|_| backoff.next_delay().as_secs()).max();
        assert_eq!(most, Some(10));
    }

    #[test]
    fn a_constant_delay_does_not_change() {
        let mut backoff = Backoff::new(RestartTimeout::Constant(3));
        for _ in 0..5 {
            assert_eq!(backoff.next_delay(), Duration::from_secs(3));
        }
    }
}
