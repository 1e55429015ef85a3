//! The persistence promise under `kill -9`: a QoS 1 publisher records every PUBACK while the
//! broker is killed at arbitrary moments and restarted, several times; afterwards the persistent
//! subscriber receives every acknowledged message. Duplicates are allowed (and counted), losses
//! are not.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::conf::{ConfDir, free_port};
use common::{Broker, Client, Connect, Packet, Publish};

const CYCLES: usize = 5;
/// QoS 1 messages the publisher keeps unacknowledged at once.
const WINDOW: usize = 32;

/// Publishes numbered QoS 1 messages from `first` on until the connection fails; every number
/// whose PUBACK arrived goes into `acked`. Returns the next number to use.
fn publish_until_killed(addr: SocketAddr, first: u64, acked: &Mutex<BTreeSet<u64>>) -> u64 {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return first;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let connect = Connect::v311("crash-publisher").encode();
    if stream.write_all(&connect).is_err() {
        return first;
    }
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut in_flight: HashMap<u16, u64> = HashMap::new();
    let mut next = first;
    let mut connected = false;
    loop {
        while connected && in_flight.len() < WINDOW {
            let pid = (next % 65_535) as u16 + 1;
            let publish = Publish::new("crash/data", next.to_string().as_bytes()).qos(1, pid);
            if stream.write_all(&publish.encode()).is_err() {
                return next;
            }
            in_flight.insert(pid, next);
            next += 1;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return next,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
        // A bounded pace, so the subscriber's backlog stays a few tens of thousands.
        thread::sleep(Duration::from_micros(500));
        // CONNACK and PUBACK are the only packets this client gets, both four bytes long.
        while buffer.len() >= 4 {
            let packet: Vec<u8> = buffer.drain(..4).collect();
            match packet[0] {
                0x20 => connected = packet[3] == 0,
                0x40 => {
                    let pid = u16::from_be_bytes([packet[2], packet[3]]);
                    if let Some(number) = in_flight.remove(&pid) {
                        acked.lock().unwrap().insert(number);
                    }
                }
                other => panic!("unexpected packet type {other:#x}"),
            }
        }
    }
}

#[test]
fn no_acknowledged_message_is_lost_across_kill_9_cycles() {
    let dir = ConfDir::new();
    let port = free_port();
    let store_dir = dir.store_dir("");
    let conf = dir.write(
        "m.conf",
        &format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
             persistence_location {store_dir}\nmax_queued_messages 0\n"
        ),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = || Broker::start_exactly(&["-c", &conf, "-v"], &[]);

    let mut broker = start();
    let (mut sink, _) =
        Client::connect_with(addr, &Connect::v311("crash-sink").clean_session(false));
    assert_eq!(sink.subscribe(1, &[("crash/#", 1)]), [1]);
    sink.disconnect();

    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let mut next = 0;
    // Kill moments spread over 150–650 ms, different each cycle but the same each run.
    let mut seed = 0x9E37_79B9_u32;
    for cycle in 0..CYCLES {
        let publisher = {
            let acked = Arc::clone(&acked);
            thread::spawn(move || publish_until_killed(addr, next, &acked))
        };
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let wait = 150 + u64::from(seed >> 16) % 500;
        thread::sleep(Duration::from_millis(wait));
        broker.kill();
        next = publisher.join().expect("publisher");
        let so_far = acked.lock().unwrap().len();
        eprintln!("cycle {cycle}: killed after {wait} ms, {so_far} acknowledged, next {next}");
        broker = start();
    }

    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 100,
        "the publisher got going: {}",
        acked.len()
    );
    let (mut sink, present) =
        Client::connect_with(addr, &Connect::v311("crash-sink").clean_session(false));
    assert!(present.0, "the subscriber's session survived");
    let mut received = BTreeSet::new();
    let mut duplicates = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some(packet) = sink.try_next(Duration::from_secs(2)) {
        let Packet::Publish(publish) = packet else {
            continue;
        };
        sink.ack(&publish);
        let number: u64 = String::from_utf8_lossy(&publish.payload)
            .parse()
            .expect("number");
        if !received.insert(number) {
            duplicates += 1;
        }
        assert!(Instant::now() < deadline, "draining took too long");
    }
    let lost: Vec<u64> = acked.difference(&received).copied().collect();
    eprintln!(
        "{} acknowledged, {} received, {duplicates} duplicates, {} lost",
        acked.len(),
        received.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "acknowledged but lost: {:?}",
        &lost[..lost.len().min(20)]
    );
    broker.assert_alive();
}
