//! `memory_limit` and a bridge bringing messages in. A bridge acknowledges upstream what its
//! local side takes, so the broker cannot refuse its messages as it refuses a client's; it stops
//! reading the bridge instead, and the upstream broker keeps them. A flood that comes in over a
//! bridge to a subscriber that does not read must leave the home broker within its budget and,
//! once the subscriber reads, arrive whole.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::conf::{ConfDir, free_port};
use common::hostile::qos1_publisher;
use common::memory::{MIB, Rss, mib};
use common::{Broker, Client, Packet, Publish, TIMEOUT};

/// The home broker's budget: well below what the flood brings.
const BUDGET: u64 = 8 * MIB;

/// As in `memory_limit.rs`: the allocator's slack, buffer capacity ahead of length, and one
/// turn's reads before the account is checked. Fixed, not a share of the load.
const OVERHEAD: u64 = 12 * MIB;

/// 1 KiB each: 40 MiB, five times the budget.
const MESSAGES: u64 = 40_000;

/// How long the upstream may take to acknowledge the whole flood, and the subscriber to read it.
const FLOOD_TIME: Duration = Duration::from_secs(60);

fn start_upstream(dir: &ConfDir) -> Broker {
    // The upstream holds the flood for the bridge's session while the home broker does not
    // read it: its queue must not be the bound.
    let conf = format!(
        "listener {} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n",
        free_port()
    );
    let file = dir.write("upstream.conf", &conf);
    Broker::start_exactly(&["-c", &file], &[])
}

fn start_home(dir: &ConfDir, upstream: &Broker) -> Broker {
    let conf = format!(
        "listener {} 127.0.0.1\nallow_anonymous true\n\
         memory_limit {BUDGET}\nmax_queued_messages 1000000\n\
         connection b\naddress {}\nrestart_timeout 1\ncleansession false\n\
         topic flood/# in 1\n",
        free_port(),
        upstream.addr()
    );
    let file = dir.write("home.conf", &conf);
    Broker::start_exactly(&["-c", &file], &[])
}

/// The next PUBLISH within `timeout`, if one comes.
fn try_receive(client: &mut Client, timeout: Duration) -> Option<Publish> {
    match client.try_next(timeout)? {
        Packet::Publish(publish) => Some(publish),
        other => panic!("unexpected {other:?}"),
    }
}

/// Publishes on the upstream until a message comes through the bridge to `subscriber`.
fn wait_for_bridge(upstream: &Broker, subscriber: &mut Client) {
    let mut probe = Client::connect(upstream.addr(), "probe");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        probe.publish_complete(&Publish::new("flood/probe", b"up").qos(1, 1));
        if let Some(got) = try_receive(subscriber, Duration::from_millis(500)) {
            assert_eq!(got.topic, "flood/probe");
            subscriber.ack(&got);
            return;
        }
        assert!(Instant::now() < deadline, "the bridge never came up");
    }
}

#[test]
fn a_bridge_flood_waits_upstream_at_the_budget_and_arrives_whole() {
    let dir = ConfDir::new();
    let upstream = start_upstream(&dir);
    let home = start_home(&dir, &upstream);
    let mut slow = Client::connect(home.addr(), "slow");
    assert_eq!(slow.subscribe(1, &[("flood/#", 1)]), [1]);
    wait_for_bridge(&upstream, &mut slow);
    // Probes sent before the bridge's subscription was in place may still trickle in.
    while let Some(extra) = try_receive(&mut slow, Duration::from_millis(300)) {
        slow.ack(&extra);
    }
    let idle = Rss::of(home.pid());

    // The subscriber reads nothing while the flood goes to the upstream, which acknowledges
    // every message: from then on they are the two brokers' to keep.
    let report = qos1_publisher(
        upstream.addr(),
        "flooder",
        false,
        false,
        |k| format!("flood/{k}"),
        Instant::now() + FLOOD_TIME,
        |r| r.acknowledged >= MESSAGES,
    );
    assert_eq!(report.acknowledged, MESSAGES, "{report:?}");
    // Give the home broker time to take in what it will.
    std::thread::sleep(Duration::from_secs(2));
    let peak = Rss::of(home.pid()).peak;
    let bound = idle.now + BUDGET + OVERHEAD;
    println!(
        "bridge flood: idle {}, peak {}, bound {}",
        mib(idle.now),
        mib(peak),
        mib(bound)
    );
    assert!(
        peak <= bound,
        "peak resident memory {} over idle {} + budget {} + overhead {}",
        mib(peak),
        mib(idle.now),
        mib(BUDGET),
        mib(OVERHEAD)
    );

    // Now the subscriber reads: every message the upstream acknowledged arrives.
    let mut seen = HashSet::new();
    let deadline = Instant::now() + FLOOD_TIME;
    while (seen.len() as u64) < MESSAGES && Instant::now() < deadline {
        let Some(got) = try_receive(&mut slow, Duration::from_secs(5)) else {
            break;
        };
        slow.ack(&got);
        if let Some(k) = got.topic.strip_prefix("flood/")
            && let Ok(k) = k.parse::<u64>()
        {
            seen.insert(k);
        }
    }
    assert_eq!(
        seen.len() as u64,
        MESSAGES,
        "messages lost between the brokers"
    );
}
