//! Offline: QoS 1 publishers fill the queue of a persistent session whose subscriber is away,
//! then the subscriber comes back and drains it. With `--restart`, the broker is killed with
//! SIGKILL between the two and started again, so the drain counts what its store kept of what
//! it had acknowledged: the loss after `kill -9`.

use std::io;
use std::net::TcpStream;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use super::{expect_opened, payload, setup_deadline};
use crate::client::{self, TICK, open_links};
use crate::codec::Packet;
use crate::flow::{Flow, Progress};
use crate::opts::Opts;
use crate::procstat::CpuMeter;
use crate::report::Report;
use crate::window::Window;

/// The drain ends after this long without a delivery.
const DRAIN_QUIET: Duration = Duration::from_secs(2);
/// How long the restarted broker may take to accept connections (it loads its store first).
const RESTART_LIMIT: Duration = Duration::from_secs(60);

pub fn run(o: &Opts, ticks: f64) -> io::Result<Report> {
    let sub_id = o.prefix("sub");
    let mut net = super::open_net(o)?;
    net.set_clean_session(false);
    let subscribed = open_links(&mut net, &sub_id, 1, 1, setup_deadline(), |_, out| {
        o.protocol.encode_subscribe(out, 1, &["#"], 1);
        true
    })?;
    expect_opened(subscribed, 1, "subscriber")?;
    // The subscriber leaves; its session stays and queues what comes.
    net.disconnect_all();
    thread::sleep(Duration::from_millis(200));

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
        .map(|t| format!("bench/offline/{t}").into_bytes())
        .collect();
    let body = payload(o.payload);
    // Nothing is delivered while the subscriber is away: the window must not wait for it.
    let mut window = Window::new(u64::MAX / 2);
    let mut flow = Flow::new(0..p, 0..0, 1, o.inflight, Progress::Total);
    let meter = CpuMeter::start(ticks, o.broker_pid);
    let (cpu, _) = flow.measure(&mut net, &mut window, &topics, &body, o.secs, meter)?;
    flow.drain(&mut net, |_| 0);
    let acknowledged = flow.snapshot().published;

    let restarted = match &o.restart {
        Some(command) => Some(kill_and_restart(o, command)?),
        None => {
            net.disconnect_all();
            None
        }
    };
    let drained = drain(o, &sub_id);
    if let Some(mut child) = restarted {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let (delivered, drain_secs) = drained?;

    let after_kill = if o.restart.is_some() { ", kill -9" } else { "" };
    let case = o.case(format!("qos1 p{p} {}B{after_kill}", o.payload));
    let mut report = Report::new("offline", case, o.label.as_deref());
    report.rate("published", acknowledged, &cpu);
    report.num("acknowledged", acknowledged as f64);
    report.num("delivered", delivered as f64);
    report.num("drained_per_s", delivered as f64 / drain_secs.max(1e-9));
    let loss = acknowledged.saturating_sub(delivered);
    report.num("loss", loss as f64);
    report.num("loss_pct", 100.0 * loss as f64 / acknowledged.max(1) as f64);
    report.cpu(&cpu);
    if loss > 0 {
        report.warn(format!(
            "{loss} of {acknowledged} acknowledged QoS 1 messages were not delivered{after_kill}"
        ));
    }
    Ok(report)
}

/// SIGKILL to the broker, then `command` (through the shell) to start it again; returns once
/// it accepts connections.
fn kill_and_restart(o: &Opts, command: &str) -> io::Result<Child> {
    let pid = o
        .broker_pid
        .ok_or_else(|| io::Error::other("--restart needs --broker-pid"))?;
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()?;
    // The old process must be gone before the new one binds the same port.
    let gone = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}/stat")).exists() && Instant::now() < gone {
        if std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.split_whitespace().nth(2) == Some("Z"))
        {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let child = Command::new("sh").args(["-c", command]).spawn()?;
    let deadline = Instant::now() + RESTART_LIMIT;
    while TcpStream::connect(o.addr).is_err() {
        if Instant::now() >= deadline {
            return Err(io::Error::other(
                "the restarted broker does not accept connections",
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(child)
}

/// The subscriber resumes its session and acknowledges everything until the broker has sent
/// nothing for a while; returns the messages received and the seconds it took.
fn drain(o: &Opts, sub_id: &str) -> io::Result<(u64, f64)> {
    let mut net = super::open_net(o)?;
    net.set_clean_session(false);
    // Connected by hand: the queued messages follow the CONNACK at once, and each must be
    // acknowledged for the broker to send more.
    net.connect(&format!("{sub_id}-0"))?;
    let mut start = Instant::now();
    let mut connected = false;
    let mut received = 0u64;
    let mut last = Instant::now();
    // A restarted broker may hold the connection in its listen backlog while it loads its
    // store: the quiet period counts from the CONNACK.
    while if connected {
        last.elapsed() < DRAIN_QUIET
    } else {
        start.elapsed() < RESTART_LIMIT
    } {
        let before = received;
        let mut acked = false;
        net.poll(TICK, |_, packet, out| {
            acked |= matches!(packet, Packet::ConnAck { .. });
            if client::acknowledge(&packet, out) {
                received += 1;
            }
        })?;
        if acked && !connected {
            connected = true;
            start = Instant::now();
            last = start;
        }
        if received != before {
            last = Instant::now();
        }
        if net.closed > 0 {
            break;
        }
    }
    let secs = last.saturating_duration_since(start).as_secs_f64();
    net.disconnect_all();
    super::discard_session(o, &format!("{sub_id}-0"))?;
    Ok((received, secs))
}
