//! Many subscriptions: one client holds N filters (half exact, half `+` wildcards), then
//! messages go to a few topics that match one filter each. Shows how matching cost grows with N.

use std::io;
use std::time::Instant;

use super::{expect_opened, payload, setup_deadline};
use crate::client::{TICK, open_links};
use crate::codec::Packet;
use crate::flow::{Flow, Progress};
use crate::net::Net;
use crate::opts::Opts;
use crate::procstat::CpuMeter;
use crate::protocol::Protocol;
use crate::report::Report;
use crate::window::Window;

/// Filters per SUBSCRIBE packet.
const PER_PACKET: usize = 100;

/// SUBSCRIBE packets awaiting their SUBACK at once.
const SUBSCRIBE_WINDOW: u64 = 16;

pub fn run(o: &Opts, ticks: f64) -> io::Result<Vec<Report>> {
    o.subs_counts
        .iter()
        .map(|&n| run_one(o, n, ticks))
        .collect()
}

fn filter(i: usize, n: usize) -> String {
    if i < n / 2 {
        format!("bench/subs/{i}")
    } else {
        format!("sensors/{i}/+")
    }
}

/// One exact and one wildcard match from each end of the ranges.
fn matching_topics(n: usize) -> Vec<Vec<u8>> {
    let half = n / 2;
    let mut topics = Vec::new();
    if half > 0 {
        topics.push(format!("bench/subs/{}", 0));
        topics.push(format!("bench/subs/{}", half - 1));
    }
    topics.push(format!("sensors/{half}/temp"));
    topics.push(format!("sensors/{}/temp", n.max(1) - 1));
    topics.sort();
    topics.dedup();
    topics.into_iter().map(String::into_bytes).collect()
}

fn run_one(o: &Opts, n: usize, ticks: f64) -> io::Result<Report> {
    let mut net = super::open_net(o)?;
    let opened = open_links(
        &mut net,
        &o.prefix(&format!("sub{n}")),
        1,
        1,
        setup_deadline(),
        |_, _| false,
    )?;
    expect_opened(opened, 1, "subscriber")?;
    let opened = open_links(
        &mut net,
        &o.prefix(&format!("pub{n}")),
        1,
        1,
        setup_deadline(),
        |_, _| false,
    )?;
    expect_opened(opened, 1, "publisher")?;

    let started = Instant::now();
    let refused = subscribe_all(&mut net, n, o.qos, o.protocol)?;
    let subscribe_secs = started.elapsed().as_secs_f64();

    let topics = matching_topics(n.max(1));
    let body = payload(o.payload);
    let mut flow = Flow::new(1..2, 0..1, o.qos, o.inflight, Progress::Total);
    let mut window = Window::new(o.window);
    let meter = CpuMeter::start(ticks, o.broker_pid);
    let (cpu, at_end) = flow.measure(&mut net, &mut window, &topics, &body, o.secs, meter)?;
    net.disconnect_all();

    let case = o.case(format!("n{n} qos{} {}B", o.qos, o.payload));
    let mut report = Report::new("subs", case, o.label.as_deref());
    report.num("subscriptions", n as f64);
    report.num("subscribe_s", subscribe_secs);
    report.rate("published", at_end.published, &cpu);
    report.rate("delivered", at_end.delivered, &cpu);
    report.num("window_stalls", window.stalls as f64);
    report.cpu(&cpu);
    if refused > 0 {
        report.warn(format!("the broker refused {refused} of {n} subscriptions"));
    }
    Ok(report)
}

/// Sends the N filters on link 0 in batches, waiting for the SUBACKs; returns how many the
/// broker refused.
fn subscribe_all(net: &mut Net, n: usize, qos: u8, protocol: Protocol) -> io::Result<usize> {
    let batches = n.div_ceil(PER_PACKET);
    let (mut sent, mut acked, mut refused) = (0usize, 0usize, 0usize);
    let deadline = setup_deadline();
    while acked < batches {
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "{acked} of {batches} SUBACKs came in time"
            )));
        }
        while sent < batches && ((sent - acked) as u64) < SUBSCRIBE_WINDOW {
            let filters: Vec<String> = (sent * PER_PACKET..((sent + 1) * PER_PACKET).min(n))
                .map(|i| filter(i, n))
                .collect();
            // Packet ids 1..=65535, reused only long after their SUBACK.
            let pid = (sent % 65_535) as u16 + 1;
            protocol.encode_subscribe(net.out(0), pid, &filters, qos);
            sent += 1;
        }
        net.flush(0);
        net.poll(TICK, |_, packet, _| {
            if let Packet::SubAck { codes, .. } = packet {
                acked += 1;
                refused += codes.iter().filter(|c| **c >= 0x80).count();
            }
        })?;
        if net.closed > 0 {
            return Err(io::Error::other("the broker closed the subscriber"));
        }
    }
    Ok(refused)
}
