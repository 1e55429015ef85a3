//! Burst: QoS 1/2 publishers and no subscriber on this broker, whose bridge's upstream is down,
//! so everything it acknowledges waits in the bridge's bounded queue: the broker's resident
//! memory before, at its peak during the burst and after it, against the configured bound.

use std::io;
use std::time::{Duration, Instant};

use super::{expect_opened, payload, setup_deadline};
use crate::client::open_links;
use crate::flow::{Flow, Progress};
use crate::opts::Opts;
use crate::procstat::{CpuMeter, rss_kb};
use crate::report::Report;
use crate::window::Window;

/// How often the broker's memory is sampled during the burst.
const SAMPLE: Duration = Duration::from_millis(100);

pub fn run(o: &Opts, ticks: f64) -> io::Result<Report> {
    let mut net = super::open_net(o)?;
    let p = o.publishers;
    let opened = open_links(
        &mut net,
        &o.prefix("pub"),
        p,
        p,
        setup_deadline(),
        |_, _| false,
    )?;
    expect_opened(opened, p, "publishers")?;
    let topics: Vec<Vec<u8>> = (0..o.topics)
        .map(|t| format!("bench/burst/{t}").into_bytes())
        .collect();
    let body = payload(o.payload);
    let rss = || o.broker_pid.and_then(rss_kb).unwrap_or(0);
    let before = rss();
    let mut peak = before;
    // Nothing is delivered here, so the window is not what limits the publishers.
    let mut window = Window::new(u64::MAX / 2);
    let mut flow = Flow::new(0..p, 0..0, o.qos, o.inflight, Progress::Total);
    let meter = CpuMeter::start(ticks, o.broker_pid);
    let end = Instant::now() + o.secs;
    while Instant::now() < end {
        let until = (Instant::now() + SAMPLE).min(end);
        flow.pump(&mut net, &mut window, &topics, &body, until)?;
        peak = peak.max(rss());
    }
    let cpu = meter.stop();
    let at_end = flow.snapshot();
    flow.drain(&mut net, |_| 0);
    net.disconnect_all();
    let after = rss();

    let case = o.case(format!("qos{} p{p} {}B", o.qos, o.payload));
    let mut report = Report::new("burst", case, o.label.as_deref());
    report.rate("published", at_end.published, &cpu);
    report.num("rss_before_kb", before as f64);
    report.num("rss_peak_kb", peak.max(after) as f64);
    report.num("rss_after_kb", after as f64);
    report.cpu(&cpu);
    Ok(report)
}
