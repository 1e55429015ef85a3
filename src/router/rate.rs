//! Per-client publish rate limits (`publish_rate_limit`, `publish_byte_rate_limit`): token
//! buckets of messages and payload bytes, so that one runaway sensor cannot starve the others.
//!
//! A client over its rate is slowed, never dropped from: the PUBLISH that empties its bucket is
//! taken, and the client is then not read until the bucket has refilled to zero, so the kernel's
//! socket buffer and then the client itself wait. Tokens are kept in millionths so the
//! arithmetic stays integral; a bucket starts full, so a client may send a burst at once.

use std::time::{Duration, Instant};

/// Rates above this are taken as this: a million million a second is no limit in practice, and
/// the bound keeps the millionths within an `i64`.
pub const MAX_RATE: u64 = 1_000_000_000_000;
const MICRO: i64 = 1_000_000;
/// The longest a client is held for one packet, however far over its byte rate it went.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// A rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Units (messages or bytes) a second, at least 1.
    pub per_second: u64,
    /// Units a client may send at once after a quiet spell; at least the rate itself.
    pub burst: u64,
}

impl RateLimit {
    /// `per_second` with a burst of `burst`, or of one second's worth when none is given;
    /// `None` for a rate of 0, which is no limit.
    pub fn new(per_second: u64, burst: Option<u64>) -> Option<RateLimit> {
        let per_second = per_second.min(MAX_RATE);
        (per_second > 0).then(|| RateLimit {
            per_second,
            burst: burst.unwrap_or(per_second).clamp(per_second, MAX_RATE),
        })
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    limit: RateLimit,
    /// Millionths of a unit; below zero after a packet larger than what was left.
    tokens: i64,
    /// The burst, and the millionths a microsecond refills, worked out once: a bucket is taken
    /// from at every PUBLISH.
    full: i64,
    per_micro: i64,
}

impl Bucket {
    fn new(limit: RateLimit) -> Bucket {
        let full = micros(limit.burst);
        Bucket {
            limit,
            tokens: full,
            full,
            per_micro: micros(limit.per_second) / MICRO,
        }
    }

    fn refill(&mut self, elapsed_micros: i64) {
        let refill = elapsed_micros.saturating_mul(self.per_micro);
        self.tokens = self.tokens.saturating_add(refill).min(self.full);
    }

    /// Takes `amount` millionths; whether that left the bucket below zero.
    #[inline]
    fn take(&mut self, amount: i64) -> bool {
        self.tokens = self.tokens.saturating_sub(amount);
        self.tokens < 0
    }

    /// How long the bucket takes to refill to zero, if it is below.
    fn wait(&self) -> Option<Duration> {
        (self.tokens < 0).then(|| {
            let wait = (self.tokens.unsigned_abs()).div_ceil(self.per_micro.unsigned_abs().max(1));
            Duration::from_micros(wait).min(MAX_WAIT)
        })
    }
}

fn micros(units: u64) -> i64 {
    i64::try_from(units.min(MAX_RATE))
        .unwrap_or(i64::MAX)
        .saturating_mul(MICRO)
}

/// One client's buckets, and its hold.
#[derive(Debug, Clone)]
pub struct PublishRate {
    messages: Option<Bucket>,
    bytes: Option<Bucket>,
    /// When both buckets were last refilled. The packets of one read share the loop turn's
    /// clock, so the refill is worked out once a turn, not once a packet.
    at: Instant,
    /// Over its rate: not read until then.
    pub held_until: Option<Instant>,
    /// The router's count of reloads when these buckets were last found to follow its limits.
    pub checked_at_reload: u64,
}

impl PublishRate {
    pub fn new(messages: Option<RateLimit>, bytes: Option<RateLimit>, now: Instant) -> PublishRate {
        PublishRate {
            messages: messages.map(Bucket::new),
            bytes: bytes.map(Bucket::new),
            at: now,
            held_until: None,
            checked_at_reload: 0,
        }
    }

    /// Whether these buckets were made for these limits (a reload may have changed them).
    #[inline]
    pub fn follows(&self, messages: Option<RateLimit>, bytes: Option<RateLimit>) -> bool {
        self.messages.as_ref().map(|b| b.limit) == messages
            && self.bytes.as_ref().map(|b| b.limit) == bytes
    }

    /// One PUBLISH with `payload` bytes at `now`: until when the client is not to be read,
    /// if it went over either rate.
    #[inline]
    pub fn take(&mut self, payload: usize, now: Instant) -> Option<Instant> {
        if now != self.at {
            self.refill(now);
        }
        let payload = micros(u64::try_from(payload).unwrap_or(u64::MAX));
        let over_messages = self.messages.as_mut().is_some_and(|b| b.take(MICRO));
        let over_bytes = self.bytes.as_mut().is_some_and(|b| b.take(payload));
        if over_messages || over_bytes {
            return self.hold(now);
        }
        None
    }

    fn refill(&mut self, now: Instant) {
        let elapsed =
            i64::try_from(now.saturating_duration_since(self.at).as_micros()).unwrap_or(i64::MAX);
        self.at = now;
        for bucket in [&mut self.messages, &mut self.bytes].into_iter().flatten() {
            bucket.refill(elapsed);
        }
    }

    /// Until when a client whose buckets went below zero at `now` waits: the later of the two.
    #[cold]
    fn hold(&self, now: Instant) -> Option<Instant> {
        let wait = |bucket: &Option<Bucket>| bucket.as_ref().and_then(Bucket::wait);
        wait(&self.messages)
            .max(wait(&self.bytes))
            .map(|wait| now + wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u64, burst: Option<u64>) -> Option<RateLimit> {
        RateLimit::new(per_second, burst)
    }

    #[test]
    fn a_rate_of_zero_is_no_limit_and_the_burst_is_at_least_the_rate() {
        assert_eq!(RateLimit::new(0, Some(5)), None);
        assert_eq!(limit(10, None).map(|l| l.burst), Some(10));
        assert_eq!(limit(10, Some(3)).map(|l| l.burst), Some(10));
        assert_eq!(limit(10, Some(50)).map(|l| l.burst), Some(50));
    }

    #[test]
    fn a_burst_goes_through_then_the_client_waits_for_the_rate() {
        let now = Instant::now();
        let mut rate = PublishRate::new(limit(10, Some(20)), None, now);
        for _ in 0..20 {
            assert_eq!(rate.take(1, now), None);
        }
        // The 21st empties the bucket by one message: a tenth of a second to refill.
        assert_eq!(rate.take(1, now), Some(now + Duration::from_millis(100)));
        let later = now + Duration::from_millis(100);
        assert_eq!(
            rate.take(1, later),
            Some(later + Duration::from_millis(100))
        );
        // A quiet second refills ten.
        let quiet = later + Duration::from_secs(2);
        for _ in 0..10 {
            assert_eq!(rate.take(1, quiet), None);
        }
    }

    #[test]
    fn a_large_message_over_the_byte_rate_waits_for_its_size() {
        let now = Instant::now();
        let mut rate = PublishRate::new(None, limit(1000, None), now);
        // 1000 bytes of burst, then 3000 more: three seconds behind.
        assert_eq!(rate.take(4000, now), Some(now + Duration::from_secs(3)));
    }

    #[test]
    fn the_later_of_the_two_buckets_decides() {
        let now = Instant::now();
        let mut rate = PublishRate::new(limit(1, None), limit(100, None), now);
        let until = rate.take(300, now);
        assert_eq!(until, Some(now + Duration::from_secs(2)));
    }

    #[test]
    fn the_bucket_never_holds_more_than_the_burst() {
        let now = Instant::now();
        let mut rate = PublishRate::new(limit(10, None), None, now);
        let much_later = now + Duration::from_secs(3600);
        for _ in 0..10 {
            assert_eq!(rate.take(1, much_later), None);
        }
        assert!(rate.take(1, much_later).is_some());
    }

    #[test]
    fn huge_rates_and_sizes_do_not_overflow() {
        let now = Instant::now();
        let mut rate =
            PublishRate::new(limit(u64::MAX, None), limit(u64::MAX, Some(u64::MAX)), now);
        assert_eq!(
            rate.take(usize::MAX, now + Duration::from_secs(1 << 40)),
            None
        );
        let mut slow = PublishRate::new(None, limit(1, None), now);
        assert_eq!(slow.take(usize::MAX, now), Some(now + MAX_WAIT));
    }

    #[test]
    fn buckets_know_the_limits_they_follow() {
        let now = Instant::now();
        let rate = PublishRate::new(limit(10, None), None, now);
        assert!(rate.follows(limit(10, None), None));
        assert!(!rate.follows(limit(20, None), None));
    }
}
