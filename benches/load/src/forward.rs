//! `mqtt-load forward`: a stand-in broker that does no broker work, to measure the machine.
//!
//! It serves the latency scenario's two links in the order that scenario opens them: a
//! subscriber (CONNECT, SUBSCRIBE) and then a publisher (CONNECT), answering each with the
//! acknowledgement a broker would send. From then on it copies whatever the publisher writes to
//! the subscriber without reading it, one blocking read and one write per wake-up. A latency run
//! against it is what loopback and one process waking another cost on this machine alone: the
//! floor under any broker's figure.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

/// MQTT 5 is protocol level 5 [MQTT-3.1.2-2]; its acknowledgements carry a properties length.
const PROTOCOL_LEVEL_V5: u8 = 5;

/// Serves one subscriber and publisher pair after another, until it is killed.
pub fn serve(addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    loop {
        // A link that is not what the latency scenario opens (a port probe, say) ends this
        // pair and the forwarder waits for the next.
        if let Err(e) = forward_one_pair(&listener) {
            eprintln!("mqtt-load forward: {e}");
        }
    }
}

fn forward_one_pair(listener: &TcpListener) -> io::Result<()> {
    let mut subscriber = accept(listener)?;
    let v5 = connect(&mut subscriber)?;
    let (kind, body) = read_packet(&mut subscriber)?;
    if kind >> 4 != 8 {
        return Err(unexpected(
            "the first link's second packet is not SUBSCRIBE",
        ));
    }
    let pid = body
        .get(..2)
        .ok_or_else(|| unexpected("SUBSCRIBE too short"))?;
    let mut suback = vec![0x90, 3, pid[0], pid[1]];
    if v5 {
        suback[1] += 1;
        suback.push(0);
    }
    suback.push(0);
    subscriber.write_all(&suback)?;

    let mut publisher = accept(listener)?;
    connect(&mut publisher)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = publisher.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        subscriber.write_all(&buf[..n])?;
    }
}

fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
    let (stream, _) = listener.accept()?;
    // As a broker does, and as the compared brokers are configured to.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Reads a CONNECT and accepts it; true if the link speaks MQTT 5.
fn connect(stream: &mut TcpStream) -> io::Result<bool> {
    let (kind, body) = read_packet(stream)?;
    if kind >> 4 != 1 {
        return Err(unexpected("a link's first packet is not CONNECT"));
    }
    // Protocol name "MQTT" (2 + 4 bytes), then the level.
    let v5 = body.get(6) == Some(&PROTOCOL_LEVEL_V5);
    let connack: &[u8] = if v5 {
        &[0x20, 3, 0, 0, 0]
    } else {
        &[0x20, 2, 0, 0]
    };
    stream.write_all(connack)?;
    Ok(v5)
}

/// One whole packet: its first byte and its body.
fn read_packet(stream: &mut TcpStream) -> io::Result<(u8, Vec<u8>)> {
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte)?;
    let kind = byte[0];
    let mut len = 0usize;
    for shift in [0, 7, 14, 21] {
        stream.read_exact(&mut byte)?;
        len |= usize::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            let mut body = vec![0u8; len];
            stream.read_exact(&mut body)?;
            return Ok((kind, body));
        }
    }
    Err(unexpected("remaining length over four bytes"))
}

fn unexpected(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{self, Packet};

    fn read_some(stream: &mut TcpStream, want: usize) -> Vec<u8> {
        let mut got = vec![0u8; want];
        stream
            .read_exact(&mut got)
            .expect("bytes from the forwarder");
        got
    }

    #[test]
    fn a_probe_is_passed_over_and_the_publishers_bytes_reach_the_subscriber() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = std::thread::spawn(move || {
            let probe = forward_one_pair(&listener);
            (probe.is_err(), forward_one_pair(&listener).is_ok())
        });
        // A port probe: connects and closes without a word.
        drop(TcpStream::connect(addr).expect("probe"));

        let mut subscriber = TcpStream::connect(addr).expect("subscriber");
        let mut out = Vec::new();
        codec::encode_connect(&mut out, "sub", 60, None, true);
        codec::encode_subscribe(&mut out, 7, &["t"], 0);
        subscriber.write_all(&out).expect("subscribe");
        let acks = read_some(&mut subscriber, 4 + 5);
        assert_eq!(
            codec::decode(&acks[4..]),
            Ok(Some((
                Packet::SubAck {
                    pid: 7,
                    codes: &[0]
                },
                5
            )))
        );

        let mut publisher = TcpStream::connect(addr).expect("publisher");
        out.clear();
        codec::encode_connect(&mut out, "pub", 60, None, true);
        publisher.write_all(&out).expect("connect");
        let connack = read_some(&mut publisher, 4);
        assert_eq!(
            codec::decode(&connack),
            Ok(Some((
                Packet::ConnAck {
                    session_present: false,
                    code: 0
                },
                4
            )))
        );
        out.clear();
        codec::encode_publish(&mut out, b"t", 0, 0, b"stamp");
        publisher.write_all(&out).expect("publish");
        assert_eq!(read_some(&mut subscriber, out.len()), out);
        drop(publisher);
        assert_eq!(server.join().expect("forwarder"), (true, true));
    }
}
