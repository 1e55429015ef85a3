//! Hostile clients for the memory-limit tests: subscribers that never read, and flooders that
//! write as fast as their socket takes bytes without ever reading, all on nonblocking sockets so
//! a broker that stops reading them never blocks the test.

use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::client::Client;

/// `n` clients (3.1.1, clean session) subscribed as `filter(i)` says, which from now on read
/// nothing: whatever the broker sends them waits in its memory once their sockets are full.
pub fn silent_subscribers(
    addr: SocketAddr,
    tag: &str,
    n: usize,
    filter: impl Fn(usize) -> (String, u8),
) -> Vec<Client> {
    (0..n)
        .map(|i| {
            let mut client = Client::connect(addr, &format!("{tag}-{i}"));
            let (topic, qos) = filter(i);
            assert_eq!(client.subscribe(1, &[(&topic, qos)]), [qos], "{tag}-{i}");
            client
        })
        .collect()
}

/// A connected client that writes batches of packets until the socket takes no more, and never
/// reads what comes back.
pub struct Flooder {
    client: Client,
    batch: Vec<u8>,
    /// Packets in `batch`.
    batch_packets: u64,
    offset: usize,
    /// Packets written whole.
    pub packets: u64,
    /// Set when a write failed: the broker closed the connection.
    pub closed: bool,
}

impl Flooder {
    pub fn new(mut client: Client) -> Flooder {
        client.stream().set_nonblocking(true).expect("nonblocking");
        Flooder {
            client,
            batch: Vec::new(),
            batch_packets: 0,
            offset: 0,
            packets: 0,
            closed: false,
        }
    }

    /// Writes until the socket would block; `refill` puts the next batch of packets in the
    /// (empty) vector it is given and returns how many it put there. Returns the bytes written.
    pub fn pump(&mut self, refill: &mut dyn FnMut(&mut Vec<u8>) -> u64) -> usize {
        let mut written = 0;
        while !self.closed {
            if self.offset == self.batch.len() {
                self.packets += self.batch_packets;
                self.batch.clear();
                self.offset = 0;
                self.batch_packets = refill(&mut self.batch);
                if self.batch.is_empty() {
                    break;
                }
            }
            match self.client.stream().write(&self.batch[self.offset..]) {
                Ok(0) => self.closed = true,
                Ok(n) => {
                    self.offset += n;
                    written += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.closed = true,
            }
        }
        written
    }
}

/// Pumps every flooder in turn until `deadline` or until `enough` says so; a short sleep when
/// none of them could write keeps the test's own thread from spinning.
pub fn flood_until(
    flooders: &mut [Flooder],
    deadline: Instant,
    refill: &mut dyn FnMut(usize, &mut Vec<u8>) -> u64,
    enough: &mut dyn FnMut(&[Flooder]) -> bool,
) {
    while Instant::now() < deadline && !enough(flooders) {
        let mut written = 0;
        for (i, flooder) in flooders.iter_mut().enumerate() {
            written += flooder.pump(&mut |batch| refill(i, batch));
        }
        if written == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// What a QoS 1 publisher that never stops saw.
#[derive(Debug, Default)]
pub struct Qos1Report {
    pub sent: u64,
    pub acknowledged: u64,
    /// PUBACKs with reason 0x97 Quota exceeded (MQTT 5).
    pub refused: u64,
    /// The broker closed the connection while PUBLISHes were unacknowledged (3.1.1).
    pub closed_unacknowledged: bool,
}

/// Publishes 1 KiB QoS 1 messages on `topic(k)` for k = 0, 1, … (retained if `retain`), keeping
/// 20 unacknowledged, in MQTT 5 when `v5`, until `deadline`, until the broker closes the
/// connection, or until `enough` says so. Reads its acknowledgements, nothing else.
pub fn qos1_publisher(
    addr: SocketAddr,
    id: &str,
    v5: bool,
    retain: bool,
    topic: impl Fn(u64) -> String,
    deadline: Instant,
    enough: impl Fn(&Qos1Report) -> bool,
) -> Qos1Report {
    use super::wire::{Packet, encode_publish};
    use super::wire_v5::{PacketV5, PublishV5};
    use std::collections::HashSet;
    /// The broker's default Receive Maximum (max_inflight_messages, 20).
    const WINDOW: usize = 20;
    let mut client = if v5 {
        Client::connect_v5(addr, id)
    } else {
        Client::connect(addr, id)
    };
    let payload = vec![b'q'; 1024];
    let mut report = Qos1Report::default();
    let mut outstanding = HashSet::new();
    while Instant::now() < deadline && !enough(&report) {
        while outstanding.len() < WINDOW {
            let pid = (report.sent % 65_535) as u16 + 1;
            let topic = topic(report.sent);
            let bytes = if v5 {
                let publish = PublishV5::new(&topic, &payload).qos(1, pid);
                if retain { publish.retain() } else { publish }.encode()
            } else {
                encode_publish(topic.as_bytes(), &payload, 1, retain, false, Some(pid))
            };
            if client.try_send(&bytes).is_err() {
                break;
            }
            outstanding.insert(pid);
            report.sent += 1;
        }
        let (packets, closed) = match client.closed_within(Duration::from_millis(1)) {
            Some(packets) => (packets, true),
            None => (client.take_pending(), false),
        };
        for packet in packets {
            let (pid, reason) = match packet {
                Packet::PubAck(pid) => (pid, 0),
                Packet::V5(PacketV5::PubResponse {
                    first_byte: 0x40,
                    pid,
                    reason,
                    ..
                }) => (pid, reason),
                other => panic!("{id}: unexpected {other:?}"),
            };
            assert!(outstanding.remove(&pid), "{id}: PUBACK for {pid} unasked");
            match reason {
                0x00 => report.acknowledged += 1,
                0x97 => report.refused += 1,
                other => panic!("{id}: PUBACK reason 0x{other:02X}"),
            }
        }
        if closed {
            report.closed_unacknowledged = !outstanding.is_empty();
            break;
        }
    }
    report
}
