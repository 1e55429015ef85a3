//! How far publishers may run ahead of deliveries, so a run measures throughput rather than how
//! fast a broker's queues can grow.

use std::time::{Duration, Instant};

/// With no delivery for this long while the window is full, the outstanding messages are taken
/// as lost (a broker that drops under load) and the window opens again.
const STALL: Duration = Duration::from_millis(200);

pub struct Window {
    limit: u64,
    written_off: u64,
    last_done: u64,
    last_progress: Instant,
    /// How many times the window had to be reopened after a stall.
    pub stalls: u64,
}

impl Window {
    pub fn new(limit: u64) -> Window {
        Window {
            limit: limit.max(1),
            written_off: 0,
            last_done: 0,
            last_progress: Instant::now(),
            stalls: 0,
        }
    }

    /// How many more messages may be sent, given how many were `sent` and how many of those
    /// are `done` (delivered).
    pub fn room(&mut self, sent: u64, done: u64, now: Instant) -> u64 {
        if done != self.last_done {
            self.last_done = done;
            self.last_progress = now;
        }
        let outstanding = sent.saturating_sub(done + self.written_off);
        if outstanding >= self.limit && now.duration_since(self.last_progress) > STALL {
            self.written_off = sent.saturating_sub(done);
            self.last_progress = now;
            self.stalls += 1;
            return self.limit;
        }
        self.limit.saturating_sub(outstanding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_shrinks_with_outstanding_and_reopens_after_a_stall() {
        let start = Instant::now();
        let mut w = Window::new(10);
        assert_eq!(w.room(4, 0, start), 6);
        assert_eq!(w.room(10, 0, start), 0);
        assert_eq!(w.room(10, 0, start + Duration::from_millis(300)), 10);
        assert_eq!(w.stalls, 1);
        assert_eq!(w.room(12, 1, start + Duration::from_millis(301)), 9);
    }
}
