//! One module per scenario; each opens its own links, measures, and returns its reports.

pub mod burst;
pub mod conns;
pub mod fanin;
pub mod fanout;
pub mod latency;
pub mod offline;
pub mod retained;
pub mod subs;

use std::io;
use std::time::{Duration, Instant};

use crate::net::Net;
use crate::opts::Opts;
use crate::report::Report;

/// How long opening the links of a scenario may take before it gives up.
const SETUP_LIMIT: Duration = Duration::from_secs(30);

pub fn run(o: &Opts, ticks: f64) -> io::Result<Vec<Report>> {
    match o.scenario.as_str() {
        "fanin" => fanin::run(o, ticks).map(|r| vec![r]),
        "fanout" => fanout::run(o, ticks).map(|r| vec![r]),
        "latency" => latency::run(o, ticks).map(|r| vec![r]),
        "conns" => conns::run(o, ticks).map(|r| vec![r]),
        "subs" => subs::run(o, ticks),
        "retained" => retained::run(o, ticks).map(|r| vec![r]),
        "offline" => offline::run(o, ticks).map(|r| vec![r]),
        "burst" => burst::run(o, ticks).map(|r| vec![r]),
        other => Err(io::Error::other(format!("unknown scenario {other}"))),
    }
}

/// The scenario's connections: to the broker `o` names, in its protocol, with its credentials.
fn open_net(o: &Opts) -> io::Result<Net> {
    let mut net = Net::new(o.addr, o.tls.as_ref())?;
    net.set_protocol(o.protocol);
    net.set_credentials(o.credentials.clone());
    net.set_websocket(o.websocket);
    Ok(net)
}

/// The deadline for opening links.
fn setup_deadline() -> Instant {
    Instant::now() + SETUP_LIMIT
}

/// Fails unless all `count` links opened.
fn expect_opened(opened: usize, count: usize, what: &str) -> io::Result<()> {
    if opened == count {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "only {opened} of {count} {what} connected within {SETUP_LIMIT:?}"
        )))
    }
}

/// Opens the run's `--publishers` links, which subscribe to nothing, and returns the topics
/// they publish to, `bench/<scenario>/<i>`.
fn open_publishers(net: &mut Net, o: &Opts) -> io::Result<Vec<Vec<u8>>> {
    let p = o.publishers;
    let opened =
        crate::client::open_links(net, &o.prefix("pub"), p, p, setup_deadline(), |_, _| false)?;
    expect_opened(opened, p, "publishers")?;
    Ok((0..o.topics)
        .map(|t| format!("bench/{}/{t}", o.scenario).into_bytes())
        .collect())
}

/// Ends the persistent session of `client_id` by connecting with clean session 1 [MQTT-3.1.2-6],
/// so that it does not go on receiving the runs that follow.
fn discard_session(o: &Opts, client_id: &str) -> io::Result<()> {
    let mut net = open_net(o)?;
    net.connect(client_id)?;
    let deadline = setup_deadline();
    let mut acked = false;
    while !acked && Instant::now() < deadline && net.closed == 0 {
        net.poll(crate::client::TICK, |_, packet, _| {
            acked |= matches!(packet, crate::codec::Packet::ConnAck { .. });
        })?;
    }
    net.disconnect_all();
    Ok(())
}

/// A payload of `len` bytes; its content does not matter to a broker.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}
