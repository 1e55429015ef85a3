//! Fan-out: one publisher, many subscribers on one topic; total deliveries and fairness.

use std::io;

use super::{expect_opened, payload, setup_deadline};
use crate::client::open_links;
use crate::flow::{Flow, Progress};
use crate::opts::Opts;
use crate::procstat::CpuMeter;
use crate::report::Report;
use crate::window::Window;

/// Handshakes under way at once while the subscribers connect.
const CONNECT_WINDOW: usize = 64;

const TOPIC: &str = "bench/fanout";

pub fn run(o: &Opts, ticks: f64) -> io::Result<Report> {
    let mut net = super::open_net(o)?;
    let (qos, n) = (o.qos, o.subscribers);
    let deadline = setup_deadline();
    let opened = open_links(
        &mut net,
        &o.prefix("sub"),
        n,
        CONNECT_WINDOW,
        deadline,
        |_, out| {
            o.protocol.encode_subscribe(out, 1, &[TOPIC], qos);
            true
        },
    )?;
    expect_opened(opened, n, "subscribers")?;
    let opened = open_links(&mut net, &o.prefix("pub"), 1, 1, deadline, |_, _| false)?;
    expect_opened(opened, 1, "publisher")?;

    let topics = [TOPIC.as_bytes().to_vec()];
    let body = payload(o.payload);
    let mut flow = Flow::new(n..n + 1, 0..n, qos, o.inflight, Progress::Slowest);
    // The window counts messages; every one of them is n deliveries.
    let mut window = Window::new((o.window / n as u64).max(1));

    let meter = CpuMeter::start(ticks, o.broker_pid);
    let (cpu, at_end) = flow.measure(&mut net, &mut window, &topics, &body, o.secs, meter)?;
    flow.drain(&mut net, |f| f.snapshot().published);
    let after = flow.snapshot();
    net.disconnect_all();

    let case = o.case(format!("qos{qos} n{n} {}B", o.payload));
    let mut report = Report::new("fanout", case, o.label.as_deref());
    report.rate("published", at_end.published, &cpu);
    report.rate("deliveries", at_end.delivered, &cpu);
    let mean = at_end.delivered as f64 / n as f64;
    // 1.0 when the slowest subscriber kept up with the average one.
    report.num("slowest_share", at_end.slowest as f64 / mean.max(1.0));
    let expected = after.published * n as u64;
    report.num("loss", expected.saturating_sub(after.delivered) as f64);
    report.num("window_stalls", window.stalls as f64);
    report.cpu(&cpu);
    Ok(report)
}
