//! Many retained messages, then one wildcard subscriber: how long until the last of them
//! arrives, whether all of them do, and how much memory the broker takes while sending them.
//!
//! The publisher stores N retained messages on `r/<i>/x` (at QoS 1, each acknowledged, so all
//! are stored before the clock starts); the subscriber then subscribes to `r/+/x` at `--qos`
//! and acknowledges what it receives. A home-automation hub that subscribes to
//! `homeassistant/#` and rebuilds its devices from the retained discovery messages does this.

use std::io;
use std::time::{Duration, Instant};

use super::{expect_opened, payload, setup_deadline};
use crate::client::{TICK, acknowledge, open_links};
use crate::codec::{self, Packet};
use crate::net::Net;
use crate::opts::Opts;
use crate::procstat::{CpuMeter, rss_kb};
use crate::report::Report;

/// Retained PUBLISHes written before waiting for their acknowledgements.
const STORE_BATCH: usize = 1000;

/// How long the subscriber may take to receive everything before the run counts the rest lost.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// A broker that has sent nothing for this long has stopped: the rest count as lost.
const STALL_LIMIT: Duration = Duration::from_secs(5);

/// How often the broker's resident memory is sampled while it sends.
const RSS_EVERY: Duration = Duration::from_millis(20);

pub fn run(o: &Opts, ticks: f64) -> io::Result<Report> {
    let n = o.retained;
    let mut net = super::open_net(o)?;
    for (name, id) in [("pub", 0), ("sub", 1)] {
        let opened = open_links(&mut net, &o.prefix(name), 1, 1, setup_deadline(), |_, _| {
            false
        })?;
        expect_opened(opened, 1, name)?;
        debug_assert_eq!(net.len(), id + 1);
    }
    store(&mut net, n, &payload(o.payload))?;
    let rss_before = o.broker_pid.and_then(rss_kb);

    let meter = CpuMeter::start(ticks, o.broker_pid);
    let started = Instant::now();
    codec::encode_subscribe(net.out(1), 1, &["r/+/x"], o.qos);
    net.flush(1);
    let mut received = 0usize;
    let mut rss_peak = rss_before;
    let mut sampled = Instant::now();
    let mut last_at = started;
    while received < n && started.elapsed() < DRAIN_LIMIT && last_at.elapsed() < STALL_LIMIT {
        let before = received;
        net.poll(TICK, |id, packet, out| {
            if id == 1 && matches!(packet, Packet::Publish(_)) {
                received += 1;
                acknowledge(&packet, out);
            }
        })?;
        if received > before {
            last_at = Instant::now();
        }
        if sampled.elapsed() >= RSS_EVERY {
            sampled = Instant::now();
            let now = o.broker_pid.and_then(rss_kb);
            rss_peak = rss_peak.max(now);
        }
        if net.closed > 0 {
            return Err(io::Error::other("the broker closed a link"));
        }
    }
    let cpu = meter.stop();
    net.disconnect_all();

    let case = o.case(format!("n{n} qos{} {}B", o.qos, o.payload));
    let mut report = Report::new("retained", case, o.label.as_deref());
    report.num("retained", n as f64);
    report.num("received", received as f64);
    report.num("received_pct", 100.0 * received as f64 / n as f64);
    if received == n {
        report.num("drain_s", (last_at - started).as_secs_f64());
    } else {
        report.warn(format!(
            "only {received} of {n} retained messages arrived (none for {STALL_LIMIT:?} or \
             not all within {DRAIN_LIMIT:?})"
        ));
    }
    if let Some(before) = rss_before {
        report.num("rss_before_kb", before as f64);
    }
    if let Some(peak) = rss_peak {
        report.num("rss_peak_kb", peak as f64);
    }
    report.cpu(&cpu);
    Ok(report)
}

/// Publishes `n` retained QoS 1 messages on link 0 and waits for every PUBACK.
fn store(net: &mut Net, n: usize, body: &[u8]) -> io::Result<()> {
    let deadline = setup_deadline();
    let mut acked = 0usize;
    for batch in (0..n).step_by(STORE_BATCH) {
        let end = (batch + STORE_BATCH).min(n);
        for i in batch..end {
            let out = net.out(0);
            let start = out.len();
            // Packet ids 1..=60000, reused only long after their PUBACK.
            let pid = (i % 60_000) as u16 + 1;
            codec::encode_publish(out, format!("r/{i}/x").as_bytes(), 1, pid, body);
            // The RETAIN bit of the fixed header [MQTT-3.3.1.3].
            if let Some(first) = out.get_mut(start) {
                *first |= 0x01;
            }
        }
        net.flush(0);
        while acked < end {
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "{acked} of {n} retained messages acknowledged in time"
                )));
            }
            net.poll(TICK, |id, packet, _| {
                if id == 0 && matches!(packet, Packet::PubAck(_)) {
                    acked += 1;
                }
            })?;
            if net.closed > 0 {
                return Err(io::Error::other("the broker closed the publisher"));
            }
        }
    }
    Ok(())
}
