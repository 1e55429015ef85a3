//! `$SYS/broker/...`: the statistics tree mosquitto publishes, with the same topics, units and
//! formats (MOSQUITTO-COMPAT.md section 8), computed from a snapshot of the broker's counters.
//! Pure: the loop hands in the counters and the time every `sys_interval` and publishes what
//! this returns, retained and without an expiry (mosquitto 2.0.11 gives each a 60-second
//! expiry, so an unchanged value vanishes for later subscribers; not here).
//!
//! `uptime` goes out every interval, `version` once, every other value when it changes (all of
//! them on the first interval). The `load/.../{1min,5min,15min}` values are mosquitto's
//! exponential moving averages of per-minute rates, sent when they move by 0.01 or more.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::Stats;

/// The averaging windows of the load values: their topic suffix and length in seconds.
const WINDOWS: [(&str, f64); 3] = [("1min", 60.0), ("5min", 300.0), ("15min", 900.0)];

/// The counters with a load average, by their topic under `load/`.
fn load_inputs(c: &Stats) -> [(&'static str, u64); 9] {
    [
        ("messages/received", c.packets_received),
        ("messages/sent", c.packets_sent),
        ("publish/received", c.publish_received),
        ("publish/sent", c.publish_sent),
        ("publish/dropped", c.publish_dropped),
        ("bytes/received", c.bytes_received),
        ("bytes/sent", c.bytes_sent),
        ("sockets", c.sockets),
        ("connections", c.connections),
    ]
}

/// The plain values, by topic under `$SYS/broker/`; deprecated twins as mosquitto has them.
fn values(c: &Stats) -> Vec<(&'static str, u64)> {
    vec![
        ("clients/total", c.clients_total),
        ("clients/connected", c.clients_connected),
        ("clients/active", c.clients_connected),
        ("clients/disconnected", c.clients_disconnected),
        ("clients/inactive", c.clients_disconnected),
        ("clients/expired", c.clients_expired),
        ("messages/received", c.packets_received),
        ("messages/sent", c.packets_sent),
        ("publish/messages/received", c.publish_received),
        ("publish/messages/sent", c.publish_sent),
        ("publish/messages/dropped", c.publish_dropped),
        ("bytes/received", c.bytes_received),
        ("bytes/sent", c.bytes_sent),
        ("publish/bytes/received", c.publish_bytes_received),
        ("publish/bytes/sent", c.publish_bytes_sent),
        ("store/messages/count", c.messages_stored),
        ("store/messages/bytes", c.messages_stored_bytes),
        ("messages/stored", c.messages_stored),
        ("subscriptions/count", c.subscriptions),
        ("shared_subscriptions/count", c.shared_subscriptions),
        ("retained messages/count", c.retained_messages),
        ("heap/current", c.heap_current),
        ("memory/limit", c.memory_limit),
        ("memory/used", c.memory_used),
        ("memory/episodes", c.memory_episodes),
        ("memory/dropped", c.memory_dropped),
        ("memory/refused/publishes", c.memory_refused_publishes),
        ("memory/refused/connections", c.memory_refused_connections),
        ("clients/slowed", c.clients_slowed),
    ]
}

/// The `$SYS` tree's state between intervals.
#[derive(Debug)]
pub struct SysTree {
    interval: Duration,
    started: Instant,
    next: Instant,
    /// What each topic last said, so only changes go out.
    published: HashMap<String, String>,
    heap_maximum: u64,
    /// The most sessions seen at an update (mosquitto's `clients/maximum`).
    clients_maximum: u64,
    /// The counters and the time of the last update, for the load rates.
    last: Option<(Stats, Instant)>,
    /// Each load value now, by topic.
    loads: HashMap<String, f64>,
    version: String,
}

impl SysTree {
    /// A tree published every `interval_secs` from `now`; `None` for 0, which turns it off.
    pub fn new(interval_secs: u16, version: &str, now: Instant) -> Option<SysTree> {
        (interval_secs > 0).then(|| SysTree {
            interval: Duration::from_secs(u64::from(interval_secs)),
            started: now,
            next: now,
            published: HashMap::new(),
            heap_maximum: 0,
            clients_maximum: 0,
            last: None,
            loads: HashMap::new(),
            version: version.to_owned(),
        })
    }

    /// When the next update is due.
    pub fn next_deadline(&self) -> Instant {
        self.next
    }

    /// Whether an update is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// The topics (full names) and payloads to publish now, retained.
    pub fn update(&mut self, counters: &Stats, now: Instant) -> Vec<(String, String)> {
        self.next = now + self.interval;
        let mut out = Vec::new();
        let uptime = now.saturating_duration_since(self.started).as_secs();
        out.push(("$SYS/broker/uptime".to_owned(), format!("{uptime} seconds")));
        if self.published.is_empty() {
            out.push(("$SYS/broker/version".to_owned(), self.version.clone()));
        }
        self.heap_maximum = self.heap_maximum.max(counters.heap_current);
        self.clients_maximum = self.clients_maximum.max(counters.clients_total);
        let maxima = [
            ("heap/maximum", self.heap_maximum),
            ("clients/maximum", self.clients_maximum),
        ];
        for (name, value) in values(counters).into_iter().chain(maxima) {
            self.changed(format!("$SYS/broker/{name}"), value.to_string(), &mut out);
        }
        let state = counters.memory_pressure.name().to_owned();
        self.changed("$SYS/broker/memory/state".to_owned(), state, &mut out);
        self.update_loads(counters, now, &mut out);
        self.last = Some((counters.clone(), now));
        out
    }

    fn changed(&mut self, topic: String, payload: String, out: &mut Vec<(String, String)>) {
        if self.published.get(&topic) != Some(&payload) {
            self.published.insert(topic.clone(), payload.clone());
            out.push((topic, payload));
        }
    }

    /// mosquitto's `calc_load`: each average moves towards the per-minute rate since the last
    /// update by `1 - exp(-elapsed / window)`, and is sent when it moves by 0.01 or more.
    fn update_loads(
        &mut self,
        now_counters: &Stats,
        now: Instant,
        out: &mut Vec<(String, String)>,
    ) {
        let Some((before, then)) = &self.last else {
            return;
        };
        let elapsed = now.saturating_duration_since(*then).as_secs_f64();
        if elapsed <= 0.0 {
            return;
        }
        let earlier = load_inputs(before);
        for ((name, value), (_, old)) in load_inputs(now_counters).into_iter().zip(earlier) {
            // Gauges (sockets) can fall; a fall is a rate of 0, not a negative one.
            let rate = value.saturating_sub(old) as f64 * 60.0 / elapsed;
            for (suffix, window) in WINDOWS {
                let topic = format!("$SYS/broker/load/{name}/{suffix}");
                let current = self.loads.get(&topic).copied().unwrap_or(0.0);
                let exponent = (-elapsed / window).exp();
                let average = rate + exponent * (current - rate);
                self.loads.insert(topic.clone(), average);
                let first = !self.published.contains_key(&topic);
                if first || (average - current).abs() >= 0.01 {
                    self.published
                        .insert(topic.clone(), format!("{average:.2}"));
                    out.push((topic, format!("{average:.2}")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(out: &'a [(String, String)], topic: &str) -> Option<&'a str> {
        out.iter()
            .find(|(t, _)| t == topic)
            .map(|(_, payload)| payload.as_str())
    }

    #[test]
    fn zero_turns_the_tree_off() {
        assert!(SysTree::new(0, "v", Instant::now()).is_none());
    }

    #[test]
    fn the_first_update_sends_everything_and_later_ones_only_changes() {
        let start = Instant::now();
        let mut tree = SysTree::new(10, "minibroker version 0.1.0", start).expect("on");
        assert!(tree.due(start));
        let mut counters = Stats {
            clients_connected: 2,
            retained_messages: 5,
            ..Stats::default()
        };
        let first = tree.update(&counters, start);
        assert_eq!(
            find(&first, "$SYS/broker/version"),
            Some("minibroker version 0.1.0")
        );
        assert_eq!(find(&first, "$SYS/broker/uptime"), Some("0 seconds"));
        assert_eq!(find(&first, "$SYS/broker/clients/connected"), Some("2"));
        assert_eq!(find(&first, "$SYS/broker/clients/active"), Some("2"));
        assert_eq!(
            find(&first, "$SYS/broker/retained messages/count"),
            Some("5")
        );
        assert_eq!(
            find(&first, "$SYS/broker/publish/messages/dropped"),
            Some("0")
        );
        assert!(!tree.due(start + Duration::from_secs(9)));
        let later = start + Duration::from_secs(10);
        assert!(tree.due(later));
        counters.clients_connected = 3;
        let second = tree.update(&counters, later);
        assert_eq!(find(&second, "$SYS/broker/uptime"), Some("10 seconds"));
        assert_eq!(find(&second, "$SYS/broker/clients/connected"), Some("3"));
        assert_eq!(
            find(&second, "$SYS/broker/retained messages/count"),
            None,
            "unchanged"
        );
        assert_eq!(
            find(&second, "$SYS/broker/version"),
            None,
            "static, sent once"
        );
    }

    #[test]
    fn load_averages_follow_mosquittos_formula() {
        let start = Instant::now();
        let mut tree = SysTree::new(60, "v", start).expect("on");
        let mut counters = Stats::default();
        tree.update(&counters, start);
        // 600 messages in 60 s: 600 a minute; after one minute the 1-minute average is
        // 600 * (1 - e^-1) = 379.27, the 5-minute one 600 * (1 - e^-0.2) = 108.76.
        counters.packets_received = 600;
        let out = tree.update(&counters, start + Duration::from_secs(60));
        let one = "$SYS/broker/load/messages/received/1min";
        assert_eq!(find(&out, one), Some("379.27"));
        assert_eq!(
            find(&out, "$SYS/broker/load/messages/received/5min"),
            Some("108.76")
        );
        assert_eq!(
            find(&out, "$SYS/broker/load/bytes/sent/15min"),
            Some("0.00")
        );
        // Nothing new: the averages decay, and a change below 0.01 is not sent.
        let out = tree.update(&counters, start + Duration::from_secs(120));
        assert_eq!(find(&out, one), Some("139.53"));
        assert_eq!(find(&out, "$SYS/broker/load/bytes/sent/15min"), None);
    }

    #[test]
    fn heap_maximum_keeps_the_highest_value_seen() {
        let start = Instant::now();
        let mut tree = SysTree::new(1, "v", start).expect("on");
        let mut counters = Stats {
            heap_current: 5000,
            ..Stats::default()
        };
        tree.update(&counters, start);
        counters.heap_current = 3000;
        let out = tree.update(&counters, start + Duration::from_secs(1));
        assert_eq!(find(&out, "$SYS/broker/heap/current"), Some("3000"));
        assert_eq!(find(&out, "$SYS/broker/heap/maximum"), None, "still 5000");
    }
}
