//! Latency: one publisher at a fixed rate, one subscriber; percentiles of the time from writing
//! a PUBLISH to reading it back, from a timestamp carried in the payload.

use std::io;
use std::time::{Duration, Instant};

use super::{expect_opened, payload, setup_deadline};
use crate::client::{self, OUT_BYTES, Publisher, TICK};
use crate::codec::Packet;
use crate::net::Net;
use crate::opts::Opts;
use crate::procstat::CpuMeter;
use crate::report::Report;

const TOPIC: &str = "bench/latency";

/// Messages sent this early are left out of the percentiles: connections and caches warm up.
const WARM_UP: Duration = Duration::from_millis(500);

/// After a pause (a descheduled generator) at most this many late messages go out at once.
const MAX_CATCH_UP: u64 = 1000;

/// How long the end of the run waits for the last messages.
const DRAIN: Duration = Duration::from_secs(1);

pub fn run(o: &Opts, ticks: f64) -> io::Result<Report> {
    let mut net = super::open_net(o)?;
    let qos = o.qos;
    let opened = open_links(&mut net, o, qos)?;
    expect_opened(opened, 2, "clients")?;
    let mut publisher = Publisher::new(1, qos, o.inflight.max(1000));
    let mut body = payload(o.payload.max(8));
    let origin = Instant::now();
    let warm_up = WARM_UP.min(o.secs / 10);
    let mut sink = Sink {
        origin,
        warm_up_ns: warm_up.as_nanos() as u64,
        samples: Vec::with_capacity((o.rate as f64 * o.secs.as_secs_f64()) as usize),
        received: 0,
    };

    let meter = CpuMeter::start(ticks, o.broker_pid);
    let start = Instant::now();
    while start.elapsed() < o.secs {
        let due = (start.elapsed().as_secs_f64() * o.rate as f64) as u64;
        let mut burst = due.saturating_sub(publisher.sent).min(MAX_CATCH_UP);
        while burst > 0 && publisher.can_send(&net) && net.pending(1) < OUT_BYTES {
            // The stamp is taken per message, so pacing jitter does not count as latency.
            let now = origin.elapsed().as_nanos() as u64;
            body[..8].copy_from_slice(&now.to_le_bytes());
            publisher.send(&mut net, TOPIC.as_bytes(), &body);
            burst -= 1;
        }
        net.flush(1);
        net.poll(TICK, |id, packet, out| {
            sink.on_packet(id, packet, out, &mut publisher)
        })?;
        if net.closed > 0 {
            return Err(io::Error::other("the broker closed a link during the run"));
        }
    }
    let cpu = meter.stop();
    let sent = publisher.sent;
    let delivered = sink.received;
    let drain_start = Instant::now();
    while drain_start.elapsed() < DRAIN
        && (sink.received < publisher.acked || publisher.acked < sent)
    {
        net.poll(TICK, |id, packet, out| {
            sink.on_packet(id, packet, out, &mut publisher)
        })?;
    }
    net.disconnect_all();

    let case = o.case(format!("qos{qos} {}/s {}B", o.rate, body.len()));
    let mut report = Report::new("latency", case, o.label.as_deref());
    let Sink {
        mut samples,
        received,
        ..
    } = sink;
    report.rate("delivered", delivered, &cpu);
    samples.sort_unstable();
    for (name, q) in [("p50_us", 0.5), ("p99_us", 0.99), ("p999_us", 0.999)] {
        report.num(name, percentile(&samples, q));
    }
    report.num("max_us", samples.last().map_or(f64::NAN, |m| f64::from(*m)));
    report.num("samples", samples.len() as f64);
    report.num("loss", sent.saturating_sub(received) as f64);
    report.cpu(&cpu);
    let achieved = sent as f64 / cpu.wall;
    if achieved < 0.95 * o.rate as f64 {
        report.warn(format!(
            "sent {achieved:.0} msg/s, short of the {} asked for",
            o.rate
        ));
    }
    Ok(report)
}

/// The subscriber's side: latency samples from the stamps in the payloads.
struct Sink {
    origin: Instant,
    warm_up_ns: u64,
    /// Microseconds from writing each message to reading it back.
    samples: Vec<u32>,
    received: u64,
}

impl Sink {
    /// Link 1 is the publisher, link 0 the subscriber.
    fn on_packet(&mut self, id: usize, packet: Packet<'_>, out: &mut Vec<u8>, p: &mut Publisher) {
        if id == 1 {
            p.on_packet(&packet, out);
            return;
        }
        if let Packet::Publish(publish) = &packet
            && let Some(stamp) = publish.payload.get(..8)
        {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(stamp);
            let sent = u64::from_le_bytes(bytes);
            let now = self.origin.elapsed().as_nanos() as u64;
            if sent >= self.warm_up_ns {
                let micros = now.saturating_sub(sent) / 1000;
                self.samples.push(micros.min(u64::from(u32::MAX)) as u32);
            }
            self.received += 1;
        }
        client::acknowledge(&packet, out);
    }
}

/// The subscriber (link 0) on the topic, then the publisher (link 1).
fn open_links(net: &mut Net, o: &Opts, qos: u8) -> io::Result<usize> {
    let sub = client::open_links(net, &o.prefix("sub"), 1, 1, setup_deadline(), |_, out| {
        o.protocol.encode_subscribe(out, 1, &[TOPIC], qos);
        true
    })?;
    let publ = client::open_links(net, &o.prefix("pub"), 1, 1, setup_deadline(), |_, _| false)?;
    Ok(sub + publ)
}

/// The nearest-rank percentile of sorted samples, in the samples' unit.
fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let s: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&s, 0.5), 500.0);
        assert_eq!(percentile(&s, 0.999), 999.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
