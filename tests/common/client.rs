//! A raw MQTT test client over a blocking `TcpStream`: it sends whatever bytes a test builds and
//! reads whole packets with a deadline, so no test can hang on a broker that stays silent.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::wire::{self, Connect, Packet, Publish};
use super::wire_v5;

/// How long an `expect_*` call waits before failing: generous for a slow, busy machine.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The outcome of reading one packet.
enum Read1 {
    Packet(Packet),
    TimedOut,
    Closed(String),
}

pub struct Client {
    stream: TcpStream,
    /// Bytes read but not yet split into packets.
    buf: Vec<u8>,
    /// Packets read while an `expect_*` call looked for a different kind, in arrival order.
    pending: VecDeque<Packet>,
    closed: Option<String>,
    label: String,
    /// Decode what arrives as MQTT 5 packets (`Packet::V5`).
    v5: bool,
}

impl Client {
    /// A TCP connection that has sent nothing yet.
    pub fn open(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("cannot connect to the broker at {addr}: {e}"));
        stream.set_nodelay(true).expect("set_nodelay");
        // A broker that stops reading must not block a test forever on a write.
        stream
            .set_write_timeout(Some(Duration::from_secs(20)))
            .expect("set_write_timeout");
        let label = format!("client {}", stream.local_addr().expect("local_addr"));
        Client {
            stream,
            buf: Vec::new(),
            pending: VecDeque::new(),
            closed: None,
            label,
            v5: false,
        }
    }

    /// Connects with MQTT 3.1.1, clean session, and asserts CONNACK 0.
    pub fn connect(addr: SocketAddr, client_id: &str) -> Client {
        let (client, connack) = Client::connect_with(addr, &Connect::v311(client_id));
        assert_eq!(connack, (false, 0), "CONNACK for {client_id:?}");
        client
    }

    /// Sends `connect` and waits for the CONNACK: (session present, return code).
    pub fn connect_with(addr: SocketAddr, connect: &Connect) -> (Client, (bool, u8)) {
        let mut client = Client::open(addr);
        client.label = format!("client {:?}", connect.client_id);
        client.send(&connect.encode());
        let connack = client.expect_connack();
        (client, connack)
    }

    /// From now on, decodes what the broker sends as MQTT 5 packets; `label` names the client
    /// in failure messages.
    pub fn use_v5(&mut self, label: &str) {
        self.v5 = true;
        self.label = label.to_string();
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The socket itself, for tests that write to it outside the packet helpers.
    #[allow(dead_code)]
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("local_addr")
    }

    /// Writes bytes; panics with a clear message if the connection is gone.
    pub fn send(&mut self, bytes: &[u8]) {
        if let Err(e) = self.try_send(bytes) {
            panic!("{}: write of {} bytes failed: {e}", self.label, bytes.len());
        }
    }

    /// Writes bytes, reporting failure (for hostile tests where the broker may close first).
    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Alias of `send` for hostile tests, where the bytes are deliberately not a packet.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.send(bytes)
    }

    pub fn publish(&mut self, publish: &Publish) {
        self.send(&publish.encode());
    }

    /// Publishes and completes the QoS handshake as a sender (§4.3): QoS 0 is followed by a
    /// PINGREQ round trip, so when this returns the broker has processed the PUBLISH.
    pub fn publish_complete(&mut self, publish: &Publish) {
        self.publish(publish);
        match (publish.qos, publish.pid) {
            (1, Some(pid)) => self.expect_puback(pid),
            (2, Some(pid)) => {
                self.expect_pubrec(pid);
                self.send(&wire::pubrel(pid));
                self.expect_pubcomp(pid);
            }
            _ => self.sync(),
        }
    }

    /// SUBSCRIBE and wait for the SUBACK; returns the return codes.
    pub fn subscribe(&mut self, pid: u16, filters: &[(&str, u8)]) -> Vec<u8> {
        self.send(&wire::subscribe(pid, filters));
        self.expect_suback(pid)
    }

    pub fn unsubscribe(&mut self, pid: u16, filters: &[&str]) {
        self.send(&wire::unsubscribe(pid, filters));
        self.expect_unsuback(pid);
    }

    /// A PINGREQ/PINGRESP round trip: everything sent before it has been processed.
    pub fn sync(&mut self) {
        self.send(&wire::pingreq());
        self.expect_pingresp();
    }

    /// Waits for the next PUBLISH and completes its QoS handshake as a receiver.
    pub fn receive(&mut self) -> Publish {
        let publish = self.expect_publish();
        self.ack(&publish);
        publish
    }

    /// Acknowledges a received PUBLISH: PUBACK, or PUBREC → PUBREL → PUBCOMP.
    pub fn ack(&mut self, publish: &Publish) {
        match (publish.qos, publish.pid) {
            (1, Some(pid)) => self.send(&wire::puback(pid)),
            (2, Some(pid)) => {
                self.send(&wire::pubrec(pid));
                self.expect_pubrel(pid);
                self.send(&wire::pubcomp(pid));
            }
            _ => {}
        }
    }

    /// Sends DISCONNECT, half-closes, and waits until the broker has closed the connection.
    pub fn disconnect(mut self) {
        self.send(&wire::disconnect());
        let _ = self.stream.shutdown(Shutdown::Write);
        self.expect_closed(TIMEOUT);
    }

    /// Half-closes: the broker sees the end of the stream, this side can still read.
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Closes the socket without DISCONNECT (a network failure, as far as the broker knows).
    pub fn drop_connection(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    pub fn expect_connack(&mut self) -> (bool, u8) {
        match self.expect("CONNACK", |p| matches!(p, Packet::ConnAck { .. })) {
            Packet::ConnAck {
                session_present,
                code,
            } => (session_present, code),
            _ => unreachable!(),
        }
    }

    pub fn expect_suback(&mut self, pid: u16) -> Vec<u8> {
        match self.expect("SUBACK", |p| matches!(p, Packet::SubAck { .. })) {
            Packet::SubAck { pid: got, codes } => {
                assert_eq!(got, pid, "{}: SUBACK packet identifier", self.label);
                codes
            }
            _ => unreachable!(),
        }
    }

    pub fn expect_unsuback(&mut self, pid: u16) {
        let got = self.expect("UNSUBACK", |p| matches!(p, Packet::UnsubAck(_)));
        assert_eq!(got, Packet::UnsubAck(pid), "{}", self.label);
    }

    pub fn expect_publish(&mut self) -> Publish {
        self.expect_publish_within(TIMEOUT)
    }

    pub fn expect_publish_within(&mut self, timeout: Duration) -> Publish {
        match self.expect_within("PUBLISH", timeout, |p| matches!(p, Packet::Publish(_))) {
            Packet::Publish(publish) => publish,
            _ => unreachable!(),
        }
    }

    pub fn expect_puback(&mut self, pid: u16) {
        let got = self.expect("PUBACK", |p| matches!(p, Packet::PubAck(_)));
        assert_eq!(got, Packet::PubAck(pid), "{}", self.label);
    }

    pub fn expect_pubrec(&mut self, pid: u16) {
        let got = self.expect("PUBREC", |p| matches!(p, Packet::PubRec(_)));
        assert_eq!(got, Packet::PubRec(pid), "{}", self.label);
    }

    pub fn expect_pubrel(&mut self, pid: u16) {
        let got = self.expect("PUBREL", |p| matches!(p, Packet::PubRel(_)));
        assert_eq!(got, Packet::PubRel(pid), "{}", self.label);
    }

    pub fn expect_pubcomp(&mut self, pid: u16) {
        let got = self.expect("PUBCOMP", |p| matches!(p, Packet::PubComp(_)));
        assert_eq!(got, Packet::PubComp(pid), "{}", self.label);
    }

    pub fn expect_pingresp(&mut self) {
        self.expect("PINGRESP", |p| matches!(p, Packet::PingResp));
    }

    /// The next packet of any kind.
    pub fn next_packet(&mut self, timeout: Duration) -> Packet {
        self.expect_within("any packet", timeout, |_| true)
    }

    /// The first packet (in arrival order) that `wanted` accepts; packets of other kinds are kept
    /// for later `expect_*` calls.
    pub fn expect(&mut self, what: &str, wanted: impl Fn(&Packet) -> bool) -> Packet {
        self.expect_within(what, TIMEOUT, wanted)
    }

    pub fn expect_within(
        &mut self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Packet) -> bool,
    ) -> Packet {
        if let Some(i) = self.pending.iter().position(&wanted) {
            return self.pending.remove(i).expect("index from position");
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_one(deadline) {
                Read1::Packet(p) if wanted(&p) => return p,
                Read1::Packet(p) => self.pending.push_back(p),
                Read1::TimedOut => panic!(
                    "{}: no {what} within {timeout:?}; other packets received: {:?}",
                    self.label, self.pending
                ),
                Read1::Closed(why) => panic!(
                    "{}: connection closed ({why}) while waiting for {what}; other packets \
                     received: {:?}",
                    self.label, self.pending
                ),
            }
        }
    }

    /// Like [`Client::expect_within`], but `None` when the connection closes first (a broker
    /// that drops a connection at accept, under a flood, closes it unanswered).
    pub fn expect_or_closed(
        &mut self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Packet) -> bool,
    ) -> Option<Packet> {
        if let Some(i) = self.pending.iter().position(&wanted) {
            return self.pending.remove(i);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_one(deadline) {
                Read1::Packet(p) if wanted(&p) => return Some(p),
                Read1::Packet(p) => self.pending.push_back(p),
                Read1::TimedOut => panic!(
                    "{}: no {what} within {timeout:?}; other packets received: {:?}",
                    self.label, self.pending
                ),
                Read1::Closed(_) => return None,
            }
        }
    }

    /// The next packet (kept ones first) if one arrives within `timeout`; `None` if none does.
    /// Panics if the connection closes.
    pub fn try_next(&mut self, timeout: Duration) -> Option<Packet> {
        if let Some(packet) = self.pending.pop_front() {
            return Some(packet);
        }
        match self.read_one(Instant::now() + timeout) {
            Read1::Packet(p) => Some(p),
            Read1::TimedOut => None,
            Read1::Closed(why) => panic!("{}: connection closed ({why})", self.label),
        }
    }

    /// Asserts that nothing arrives and the connection stays open for `duration`.
    pub fn expect_no_packet(&mut self, duration: Duration) {
        assert!(
            self.pending.is_empty(),
            "{}: expected no packet, but already received {:?}",
            self.label,
            self.pending
        );
        let deadline = Instant::now() + duration;
        match self.read_one(deadline) {
            Read1::TimedOut => {}
            Read1::Packet(p) => panic!("{}: expected no packet, received {p:?}", self.label),
            Read1::Closed(why) => panic!(
                "{}: expected the connection to stay open, but it closed ({why})",
                self.label
            ),
        }
    }

    /// Waits until the broker closes the connection; returns the packets received before that.
    pub fn expect_closed(&mut self, timeout: Duration) -> Vec<Packet> {
        match self.closed_within(timeout) {
            Some(packets) => packets,
            None => panic!(
                "{}: connection still open after {timeout:?}; packets received: {:?}",
                self.label, self.pending
            ),
        }
    }

    /// `Some(packets received before the close)` if the broker closes the connection within
    /// `timeout`, `None` if it is still open then.
    pub fn closed_within(&mut self, timeout: Duration) -> Option<Vec<Packet>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_one(deadline) {
                Read1::Packet(p) => self.pending.push_back(p),
                Read1::TimedOut => return None,
                Read1::Closed(_) => return Some(self.pending.drain(..).collect()),
            }
        }
    }

    /// The bytes of the next whole packet, undecoded, for checks of its exact size. Panics if
    /// none arrives within `timeout`.
    pub fn next_raw(&mut self, timeout: Duration) -> Vec<u8> {
        assert!(
            self.pending.is_empty(),
            "{}: packets already decoded: {:?}",
            self.label,
            self.pending
        );
        let deadline = Instant::now() + timeout;
        loop {
            match wire::split_packet(&self.buf) {
                Ok(Some((_, _, used))) => return self.buf.drain(..used).collect(),
                Ok(None) => {}
                Err(e) => panic!("{}: {e}", self.label),
            }
            let now = Instant::now();
            assert!(
                now < deadline && self.closed.is_none(),
                "{}: no whole packet within {timeout:?} ({:?}); bytes received: {:02x?}",
                self.label,
                self.closed,
                self.buf
            );
            self.read_some(deadline - now);
        }
    }

    /// Every byte the broker sends until it closes the connection, undecoded, for replies
    /// compared byte for byte. Panics if the connection is still open after `timeout`.
    pub fn raw_until_closed(&mut self, timeout: Duration) -> Vec<u8> {
        assert!(
            self.pending.is_empty(),
            "{}: packets already decoded: {:?}",
            self.label,
            self.pending
        );
        let deadline = Instant::now() + timeout;
        while self.closed.is_none() {
            let now = Instant::now();
            assert!(
                now < deadline,
                "{}: connection still open after {timeout:?}; bytes received: {:02x?}",
                self.label,
                self.buf
            );
            self.read_some(deadline - now);
        }
        std::mem::take(&mut self.buf)
    }

    /// Packets received but not yet taken by an `expect_*` call.
    pub fn take_pending(&mut self) -> Vec<Packet> {
        self.pending.drain(..).collect()
    }

    fn read_one(&mut self, deadline: Instant) -> Read1 {
        loop {
            match wire::split_packet(&self.buf) {
                Ok(Some((first_byte, body, used))) => {
                    self.buf.drain(..used);
                    let packet = if self.v5 {
                        wire_v5::decode(first_byte, body)
                    } else {
                        Packet::decode(first_byte, body)
                    };
                    return Read1::Packet(packet);
                }
                Ok(None) => {}
                Err(e) => panic!("{}: {e}", self.label),
            }
            if let Some(why) = &self.closed {
                return Read1::Closed(why.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Read1::TimedOut;
            }
            self.read_some(deadline - now);
        }
    }

    /// One read of what the broker sent, waiting up to `wait`, into the buffer; records the
    /// close (end of stream, or a reset and the like: the connection is gone either way).
    fn read_some(&mut self, wait: Duration) {
        let mut chunk = vec![0u8; 64 * 1024];
        self.stream
            .set_read_timeout(Some(wait))
            .expect("set_read_timeout");
        match self.stream.read(&mut chunk) {
            Ok(0) => self.closed = Some("end of stream".to_string()),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => self.closed = Some(e.to_string()),
        }
    }
}
