//! Persistence over real sockets and real restarts of the binary: what a client was told
//! succeeded is there after a clean restart and after `kill -9`, and a damaged store never keeps
//! the broker from starting.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::conf::{ConfDir, free_port};
use common::{Broker, Client, Connect, ConnectV5, Packet, Publish, TIMEOUT, wire};

/// A broker with persistence in its own directory, on a port that stays the same across
/// restarts.
struct Stored {
    dir: ConfDir,
    port: u16,
    conf: String,
}

impl Stored {
    fn new(extra: &str) -> Stored {
        let dir = ConfDir::new();
        let port = free_port();
        let store_dir = dir.store_dir("");
        let conf = dir.write(
            "m.conf",
            &format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                 persistence_location {store_dir}\nmax_queued_messages 100000\n{extra}"
            ),
        );
        Stored { dir, port, conf }
    }

    fn start(&self) -> Broker {
        Broker::start_exactly(&["-c", &self.conf, "-v"], &[])
    }

    fn store_path(&self) -> String {
        self.dir.path("minibroker.db")
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

fn connect(addr: SocketAddr, id: &str, clean: bool) -> (Client, bool) {
    let (client, (present, code)) =
        Client::connect_with(addr, &Connect::v311(id).clean_session(clean));
    assert_eq!(code, 0, "CONNACK for {id}");
    (client, present)
}

fn retained_payload(addr: SocketAddr, topic: &str) -> Option<Vec<u8>> {
    let mut reader = Client::connect(addr, "retained-reader");
    reader.subscribe(1, &[(topic, 0)]);
    match reader.try_next(Duration::from_millis(500)) {
        Some(Packet::Publish(p)) => Some(p.payload),
        _ => None,
    }
}

/// Retained messages, a persistent session's subscription and its queued QoS 1 and 2 messages
/// come back after a clean restart [MQTT-3.1.2-4]: session present is 1 [MQTT-3.2.2-2], and the
/// queued messages arrive in order.
#[test]
fn clean_restart_keeps_retained_messages_and_sessions() {
    let stored = Stored::new("");
    let mut broker = stored.start();
    let addr = stored.addr();
    let mut publisher = Client::connect(addr, "pub");
    publisher.publish_complete(&Publish::new("Erdgeschoss/Wohnzimmer/Temp", b"21.5").retain());
    let (mut sub, _) = connect(addr, "dashboard", false);
    assert_eq!(sub.subscribe(1, &[("cmd/#", 2)]), [2]);
    sub.disconnect();
    publisher.publish_complete(&Publish::new("cmd/light", b"on").qos(1, 1));
    publisher.publish_complete(&Publish::new("cmd/heat", b"22").qos(2, 2));
    broker.stop(TIMEOUT);

    let mut broker = stored.start();
    assert!(broker.wait_for_log(
        "1 retained messages, 1 sessions holding 2 messages",
        TIMEOUT
    ));
    assert_eq!(
        retained_payload(addr, "Erdgeschoss/#").as_deref(),
        Some(&b"21.5"[..])
    );
    let (mut sub, present) = connect(addr, "dashboard", false);
    assert!(present, "the stored session is resumed");
    assert_eq!(sub.receive().payload, b"on");
    assert_eq!(sub.receive().payload, b"22");
    broker.assert_alive();
}

/// `kill -9` right after the acknowledgements: the store was written before they left.
#[test]
fn kill_9_keeps_what_was_acknowledged() {
    let stored = Stored::new("");
    let mut broker = stored.start();
    let addr = stored.addr();
    let (mut sub, _) = connect(addr, "sink", false);
    assert_eq!(sub.subscribe(1, &[("data/#", 1)]), [1]);
    sub.disconnect();
    let mut publisher = Client::connect(addr, "pub");
    publisher.publish_complete(&Publish::new("state/door", b"open").retain().qos(1, 9));
    for i in 1..=20u16 {
        publisher.publish_complete(&Publish::new("data/x", format!("m{i}").as_bytes()).qos(1, i));
    }
    broker.kill();

    let _broker = stored.start();
    assert_eq!(
        retained_payload(addr, "state/door").as_deref(),
        Some(&b"open"[..])
    );
    let (mut sub, present) = connect(addr, "sink", false);
    assert!(present);
    for i in 1..=20 {
        assert_eq!(sub.receive().payload, format!("m{i}").as_bytes());
    }
}

/// [MQTT-4.4.0-1] A QoS 1 delivery not yet acknowledged when the broker died is sent again with
/// DUP set after the restart, and a QoS 2 delivery whose PUBREC came gets its PUBREL again.
#[test]
fn deliveries_in_flight_are_resent_after_kill_9() {
    let stored = Stored::new("");
    let mut broker = stored.start();
    let addr = stored.addr();
    let (mut sub, _) = connect(addr, "slow", false);
    assert_eq!(sub.subscribe(1, &[("a", 1), ("b", 2)]), [1, 2]);
    let mut publisher = Client::connect(addr, "pub");
    publisher.publish_complete(&Publish::new("a", b"one").qos(1, 1));
    let first = sub.expect_publish();
    assert!(!first.dup);
    publisher.publish_complete(&Publish::new("b", b"two").qos(2, 2));
    let second = sub.expect_publish();
    let second_pid = second.pid.expect("pid");
    sub.send(&wire::pubrec(second_pid));
    sub.expect_pubrel(second_pid);
    // The PUBREC reached the broker before it died: a PING round trip proves it was handled.
    sub.sync();
    broker.kill();
    drop(sub);

    let _broker = stored.start();
    let (mut sub, present) = connect(addr, "slow", false);
    assert!(present);
    let again = sub.expect_publish();
    assert_eq!(again.payload, b"one");
    assert!(again.dup, "re-sent with DUP [MQTT-3.3.1-1]");
    assert_eq!(again.pid, first.pid);
    sub.expect_pubrel(second_pid);
    sub.send(&wire::puback(again.pid.expect("pid")));
    sub.send(&wire::pubcomp(second_pid));
    sub.expect_no_packet(Duration::from_millis(300));
}

/// [MQTT-4.3.3-2] An inbound QoS 2 message whose PUBREC was sent is not delivered a second time
/// when its publisher re-sends it after the broker's restart.
#[test]
fn inbound_qos2_state_survives_kill_9() {
    let stored = Stored::new("");
    let mut broker = stored.start();
    let addr = stored.addr();
    let (mut sub, _) = connect(addr, "sub", false);
    assert_eq!(sub.subscribe(1, &[("q2", 2)]), [2]);
    sub.disconnect();
    let (mut publisher, _) = connect(addr, "sender", false);
    publisher.publish(&Publish::new("q2", b"once").qos(2, 7));
    publisher.expect_pubrec(7);
    broker.kill();
    drop(publisher);

    let _broker = stored.start();
    let (mut publisher, present) = connect(addr, "sender", false);
    assert!(present);
    let mut resend = Publish::new("q2", b"once").qos(2, 7);
    resend.dup = true;
    publisher.publish(&resend);
    publisher.expect_pubrec(7);
    publisher.send(&wire::pubrel(7));
    publisher.expect_pubcomp(7);
    let (mut sub, _) = connect(addr, "sub", false);
    assert_eq!(sub.receive().payload, b"once");
    sub.expect_no_packet(Duration::from_millis(300));
}

/// MQTT 5 session expiry runs in wall-clock time across a restart (section 3.1.2.11.2): a
/// session with 1 s left is gone after a restart that took longer, one with an hour is not.
#[test]
fn session_expiry_continues_across_a_restart() {
    let stored = Stored::new("");
    let mut broker = stored.start();
    let addr = stored.addr();
    for (id, expiry) in [("short", 1), ("long", 3600)] {
        let (mut client, _) = Client::connect_v5_ok(addr, &ConnectV5::new(id).persistent(expiry));
        client.send(&common::wire_v5::subscribe(
            1,
            &[common::Filter::new("t", 1)],
            None,
        ));
        client.expect("SUBACK", |p| matches!(p, Packet::V5(_)));
        client.send(&common::wire_v5::disconnect(0, &common::Props::default()));
        client.expect_closed(TIMEOUT);
    }
    broker.stop(TIMEOUT);
    std::thread::sleep(Duration::from_millis(1500));
    let _broker = stored.start();
    let connect = |id: &str| ConnectV5::new(id).persistent(60).clean_start(false);
    let (_short, ack) = Client::connect_v5_ok(addr, &connect("short"));
    assert!(!ack.session_present, "expired while the broker was down");
    let (_long, ack) = Client::connect_v5_ok(addr, &connect("long"));
    assert!(ack.session_present);
}

/// A store cut at every byte of its last record (a write torn by a crash) starts, with
/// everything before that record.
#[test]
fn store_truncated_anywhere_in_its_last_record_starts() {
    let stored = Stored::new("");
    let mut broker = stored.start();
    let addr = stored.addr();
    let mut publisher = Client::connect(addr, "pub");
    publisher.publish_complete(&Publish::new("kept", b"yes").retain());
    broker.stop(TIMEOUT);
    let before = std::fs::read(stored.store_path()).expect("store");
    let mut broker = stored.start();
    let mut publisher = Client::connect(addr, "pub");
    publisher.publish_complete(&Publish::new("last", b"record").retain().qos(1, 1));
    broker.kill();
    let full = std::fs::read(stored.store_path()).expect("store");
    assert!(full.len() > before.len(), "the last publish was appended");
    for cut in before.len()..full.len() {
        std::fs::write(stored.store_path(), &full[..cut]).expect("write");
        let mut broker = stored.start();
        assert_eq!(
            retained_payload(addr, "kept").as_deref(),
            Some(&b"yes"[..]),
            "cut at {cut}"
        );
        broker.assert_alive();
        broker.kill();
    }
}

/// Garbage, a mosquitto database or a flipped bit in the middle: the file is moved aside with
/// an error line, and the broker starts with what could be read.
#[test]
fn damaged_stores_are_moved_aside_and_the_broker_starts() {
    let mosquitto_db = b"\x00\xb5\x00mosquitto db\x00\x00\x00\x06rest".to_vec();
    let garbage: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (name, bytes) in [("garbage", garbage), ("mosquitto", mosquitto_db)] {
        let stored = Stored::new("");
        std::fs::write(stored.store_path(), &bytes).expect("write");
        let mut broker = stored.start();
        assert!(
            broker.wait_for_log("the file is kept as", TIMEOUT),
            "{name}"
        );
        let _ = Client::connect(stored.addr(), "works");
        broker.assert_alive();
        let aside = std::fs::read_dir(stored.dir.path(""))
            .expect("dir")
            .filter_map(Result::ok)
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .contains("minibroker.db.bad-")
            });
        assert!(aside, "{name}: moved aside");
    }
}

/// A bit flipped inside an early record: the records before it are kept.
#[test]
fn a_corrupt_record_keeps_the_records_before_it() {
    let stored = Stored::new("");
    let mut broker = stored.start();
    let addr = stored.addr();
    let mut publisher = Client::connect(addr, "pub");
    publisher.publish_complete(&Publish::new("first", b"1").retain());
    broker.stop(TIMEOUT);
    let mut broker = stored.start();
    let mut publisher = Client::connect(addr, "pub");
    for i in 0..5 {
        let topic = format!("later/{i}");
        publisher.publish_complete(&Publish::new(&topic, b"x").retain().qos(1, 1));
    }
    broker.kill();
    let mut bytes = std::fs::read(stored.store_path()).expect("store");
    let scan = minibroker::store::scan(&bytes);
    assert!(scan.problem.is_none() && scan.records.len() >= 6);
    // A byte in the middle of the second-to-last record, well past the compacted snapshot.
    let middle = bytes.len() - 40;
    bytes[middle] ^= 0x10;
    std::fs::write(stored.store_path(), &bytes).expect("write");
    let mut broker = stored.start();
    assert!(broker.wait_for_log("the file is kept as", TIMEOUT));
    assert_eq!(retained_payload(addr, "first").as_deref(), Some(&b"1"[..]));
    broker.assert_alive();
}

/// Thousands of retained updates to a few topics: the store is compacted as it grows and stays
/// within a small multiple of the live data; SIGUSR1 compacts it at once.
#[test]
fn compaction_keeps_the_store_bounded() {
    let stored = Stored::new("");
    let mut broker = stored.start();
    let addr = stored.addr();
    let mut publisher = Client::connect(addr, "pub");
    let payload = vec![b'x'; 1000];
    for i in 0..4000u16 {
        let topic = format!("sensor/{}", i % 10);
        publisher.publish(&Publish::new(&topic, &payload).retain().qos(1, i + 1));
        publisher.expect_puback(i + 1);
    }
    let size = std::fs::metadata(stored.store_path()).expect("store").len();
    // 4 MB were written; the live data is 10 retained messages of 1 KB.
    assert!(size < 3 * 1024 * 1024, "store is {size} bytes");
    let _ = std::process::Command::new("kill")
        .args(["-USR1", &broker.pid().to_string()])
        .status();
    assert!(broker.wait_for_log("compacting the store", TIMEOUT));
    publisher.sync();
    let size = std::fs::metadata(stored.store_path()).expect("store").len();
    assert!(size < 20_000, "compacted store is {size} bytes");
    broker.stop(TIMEOUT);
    let _broker = stored.start();
    assert_eq!(
        retained_payload(addr, "sensor/3").map(|p| p.len()),
        Some(1000)
    );
}

/// A clean shutdown (SIGTERM) leaves a compact store: a log of hundreds of retained updates,
/// below every compaction trigger while running, is about its live data once the broker exits,
/// and that data is what the next start reads.
#[test]
fn a_clean_shutdown_leaves_a_compact_store() {
    let stored = Stored::new("");
    let mut broker = stored.start();
    let addr = stored.addr();
    let mut publisher = Client::connect(addr, "pub");
    let payload = vec![b'x'; 1000];
    for i in 0..500u16 {
        let topic = format!("meter/{}", i % 5);
        publisher.publish_complete(&Publish::new(&topic, &payload).retain().qos(1, i + 1));
    }
    publisher.publish_complete(&Publish::new("meter/0", b"last").retain().qos(1, 999));
    let running = std::fs::metadata(stored.store_path()).expect("store").len();
    // 500 KB of updates, under the 1 MiB of dead data that compacts a running store.
    assert!(
        running > 400_000,
        "the log holds every update: {running} bytes"
    );
    broker.stop(TIMEOUT);
    let stopped = std::fs::metadata(stored.store_path()).expect("store").len();
    // The live data: 4 retained messages of 1000 bytes and one of 4, with their records.
    assert!(
        (4_000..10_000).contains(&stopped),
        "the stopped store is {stopped} bytes"
    );
    let _broker = stored.start();
    assert_eq!(
        retained_payload(addr, "meter/0").as_deref(),
        Some(&b"last"[..])
    );
    assert_eq!(
        retained_payload(addr, "meter/4").map(|p| p.len()),
        Some(1000)
    );
}
