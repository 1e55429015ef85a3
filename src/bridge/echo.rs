//! The bridge's own loop check for 3.x remote ends that cannot be told it is a bridge (no
//! `try_private`, or a broker that refused the bridge bit): such a remote end sends the bridge
//! back every message it forwarded there whose topic the bridge also subscribes to. A message
//! that comes in with the topic and payload of one sent out in the last few seconds is taken
//! for that echo and dropped, once per message sent.
//!
//! MQTT 5 remote ends get No Local instead, and mosquitto honours the bridge bit; there this
//! check is off.

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

/// How long a forwarded message can come back as an echo.
const WINDOW: Duration = Duration::from_secs(30);
/// Messages remembered at most; older ones are forgotten first.
const CAPACITY: usize = 4096;

#[derive(Debug, Default)]
pub struct EchoGuard {
    sent: VecDeque<(u64, Instant)>,
    hasher: RandomState,
}

impl EchoGuard {
    fn key(&self, topic: &str, payload: &[u8]) -> u64 {
        self.hasher.hash_one((topic, payload))
    }

    /// A message went out on `topic` (its remote name) that may come back.
    pub fn sent(&mut self, topic: &str, payload: &[u8], now: Instant) {
        if self.sent.len() >= CAPACITY {
            self.sent.pop_front();
        }
        let key = self.key(topic, payload);
        self.sent.push_back((key, now));
    }

    /// Whether a message coming in is the echo of one sent; it is forgotten if so.
    pub fn is_echo(&mut self, topic: &str, payload: &[u8]) -> bool {
        if self.sent.is_empty() {
            return false;
        }
        let key = self.key(topic, payload);
        match self.sent.iter().position(|(k, _)| *k == key) {
            Some(at) => {
                self.sent.remove(at);
                true
            }
            None => false,
        }
    }

    pub fn expire(&mut self, now: Instant) {
        while self.sent.front().is_some_and(|(_, at)| *at + WINDOW <= now) {
            self.sent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_is_recognised_once_and_only_within_the_window() {
        let now = Instant::now();
        let mut guard = EchoGuard::default();
        guard.sent("a/b", b"1", now);
        assert!(!guard.is_echo("a/b", b"2"));
        assert!(!guard.is_echo("a/c", b"1"));
        assert!(guard.is_echo("a/b", b"1"));
        assert!(!guard.is_echo("a/b", b"1"), "one echo per message sent");
        guard.sent("a/b", b"1", now);
        guard.expire(now + WINDOW);
        assert!(!guard.is_echo("a/b", b"1"));
    }
}
