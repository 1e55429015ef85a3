//! A well-behaved publisher and subscriber that run beside a hostile load: the publisher sends
//! QoS 1 messages one at a time and retries any the broker refuses; the subscriber keeps
//! reading. Every message the broker acknowledged with success must reach the subscriber.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::client::Client;
use super::wire::{Connect, Packet, Publish};
use super::wire_v5::{ConnectV5, PacketV5, PublishV5};

/// How long the publisher waits for one acknowledgement: the broker may stop reading it for
/// about a second at a time under memory pressure, and a slow machine stretches that.
const ACK_WAIT: Duration = Duration::from_secs(20);
/// Between two messages, so the pair is a trickle beside the load rather than a load itself.
const PACE: Duration = Duration::from_millis(20);
/// Between retries of a refused message or connection.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// What the publisher learnt: the messages acknowledged with success, and how often the broker
/// said no.
#[derive(Debug, Default)]
pub struct Outcome {
    pub promised: BTreeSet<u32>,
    /// PUBACKs with reason 0x97 (MQTT 5).
    pub refused: u32,
    /// Connections closed on an unacknowledged PUBLISH (3.1.1), or CONNECTs refused.
    pub reconnects: u32,
}

pub struct HealthyPair {
    tag: String,
    stop: Arc<AtomicBool>,
    stop_reading: Arc<AtomicBool>,
    outcome: Arc<Mutex<Outcome>>,
    received: Arc<Mutex<BTreeSet<u32>>>,
    publisher: Option<JoinHandle<()>>,
    subscriber: Option<JoinHandle<()>>,
}

impl HealthyPair {
    /// Connects both (the publisher in MQTT 5 when `v5`, else 3.1.1), and returns once three
    /// messages have gone through, so every test starts from a working pair.
    pub fn start(addr: SocketAddr, tag: &str, v5: bool) -> HealthyPair {
        let topic = format!("healthy/{tag}");
        let mut subscriber = Client::connect(addr, &format!("{tag}-sub"));
        assert_eq!(subscriber.subscribe(1, &[(&topic, 1)]), [1]);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_reading = Arc::new(AtomicBool::new(false));
        let outcome = Arc::new(Mutex::new(Outcome::default()));
        let received = Arc::new(Mutex::new(BTreeSet::new()));
        let sub_thread = {
            let (stop, received) = (Arc::clone(&stop_reading), Arc::clone(&received));
            thread::spawn(move || read_messages(subscriber, &stop, &received))
        };
        let pub_thread = {
            let (stop, outcome, tag) = (Arc::clone(&stop), Arc::clone(&outcome), tag.to_string());
            thread::spawn(move || publish_messages(addr, &tag, &topic, v5, &stop, &outcome))
        };
        let pair = HealthyPair {
            tag: tag.to_string(),
            stop,
            stop_reading,
            outcome,
            received,
            publisher: Some(pub_thread),
            subscriber: Some(sub_thread),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while pair.received.lock().unwrap().len() < 3 {
            assert!(Instant::now() < deadline, "{tag}: the pair did not start");
            thread::sleep(Duration::from_millis(10));
        }
        pair
    }

    /// Stops publishing, waits up to 30 s for every acknowledged message to arrive, and panics
    /// naming any that did not.
    pub fn finish(mut self) -> Outcome {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(publisher) = self.publisher.take() {
            publisher.join().expect("the healthy publisher's thread");
        }
        let outcome = std::mem::take(&mut *self.outcome.lock().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        let missing = loop {
            let received = self.received.lock().unwrap().clone();
            let missing: Vec<u32> = outcome.promised.difference(&received).copied().collect();
            if missing.is_empty() || Instant::now() >= deadline {
                break missing;
            }
            thread::sleep(Duration::from_millis(50));
        };
        self.stop_reading.store(true, Ordering::Relaxed);
        if let Some(subscriber) = self.subscriber.take() {
            subscriber.join().expect("the healthy subscriber's thread");
        }
        // A PUBACK with success is the broker's promise of delivery to the subscriptions it
        // found [MQTT-4.3.2-2]; refusing under memory pressure is allowed, losing is not.
        assert!(
            missing.is_empty(),
            "{}: {} of {} acknowledged messages never reached a subscriber that kept reading: \
             {missing:?}",
            self.tag,
            missing.len(),
            outcome.promised.len()
        );
        outcome
    }
}

impl Drop for HealthyPair {
    /// Stops both threads before the broker goes (a test that failed drops the pair first), so
    /// they do not report the broker's exit as failures of their own.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.stop_reading.store(true, Ordering::Relaxed);
        for thread in [self.publisher.take(), self.subscriber.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
    }
}

/// The subscriber: reads and acknowledges until told to stop, noting each message's number.
fn read_messages(mut client: Client, stop: &AtomicBool, received: &Mutex<BTreeSet<u32>>) {
    while !stop.load(Ordering::Relaxed) {
        let (packets, closed) = match client.closed_within(Duration::from_millis(50)) {
            Some(packets) => (packets, true),
            None => (client.take_pending(), false),
        };
        for packet in packets {
            if let Packet::Publish(publish) = packet {
                if !closed {
                    client.ack(&publish);
                }
                let number = publish.payload_str().rsplit(' ').next().map(str::parse);
                if let Some(Ok(number)) = number {
                    received.lock().unwrap().insert(number);
                }
            }
        }
        assert!(
            !closed || stop.load(Ordering::Relaxed),
            "the broker closed the healthy subscriber"
        );
    }
}

/// What became of one PUBLISH.
enum Sent {
    Acknowledged,
    Refused,
    /// The connection closed before any acknowledgement.
    Closed,
}

/// The publisher: message after message until told to stop, each retried until acknowledged.
fn publish_messages(
    addr: SocketAddr,
    tag: &str,
    topic: &str,
    v5: bool,
    stop: &AtomicBool,
    outcome: &Mutex<Outcome>,
) {
    let mut client = connect(addr, tag, v5, stop, outcome);
    let mut number = 0u32;
    let mut pid = 0u16;
    while !stop.load(Ordering::Relaxed) {
        let Some(connected) = client.as_mut() else {
            return;
        };
        pid = pid % 65_535 + 1;
        let payload = format!("{tag} {number}");
        let sent = if v5 {
            let publish = PublishV5::new(topic, payload.as_bytes()).qos(1, pid);
            connected.publish_v5(&publish);
            wait_for_ack(connected, pid, stop)
        } else {
            connected.publish(&Publish::new(topic, payload.as_bytes()).qos(1, pid));
            wait_for_ack(connected, pid, stop)
        };
        match sent {
            Sent::Acknowledged => {
                outcome.lock().unwrap().promised.insert(number);
                number += 1;
                thread::sleep(PACE);
            }
            Sent::Refused => {
                outcome.lock().unwrap().refused += 1;
                thread::sleep(RETRY_PAUSE);
            }
            Sent::Closed if stop.load(Ordering::Relaxed) => return,
            Sent::Closed => {
                outcome.lock().unwrap().reconnects += 1;
                client = connect(addr, tag, v5, stop, outcome);
            }
        }
    }
}

/// Waits for the PUBACK of `pid`: success, 0x97 Quota exceeded, or the connection closed (or
/// the pair told to stop, which ends the wait as a close would).
fn wait_for_ack(client: &mut Client, pid: u16, stop: &AtomicBool) -> Sent {
    let deadline = Instant::now() + ACK_WAIT;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Sent::Closed;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "{}: no PUBACK for {pid}", client.label());
        let (packets, closed) = match client.closed_within(left.min(Duration::from_millis(100))) {
            Some(packets) => (packets, true),
            None => (client.take_pending(), false),
        };
        // One PUBLISH at a time: the first packet back is its answer.
        if let Some(packet) = packets.into_iter().next() {
            return match packet {
                Packet::PubAck(got) if got == pid => Sent::Acknowledged,
                Packet::V5(PacketV5::PubResponse {
                    first_byte: 0x40,
                    pid: got,
                    reason,
                    ..
                }) if got == pid => match reason {
                    0x00 => Sent::Acknowledged,
                    0x97 => Sent::Refused,
                    other => panic!("{}: PUBACK reason 0x{other:02X}", client.label()),
                },
                other => panic!("{}: unexpected {other:?}", client.label()),
            };
        }
        if closed {
            return Sent::Closed;
        }
    }
}

/// Connects the publisher, retrying while the broker refuses new connections; `None` if told
/// to stop first.
fn connect(
    addr: SocketAddr,
    tag: &str,
    v5: bool,
    stop: &AtomicBool,
    outcome: &Mutex<Outcome>,
) -> Option<Client> {
    let id = format!("{tag}-pub");
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let (client, code) = if v5 {
            let (client, connack) = Client::connect_v5_with(addr, &ConnectV5::new(&id));
            (client, connack.reason)
        } else {
            let (client, (_, code)) = Client::connect_with(addr, &Connect::v311(&id));
            (client, code)
        };
        if code == 0 {
            return Some(client);
        }
        // 3.1.1 "server unavailable" or MQTT 5 "quota exceeded": a broker out of memory.
        assert!(matches!(code, 3 | 0x97), "{id}: CONNACK 0x{code:02X}");
        outcome.lock().unwrap().reconnects += 1;
        thread::sleep(RETRY_PAUSE);
    }
}
