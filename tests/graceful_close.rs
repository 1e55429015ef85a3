//! Closes that keep the reason: when the broker refuses a CONNECT or ends a connection with a
//! DISCONNECT while the client is still sending, the client must still read the refusal or the
//! reason code, and the broker must still be rid of the connection soon after, whatever the
//! client keeps doing. Raw clients here write from one thread while the test reads on another.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::wire_v5::PacketV5;
use common::{Broker, Client, Connect, Packet, PublishV5, exchange_qos1, pid};

/// Long enough for a slow, busy machine; what is tested is that the close comes at all.
const CLOSE_WITHIN: Duration = Duration::from_secs(20);

/// A thread writing `chunk(i)` for i = 0, 1, 2… until a write fails, `stop` is set, or
/// `CLOSE_WITHIN` passes, pausing `pause` between writes. Its result is whether a write failed,
/// i.e. the broker closed the connection.
fn keep_writing(
    mut stream: TcpStream,
    pause: Duration,
    stop: Arc<AtomicBool>,
    chunk: impl Fn(usize) -> Vec<u8> + Send + 'static,
) -> JoinHandle<bool> {
    thread::spawn(move || {
        let started = Instant::now();
        stream
            .set_write_timeout(Some(Duration::from_secs(1)))
            .expect("set_write_timeout");
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) && started.elapsed() < CLOSE_WITHIN {
            match stream.write_all(&chunk(i)) {
                Ok(()) => {}
                // The broker stopped reading for a moment; the socket buffer is full.
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock) => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return true,
            }
            i += 1;
            if !pause.is_zero() {
                thread::sleep(pause);
            }
        }
        false
    })
}

fn writer_for(client: &mut Client) -> TcpStream {
    client
        .stream()
        .try_clone()
        .expect("clone the client socket")
}

/// A 3.1.1 CONNECT with a protocol name that is not "MQTT", refused with return code 1
/// [MQTT-3.1.2-1] [MQTT-3.1.2-2].
fn refused_connect() -> Vec<u8> {
    let mut connect = Connect::v311("bad-name");
    connect.protocol_name = b"MQTX".to_vec();
    connect.encode()
}

/// QoS 2 PUBLISHes numbered from `from`, `count` of them, in one buffer.
fn qos2_publishes(from: usize, count: usize) -> Vec<u8> {
    (from..from + count)
        .flat_map(|i| {
            PublishV5::new("flood/qos2", b"never released")
                .qos(2, pid(i))
                .encode()
        })
        .collect()
}

fn disconnect_reasons(packets: &[Packet]) -> Vec<u8> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::V5(PacketV5::Disconnect { reason, .. }) => Some(*reason),
            _ => None,
        })
        .collect()
}

/// A client that writes `chunk(i)` for i = 0, 1, 2…, pausing `pause` after each, and looks
/// for what the broker sent only after every `read_every` writes, like a client whose
/// application publishes from one loop while its network loop reads now and then. It gives up
/// at the first write that fails, as such a client reports a broken pipe and stops. `Ok` holds
/// the packets read before the broker closed the connection; `Err` says which write failed.
fn write_then_read(
    client: &mut Client,
    pause: Duration,
    read_every: usize,
    chunk: impl Fn(usize) -> Vec<u8>,
) -> Result<Vec<Packet>, String> {
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < CLOSE_WITHIN {
        if let Err(e) = client.try_send(&chunk(i)) {
            return Err(format!(
                "write {i} failed ({e}) before the end of the connection was read; read so \
                 far: {:?}",
                client.take_pending()
            ));
        }
        i += 1;
        if i % read_every == 0
            && let Some(packets) = client.closed_within(Duration::from_millis(10))
        {
            return Ok(packets);
        }
        thread::sleep(pause);
    }
    Err(format!("still open after {CLOSE_WITHIN:?}"))
}

/// [MQTT-3.3.4-8] An MQTT 5 client that sends more QoS 2 PUBLISHes than the Receive Maximum
/// without waiting for PUBREC, and goes on writing, still reads DISCONNECT 0x93 (Receive
/// Maximum exceeded) before the connection ends: its writes are not answered with a reset
/// before it has had the chance to read.
#[test]
fn client_past_the_receive_maximum_still_reads_disconnect_0x93() {
    let mut broker = Broker::start(&[]);
    let mut client = Client::connect_v5(broker.addr(), "greedy");
    // The broker's Receive Maximum is 20; each write is 25 messages that are never released.
    let packets = write_then_read(&mut client, Duration::from_millis(10), 8, |i| {
        qos2_publishes(i * 25, 25)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        disconnect_reasons(&packets),
        [0x93],
        "packets before the close: {packets:?}"
    );
    common::assert_broker_healthy(&mut broker, "after-0x93");
}

/// [MQTT-3.1.2-2] A client whose CONNECT is refused (unknown protocol name), and who
/// writes more right behind it, still reads CONNACK with return code 1.
#[test]
fn refused_client_writing_on_still_reads_the_connack() {
    let mut broker = Broker::start(&[]);
    for round in 0..3 {
        let mut client = Client::open(broker.addr());
        // The CONNECT, then PINGREQs by the hundred, which the broker must not answer.
        let packets = write_then_read(&mut client, Duration::from_millis(10), 8, |i| {
            if i == 0 {
                refused_connect()
            } else {
                [0xC0, 0x00].repeat(512)
            }
        })
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(
            matches!(
                packets.as_slice(),
                [Packet::ConnAck {
                    session_present: false,
                    code: 1
                }]
            ),
            "round {round}: expected only CONNACK 1, got {packets:?}"
        );
    }
    common::assert_broker_healthy(&mut broker, "after-refusals");
}

/// A refused client that writes as fast as it can, without end, is closed anyway once it has
/// sent the broker enough to discard; others are served meanwhile.
#[test]
fn refused_client_flooding_without_end_is_closed_anyway() {
    let mut broker = Broker::start(&[]);
    let mut client = Client::open(broker.addr());
    let never = Arc::new(AtomicBool::new(false));
    let writer = keep_writing(writer_for(&mut client), Duration::ZERO, never, |i| {
        if i == 0 {
            refused_connect()
        } else {
            vec![0xC0; 16 * 1024]
        }
    });
    exchange_qos1(broker.addr(), "beside-flood", 50);
    assert!(
        writer.join().expect("writer thread"),
        "the broker kept reading a refused client for {CLOSE_WITHIN:?}"
    );
    assert_eq!(client.expect_connack(), (false, 1));
    common::assert_broker_healthy(&mut broker, "after-flood");
}

/// A refused client that trickles bytes without end (never enough to reach the byte bound) is
/// closed anyway once the time bound passes; others are served while it lingers, and a broker
/// asked to stop meanwhile stops promptly.
#[test]
fn refused_client_trickling_without_end_is_closed_after_the_time_bound() {
    let mut broker = Broker::start(&[]);
    let mut client = Client::open(broker.addr());
    let never = Arc::new(AtomicBool::new(false));
    let writer = keep_writing(
        writer_for(&mut client),
        Duration::from_millis(20),
        never,
        |i| {
            if i == 0 {
                refused_connect()
            } else {
                vec![0xC0, 0x00]
            }
        },
    );
    assert_eq!(client.expect_connack(), (false, 1));
    exchange_qos1(broker.addr(), "beside-trickle", 50);
    assert!(
        writer.join().expect("writer thread"),
        "the broker kept a refused, trickling client for {CLOSE_WITHIN:?}"
    );
    client.expect_closed(CLOSE_WITHIN);
    common::assert_broker_healthy(&mut broker, "after-trickle");

    // A trickler still lingering does not hold up the broker's exit.
    let mut lingering = Client::open(broker.addr());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = keep_writing(
        writer_for(&mut lingering),
        Duration::from_millis(20),
        stop.clone(),
        |i| {
            if i == 0 {
                refused_connect()
            } else {
                vec![0xC0, 0x00]
            }
        },
    );
    assert_eq!(lingering.expect_connack(), (false, 1));
    let status = broker.stop(CLOSE_WITHIN);
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    assert!(
        status.is_some_and(|s| s.success()),
        "the broker did not stop cleanly with a client lingering: {status:?}"
    );
}

#[cfg(feature = "tls")]
mod tls {
    //! The same over TLS: the reason arrives, then the broker's close_notify.

    use std::io::{ErrorKind, Read, Write};
    use std::net::TcpStream;
    use std::thread;
    use std::time::{Duration, Instant};

    use native_tls::TlsStream;

    use super::common::tls::{Certs, handshake};
    use super::common::wire::{self, Packet};
    use super::common::wire_v5::{self, ConnectV5, PacketV5};
    use super::common::{Broker, TIMEOUT};
    use super::{CLOSE_WITHIN, disconnect_reasons, qos2_publishes};

    /// Reads until a packet arrives or `wait` passes, decoding whole packets into `packets`;
    /// `Some` with how the connection ended ("close_notify" for a clean TLS close) once it has.
    fn read_some(
        stream: &mut TlsStream<TcpStream>,
        buf: &mut Vec<u8>,
        packets: &mut Vec<Packet>,
        wait: Duration,
    ) -> Option<String> {
        let deadline = Instant::now() + wait;
        let mut chunk = vec![0; 64 * 1024];
        let before = packets.len();
        loop {
            while let Some((first, body, used)) = wire::split_packet(buf).expect("framing") {
                buf.drain(..used);
                packets.push(wire_v5::decode(first, body));
            }
            let now = Instant::now();
            if now >= deadline || packets.len() > before {
                return None;
            }
            stream
                .get_ref()
                .set_read_timeout(Some(deadline - now))
                .expect("set_read_timeout");
            match stream.read(&mut chunk) {
                Ok(0) => return Some("close_notify".into()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Some(e.to_string()),
            }
        }
    }

    /// [MQTT-3.3.4-8] Over TLS, a client past the Receive Maximum that goes on writing, reading
    /// only now and then, reads DISCONNECT 0x93 and then the broker's close_notify; none of its
    /// writes fails first.
    #[test]
    fn tls_client_past_the_receive_maximum_reads_0x93_then_close_notify() {
        let certs = Certs::new();
        let (cert, key) = (certs.arg("server.crt"), certs.arg("server.key"));
        let broker = Broker::start(&[
            "--tls-bind",
            "127.0.0.1",
            "--tls-port",
            "0",
            "--cert",
            &cert,
            "--key",
            &key,
        ]);
        let mut stream = handshake(broker.tls_addr(), &certs.path("ca.crt")).expect("handshake");
        stream
            .write_all(&ConnectV5::new("tls-greedy").encode())
            .expect("send CONNECT");
        let (mut buf, mut packets) = (Vec::new(), Vec::new());
        let ended = read_some(&mut stream, &mut buf, &mut packets, TIMEOUT);
        assert!(ended.is_none(), "no CONNACK: {ended:?}");
        assert!(
            matches!(
                packets.as_slice(),
                [Packet::V5(PacketV5::ConnAck { reason: 0, .. })]
            ),
            "{packets:?}"
        );
        packets.clear();
        let started = Instant::now();
        let mut ending = None;
        for i in 0.. {
            assert!(started.elapsed() < CLOSE_WITHIN, "still open: {packets:?}");
            if let Err(e) = stream.write_all(&qos2_publishes(i * 25, 25)) {
                panic!("write {i} failed ({e}) before the end was read; read: {packets:?}");
            }
            if i % 8 == 7 {
                ending = read_some(
                    &mut stream,
                    &mut buf,
                    &mut packets,
                    Duration::from_millis(10),
                );
                if ending.is_some() {
                    break;
                }
            }
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            disconnect_reasons(&packets),
            [0x93],
            "packets before the close: {packets:?}"
        );
        assert_eq!(
            ending.as_deref(),
            Some("close_notify"),
            "how the TLS session ended"
        );
    }
}
