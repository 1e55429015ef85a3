//! Fan-in: many publishers, one subscriber on `#`; throughput and, for QoS 1/2, loss. With
//! `--sub-port` the subscriber is on another broker, which a bridge feeds.

use std::io;

use super::{expect_opened, payload, setup_deadline};
use crate::client::open_links;
use crate::flow::{Flow, Progress};
use crate::opts::Opts;
use crate::procstat::CpuMeter;
use crate::report::Report;
use crate::window::Window;

pub fn run(o: &Opts, ticks: f64) -> io::Result<Report> {
    let mut net = super::open_net(o)?;
    let qos = o.qos;
    if let Some(sub_addr) = o.sub_addr {
        net.set_addr(sub_addr);
    }
    net.set_clean_session(!o.persistent);
    let subscribed = open_links(
        &mut net,
        &o.prefix("sub"),
        1,
        1,
        setup_deadline(),
        |_, out| {
            o.protocol.encode_subscribe(out, 1, &["#"], qos);
            true
        },
    )?;
    expect_opened(subscribed, 1, "subscriber")?;
    net.set_addr(o.addr);
    net.set_clean_session(true);
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
        .map(|t| format!("bench/fanin/{t}").into_bytes())
        .collect();
    let body = payload(o.payload);
    let mut flow = Flow::new(1..1 + p, 0..1, qos, o.inflight, Progress::Total);
    let mut window = Window::new(o.window);

    let meter = CpuMeter::start(ticks, o.broker_pid);
    let (cpu, at_end) = flow.measure(&mut net, &mut window, &topics, &body, o.secs, meter)?;
    flow.drain(&mut net, |f| f.snapshot().published);
    let after = flow.snapshot();
    net.disconnect_all();
    if o.persistent {
        super::discard_session(o, &format!("{}-0", o.prefix("sub")))?;
    }

    let persistent = if o.persistent { ", persistent sub" } else { "" };
    let case = o.case(format!(
        "qos{qos} p{p} t{} {}B{persistent}",
        o.topics, o.payload
    ));
    let mut report = Report::new("fanin", case, o.label.as_deref());
    report.rate("published", at_end.published, &cpu);
    report.rate("delivered", at_end.delivered, &cpu);
    // Delivered must equal what the broker acknowledged; for QoS 0 this is what it dropped.
    let loss = after.published.saturating_sub(after.delivered);
    report.num("loss", loss as f64);
    report.num(
        "loss_pct",
        100.0 * loss as f64 / after.published.max(1) as f64,
    );
    report.num("window_stalls", window.stalls as f64);
    report.cpu(&cpu);
    if qos > 0 && loss > 0 {
        report.warn(format!(
            "{loss} of {} acknowledged QoS {qos} messages were never delivered",
            after.published
        ));
    }
    Ok(report)
}
