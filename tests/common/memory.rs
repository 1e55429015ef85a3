//! What the memory-limit tests measure of a broker under hostile load: its resident memory from
//! /proc, and the `$SYS/broker/memory/...` values it publishes, gathered by a client that keeps
//! reading while the load runs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::client::Client;
use super::wire::Packet;

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * 1024;

/// A process's resident memory in bytes: now (VmRSS) and the most it has ever held (VmHWM).
#[derive(Debug, Clone, Copy)]
pub struct Rss {
    pub now: u64,
    pub peak: u64,
}

impl Rss {
    pub fn of(pid: u32) -> Rss {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
        let field = |name: &str| -> u64 {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"));
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unreadable {line:?}"));
            kib * KIB
        };
        Rss {
            now: field("VmRSS:"),
            peak: field("VmHWM:"),
        }
    }
}

/// Bytes as MiB with one decimal, for messages.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

/// Every value published on the watched `$SYS` topics, in arrival order, per topic.
type Seen = Arc<Mutex<HashMap<String, Vec<String>>>>;

/// A client subscribed to `$SYS/broker/memory/#` (and the retained-message count) that reads
/// on its own thread from before the load until [`SysWatcher::stop`], so the values published
/// while the broker is under pressure are seen, not only the last ones.
pub struct SysWatcher {
    seen: Seen,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub const STATE: &str = "$SYS/broker/memory/state";
pub const LIMIT: &str = "$SYS/broker/memory/limit";
pub const USED: &str = "$SYS/broker/memory/used";
pub const DROPPED: &str = "$SYS/broker/memory/dropped";
pub const REFUSED_PUBLISHES: &str = "$SYS/broker/memory/refused/publishes";
pub const REFUSED_CONNECTIONS: &str = "$SYS/broker/memory/refused/connections";
pub const EPISODES: &str = "$SYS/broker/memory/episodes";
pub const RETAINED_COUNT: &str = "$SYS/broker/retained messages/count";

impl SysWatcher {
    pub fn start(addr: SocketAddr) -> SysWatcher {
        let mut client = Client::connect(addr, "memory-watcher");
        let filters = [("$SYS/broker/memory/#", 0), (RETAINED_COUNT, 0)];
        assert_eq!(client.subscribe(1, &filters), [0, 0]);
        let seen: Seen = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (into, stopped) = (Arc::clone(&seen), Arc::clone(&stop));
        let thread = thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                // Polls without panicking on a close, which the final check reports instead.
                let (packets, closed) = match client.closed_within(Duration::from_millis(100)) {
                    Some(packets) => (packets, true),
                    None => (client.take_pending(), false),
                };
                let mut seen = into.lock().unwrap();
                for packet in packets {
                    if let Packet::Publish(p) = packet {
                        seen.entry(p.topic.clone())
                            .or_default()
                            .push(p.payload_str());
                    }
                }
                if closed {
                    seen.entry("closed".into()).or_default().push(String::new());
                    return;
                }
            }
        });
        SysWatcher {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Every value seen on `topic` so far.
    pub fn values(&self, topic: &str) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    /// The latest value of a counter, 0 before any was seen.
    pub fn latest_number(&self, topic: &str) -> u64 {
        self.values(topic).last().map_or(0, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{topic} is not a number: {v:?}"))
        })
    }

    /// Whether the state topic has carried `state` at any time so far.
    pub fn saw_state(&self, state: &str) -> bool {
        self.values(STATE).iter().any(|v| v == state)
    }

    /// Waits until `done` holds of the values seen so far; returns whether it did in `timeout`.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&SysWatcher) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
        true
    }

    /// Everything seen, for failure messages.
    pub fn summary(&self) -> String {
        let seen = self.seen.lock().unwrap();
        let mut topics: Vec<_> = seen.iter().collect();
        topics.sort();
        topics
            .iter()
            .map(|(topic, values)| {
                let shown = &values[values.len().saturating_sub(12)..];
                format!("{topic}: {} values, last {shown:?}", values.len())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stops reading; panics if the broker closed the watcher, which reads and so must be
    /// served whatever the memory state.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the $SYS watcher's thread");
        }
        assert!(
            self.values("closed").is_empty(),
            "the broker closed the $SYS watcher, a client that keeps reading"
        );
    }
}

impl Drop for SysWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
