//! Idle connections: how fast the broker accepts them (each with one subscription) and how
//! much memory each one costs it while idle.

use std::fs;
use std::io;
use std::time::{Duration, Instant};

use super::setup_deadline;
use crate::client::{TICK, open_links};
use crate::net::Net;
use crate::opts::Opts;
use crate::procstat::{CpuMeter, rss_kb};
use crate::report::Report;

/// Handshakes under way at once: enough to keep the broker busy, few enough that its listen
/// backlog (mosquitto's is 100) never overflows.
const CONNECT_WINDOW: usize = 64;

/// File descriptors kept free for everything but the links.
const SPARE_FDS: usize = 64;

/// The broker gets this long to settle before its memory is read.
const SETTLE: Duration = Duration::from_millis(300);

/// How long the links are then held idle while the broker's CPU is watched.
const MAX_IDLE: Duration = Duration::from_secs(2);

pub fn run(o: &Opts, ticks: f64) -> io::Result<Report> {
    let mut report = Report::new("conns", o.case(format!("n{}", o.conns)), o.label.as_deref());
    let mut n = o.conns;
    if let Some(limit) = open_files_limit()
        && limit < n + SPARE_FDS
    {
        n = limit.saturating_sub(SPARE_FDS);
        report.warn(format!(
            "only {limit} open files allowed (ulimit -n): trying {n} connections"
        ));
    }
    let mut net = super::open_net(o)?;
    let rss_before = o.broker_pid.and_then(rss_kb);
    let qos = o.qos;

    let meter = CpuMeter::start(ticks, o.broker_pid);
    let opened = open_links(
        &mut net,
        &o.prefix("idle"),
        n,
        CONNECT_WINDOW,
        setup_deadline(),
        |i, out| {
            o.protocol
                .encode_subscribe(out, 1, &[format!("bench/idle/{i}")], qos);
            true
        },
    )?;
    let cpu = meter.stop();

    wait(&mut net, SETTLE)?;
    let rss_after = o.broker_pid.and_then(rss_kb);
    let idle = CpuMeter::start(ticks, o.broker_pid);
    wait(&mut net, MAX_IDLE.min(o.secs))?;
    let idle_cpu = idle.stop();
    net.disconnect_all();

    report.num("connections", opened as f64);
    report.rate("connects", opened as u64, &cpu);
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        report.num("rss_before_kb", before as f64);
        report.num("rss_after_kb", after as f64);
        let per_conn = after.saturating_sub(before) as f64 * 1024.0 / opened.max(1) as f64;
        report.num("bytes_per_conn", per_conn);
    }
    if let Some(busy) = idle_cpu.broker {
        // A broker that scans its connections on a timer shows up here.
        report.num("idle_cpu_ms_per_s", 1000.0 * busy / idle_cpu.wall);
    }
    report.cpu(&cpu);
    if opened < n {
        report.warn(format!("only {opened} of {n} connections opened in time"));
    }
    if net.closed > 0 {
        report.warn(format!("the broker closed {} idle connections", net.closed));
    }
    Ok(report)
}

/// Keeps reading (keep-alive is off, so nothing should come) for `how_long`.
fn wait(net: &mut Net, how_long: Duration) -> io::Result<()> {
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        net.poll(TICK.max(Duration::from_millis(10)), |_, _, _| {})?;
    }
    Ok(())
}

/// The soft limit on open files, from `/proc/self/limits` (raising it needs `ulimit -n`).
fn open_files_limit() -> Option<usize> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
