//! An MQTT broker that keeps an audit trail: every client that connects or leaves and every
//! message routed is seen by the host program, which here counts them per topic and prints a
//! summary when it stops. It sets every hook (each allows everything) and subscribes to `#`
//! itself, so `make bench` runs it as the "embedded" rows: what the hooks and an in-process
//! subscriber that receives every message cost.
//!
//! ```text
//! cargo run --release --example audit_log -- --port 1883
//! ```
//!
//! Options: `--port PORT` (default 1883; listens on 127.0.0.1), `--max-queued N` and
//! `--max-inflight N` (the broker's `max_queued_messages` and `max_inflight_messages`).
//! SIGINT or SIGTERM stops it.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use minibroker::BrokerBuilder;
use minibroker::embed::{Event, SubscribeOptions, Verdict};
use minibroker::protocol::QoS;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// What the observer saw.
#[derive(Default)]
struct Trail {
    connects: AtomicU64,
    disconnects: AtomicU64,
    messages: AtomicU64,
}

fn numeric(args: &mut impl Iterator<Item = String>, option: &str) -> Result<u64, String> {
    let value = args
        .next()
        .ok_or_else(|| format!("{option} needs a value"))?;
    value
        .parse()
        .map_err(|_| format!("{option}: not a number: {value}"))
}

fn main() -> Result<(), Box<dyn Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let (mut port, mut max_queued, mut max_inflight) = (1883, 1000, 20);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = u16::try_from(numeric(&mut args, &arg)?)?,
            "--max-queued" => max_queued = usize::try_from(numeric(&mut args, &arg)?)?,
            "--max-inflight" => max_inflight = u16::try_from(numeric(&mut args, &arg)?)?,
            _ => return Err(format!("unknown option {arg}").into()),
        }
    }
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let trail = Arc::new(Trail::default());
    let seen = Arc::clone(&trail);
    let broker = BrokerBuilder::new()
        .listen(([127, 0, 0, 1], port).into())
        .configure(|config| {
            config.max_queued_messages = max_queued;
            config.max_inflight_messages = max_inflight;
        })
        .authenticate(|_| Verdict::Allow)
        .authorize_publish(|_, _, _, _| Verdict::Allow)
        .authorize_subscribe(|_, _| Verdict::Allow)
        .authorize_delivery(|_, _, _| true)
        .on_event(move |event| {
            let counter = match event {
                Event::Connected(_) => &seen.connects,
                Event::Disconnected { .. } => &seen.disconnects,
                Event::Message { .. } => &seen.messages,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .build()?;
    let handle = broker.spawn();

    // Every message, per topic: the in-process subscriber.
    let everything = handle.subscribe_with("#", SubscribeOptions::new(QoS::AtMostOnce))?;
    let per_topic = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let counts = Arc::clone(&per_topic);
    let recorder = thread::spawn(move || {
        for message in everything.iter() {
            let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
            *counts.entry(message.topic.to_string()).or_default() += 1;
        }
    });

    let _ = signals.forever().next();
    handle.stop()?;
    let _ = recorder.join();
    println!(
        "{} connects, {} disconnects, {} messages routed",
        trail.connects.load(Ordering::Relaxed),
        trail.disconnects.load(Ordering::Relaxed),
        trail.messages.load(Ordering::Relaxed)
    );
    let counts = per_topic.lock().unwrap_or_else(|e| e.into_inner());
    for (topic, count) in counts.iter().take(20) {
        println!("  {topic}: {count}");
    }
    Ok(())
}
