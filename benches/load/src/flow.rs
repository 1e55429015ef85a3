//! A stream of messages from publishers to subscribers, kept within a window: the engine of the
//! throughput scenarios (fanin, fanout, subs).

use std::io;
use std::ops::Range;
use std::time::{Duration, Instant};

use crate::client::{self, Publisher, TICK};
use crate::net::Net;
use crate::procstat::{CpuMeter, CpuUse};
use crate::window::Window;

/// PUBLISH packets one publisher encodes before the others get a turn.
const BURST: u64 = 32;

/// The end of a run waits this long without a delivery before calling the rest lost.
const DRAIN_QUIET: Duration = Duration::from_secs(1);

/// What the window is measured against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// All deliveries to all subscribers (one subscriber sees every message).
    Total,
    /// The deliveries of the subscriber furthest behind (every subscriber sees every message).
    Slowest,
}

pub struct Flow {
    pub pubs: Vec<Publisher>,
    pub_ids: Range<usize>,
    sub_ids: Range<usize>,
    /// Deliveries per subscriber, by position in `sub_ids`.
    pub received: Vec<u64>,
    progress: Progress,
}

/// Counts at one instant, to subtract.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    pub published: u64,
    pub delivered: u64,
    pub slowest: u64,
}

impl Flow {
    /// Publishers and subscribers are the link ids in the two ranges, already open.
    pub fn new(
        pub_ids: Range<usize>,
        sub_ids: Range<usize>,
        qos: u8,
        inflight: u32,
        progress: Progress,
    ) -> Flow {
        Flow {
            pubs: pub_ids
                .clone()
                .map(|id| Publisher::new(id, qos, inflight))
                .collect(),
            received: vec![0; sub_ids.len()],
            pub_ids,
            sub_ids,
            progress,
        }
    }

    /// The measured part of a run: publishes until `secs` have passed, with the broker's and
    /// this process's CPU sampled around it; returns the CPU used and the counts at the end.
    pub fn measure(
        &mut self,
        net: &mut Net,
        window: &mut Window,
        topics: &[Vec<u8>],
        body: &[u8],
        secs: Duration,
        meter: CpuMeter,
    ) -> io::Result<(CpuUse, Snapshot)> {
        self.pump(net, window, topics, body, Instant::now() + secs)?;
        let cpu = meter.stop();
        Ok((cpu, self.snapshot()))
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            published: self.pubs.iter().map(|p| p.acked).sum(),
            delivered: self.received.iter().sum(),
            slowest: self.received.iter().copied().min().unwrap_or(0),
        }
    }

    fn done(&self) -> u64 {
        match self.progress {
            Progress::Total => self.received.iter().sum(),
            Progress::Slowest => self.received.iter().copied().min().unwrap_or(0),
        }
    }

    /// Publishes round robin over publishers and `topics` until `until`.
    pub fn pump(
        &mut self,
        net: &mut Net,
        window: &mut Window,
        topics: &[Vec<u8>],
        payload: &[u8],
        until: Instant,
    ) -> io::Result<()> {
        let mut topic = 0;
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            let sent: u64 = self.pubs.iter().map(|p| p.sent).sum();
            let mut room = window.room(sent, self.done(), now);
            let mut busy = false;
            for publisher in &mut self.pubs {
                let mut burst = BURST.min(room);
                while burst > 0 && publisher.can_send(net) {
                    publisher.send(net, &topics[topic], payload);
                    topic = (topic + 1) % topics.len();
                    burst -= 1;
                    room -= 1;
                    busy = true;
                }
                net.flush(publisher.id);
            }
            // With more to send, only collect what is already there; else wait for acks.
            let timeout = if busy { Duration::ZERO } else { TICK };
            self.poll(net, timeout)?;
            if net.closed > 0 {
                return Err(io::Error::other("the broker closed a link during the run"));
            }
        }
    }

    /// Waits for deliveries and acknowledgements to catch up, until none has come for a while.
    pub fn drain(&mut self, net: &mut Net, expected_per_sub: impl Fn(&Flow) -> u64) {
        let mut last = (self.snapshot().delivered, self.snapshot().published);
        let mut quiet_since = Instant::now();
        while quiet_since.elapsed() < DRAIN_QUIET {
            let inflight = self.pubs.iter().any(|p| p.acked < p.sent);
            let expected = expected_per_sub(self);
            if !inflight && self.received.iter().all(|r| *r >= expected) {
                return;
            }
            if self.poll(net, TICK).is_err() || net.closed > 0 {
                return;
            }
            let now = (self.snapshot().delivered, self.snapshot().published);
            if now != last {
                last = now;
                quiet_since = Instant::now();
            }
        }
    }

    fn poll(&mut self, net: &mut Net, timeout: Duration) -> io::Result<()> {
        let Flow {
            pubs,
            pub_ids,
            sub_ids,
            received,
            ..
        } = self;
        net.poll(timeout, |id, packet, out| {
            if sub_ids.contains(&id) {
                if client::acknowledge(&packet, out) {
                    received[id - sub_ids.start] += 1;
                }
            } else if pub_ids.contains(&id) {
                pubs[id - pub_ids.start].on_packet(&packet, out);
            }
        })
    }
}
