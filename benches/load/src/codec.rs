//! MQTT 3.1.1 packets as the load generator writes and reads them, encoded by hand.
//!
//! This is deliberately not the broker's codec: a bug shared by both sides would cancel out and
//! never show up in a measurement. Only what the scenarios send and expect is here; the MQTT 5
//! forms are in `codec_v5.rs` and share the framing and the [`Packet`] type.

use std::fmt;

/// Protocol level 4 is MQTT 3.1.1 [MQTT-3.1.2-2].
const PROTOCOL_LEVEL: u8 = 4;

/// A packet read from the broker, borrowing topic and payload from the read buffer so the hot
/// path of a subscriber allocates nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    ConnAck {
        session_present: bool,
        code: u8,
    },
    Publish(Publish<'a>),
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    SubAck {
        pid: u16,
        codes: &'a [u8],
    },
    /// Only MQTT 5 brokers send DISCONNECT, with a reason code [MQTT-3.14.2.1].
    Disconnect {
        reason: u8,
    },
    /// Anything the scenarios ignore (PINGRESP, UNSUBACK), by packet type.
    Other(u8),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Publish<'a> {
    pub qos: u8,
    pub dup: bool,
    pub retain: bool,
    pub topic: &'a [u8],
    /// Zero for QoS 0, which carries no packet id.
    pub pid: u16,
    pub payload: &'a [u8],
}

/// Bytes from the broker that are not valid MQTT: the run cannot trust that link any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed packet from broker: {}", self.0)
    }
}

/// Appends the variable byte integer for a remaining length [MQTT-2.2.3].
pub(crate) fn put_remaining_length(buf: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        buf.push(byte);
        if len == 0 {
            return;
        }
    }
}

pub(crate) fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u16).to_be_bytes());
    buf.extend_from_slice(s);
}

/// CONNECT with no will, clean session or not, and the user name and password if given.
pub fn encode_connect(
    buf: &mut Vec<u8>,
    client_id: &str,
    keep_alive: u16,
    credentials: Option<(&str, &str)>,
    clean: bool,
) {
    let login = credentials.map_or(0, |(user, password)| 4 + user.len() + password.len());
    let body = 10 + 2 + client_id.len() + login;
    buf.push(0x10);
    put_remaining_length(buf, body);
    put_str(buf, b"MQTT");
    buf.push(PROTOCOL_LEVEL);
    // Connect flags: clean session, and user name and password flags with a login.
    let login = if credentials.is_some() { 0xC0 } else { 0 };
    buf.push(login | if clean { 0x02 } else { 0 });
    buf.extend_from_slice(&keep_alive.to_be_bytes());
    put_str(buf, client_id.as_bytes());
    if let Some((user, password)) = credentials {
        put_str(buf, user.as_bytes());
        put_str(buf, password.as_bytes());
    }
}

/// PUBLISH; `pid` is ignored for QoS 0.
pub fn encode_publish(buf: &mut Vec<u8>, topic: &[u8], qos: u8, pid: u16, payload: &[u8]) {
    let id_len = if qos > 0 { 2 } else { 0 };
    buf.push(0x30 | (qos << 1));
    put_remaining_length(buf, 2 + topic.len() + id_len + payload.len());
    put_str(buf, topic);
    if qos > 0 {
        buf.extend_from_slice(&pid.to_be_bytes());
    }
    buf.extend_from_slice(payload);
}

/// The four two-byte acknowledgements; PUBREL has flags 0b0010 [MQTT-3.6.1-1].
fn encode_ack(buf: &mut Vec<u8>, first: u8, pid: u16) {
    buf.extend_from_slice(&[first, 2]);
    buf.extend_from_slice(&pid.to_be_bytes());
}

pub fn encode_puback(buf: &mut Vec<u8>, pid: u16) {
    encode_ack(buf, 0x40, pid);
}

pub fn encode_pubrec(buf: &mut Vec<u8>, pid: u16) {
    encode_ack(buf, 0x50, pid);
}

pub fn encode_pubrel(buf: &mut Vec<u8>, pid: u16) {
    encode_ack(buf, 0x62, pid);
}

pub fn encode_pubcomp(buf: &mut Vec<u8>, pid: u16) {
    encode_ack(buf, 0x70, pid);
}

/// SUBSCRIBE with flags 0b0010 [MQTT-3.8.1-1], every filter at the same QoS.
pub fn encode_subscribe<S: AsRef<[u8]>>(buf: &mut Vec<u8>, pid: u16, filters: &[S], qos: u8) {
    let body: usize = 2 + filters.iter().map(|f| 3 + f.as_ref().len()).sum::<usize>();
    buf.push(0x82);
    put_remaining_length(buf, body);
    buf.extend_from_slice(&pid.to_be_bytes());
    for filter in filters {
        put_str(buf, filter.as_ref());
        buf.push(qos);
    }
}

pub fn encode_disconnect(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[0xE0, 0]);
}

/// Decodes one packet from the front of `buf`: `Ok(None)` when it is not all there yet, else the
/// packet and how many bytes it took.
pub fn decode(buf: &[u8]) -> Result<Option<(Packet<'_>, usize)>, Malformed> {
    let Some(frame) = frame(buf)? else {
        return Ok(None);
    };
    Ok(Some((decode_body(frame.first, frame.body)?, frame.len)))
}

/// One whole packet at the front of a buffer, not yet decoded.
pub(crate) struct Frame<'a> {
    /// Packet type and flags.
    pub first: u8,
    /// What follows the remaining length.
    pub body: &'a [u8],
    /// Bytes the packet takes in all.
    pub len: usize,
}

/// Finds the packet at the front of `buf`, or `Ok(None)` when it is not all there yet. The same
/// for every protocol version [MQTT-2.2.3].
pub(crate) fn frame(buf: &[u8]) -> Result<Option<Frame<'_>>, Malformed> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut len = 0usize;
    let mut header = 1;
    loop {
        let Some(&byte) = buf.get(header) else {
            return Ok(None);
        };
        len |= usize::from(byte & 0x7F) << (7 * (header - 1));
        header += 1;
        if byte & 0x80 == 0 {
            break;
        }
        if header > 4 {
            return Err(Malformed("remaining length longer than four bytes"));
        }
    }
    let Some(body) = buf.get(header..header + len) else {
        return Ok(None);
    };
    Ok(Some(Frame {
        first,
        body,
        len: header + len,
    }))
}

fn decode_body(first: u8, body: &[u8]) -> Result<Packet<'_>, Malformed> {
    let two = |body: &[u8]| match body {
        [a, b, ..] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(Malformed("packet too short")),
    };
    Ok(match first >> 4 {
        2 => match body {
            [flags, code] => Packet::ConnAck {
                session_present: flags & 1 == 1,
                code: *code,
            },
            _ => return Err(Malformed("CONNACK is not two bytes")),
        },
        3 => Packet::Publish(decode_publish(first, body)?),
        4 => Packet::PubAck(two(body)?),
        5 => Packet::PubRec(two(body)?),
        6 => Packet::PubRel(two(body)?),
        7 => Packet::PubComp(two(body)?),
        9 => Packet::SubAck {
            pid: two(body)?,
            codes: &body[2..],
        },
        kind => Packet::Other(kind),
    })
}

fn decode_publish(first: u8, body: &[u8]) -> Result<Publish<'_>, Malformed> {
    let qos = (first >> 1) & 3;
    if qos == 3 {
        return Err(Malformed("PUBLISH with QoS 3"));
    }
    let topic_len = match body {
        [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
        _ => return Err(Malformed("PUBLISH too short")),
    };
    let topic = body
        .get(2..2 + topic_len)
        .ok_or(Malformed("PUBLISH topic overruns the packet"))?;
    let mut rest = &body[2 + topic_len..];
    let mut pid = 0;
    if qos > 0 {
        match rest {
            [a, b, tail @ ..] => {
                pid = u16::from_be_bytes([*a, *b]);
                rest = tail;
            }
            _ => return Err(Malformed("PUBLISH without packet id")),
        }
    }
    Ok(Publish {
        qos,
        dup: first & 0x08 != 0,
        retain: first & 0x01 != 0,
        topic,
        pid,
        payload: rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_matches_the_specification_example() {
        let mut buf = Vec::new();
        encode_connect(&mut buf, "ab", 60, None, true);
        #[rustfmt::skip]
        let expected = [
            0x10, 14,                       // CONNECT, remaining length
            0, 4, b'M', b'Q', b'T', b'T',   // protocol name
            4,                              // protocol level 3.1.1
            0x02,                           // clean session
            0, 60,                          // keep alive
            0, 2, b'a', b'b',               // client id
        ];
        assert_eq!(buf, expected);
    }

    #[test]
    fn publish_round_trips_at_every_qos() {
        for qos in 0..=2 {
            let mut buf = Vec::new();
            encode_publish(&mut buf, b"a/b", qos, 7, b"hello");
            let (packet, used) = decode(&buf).unwrap().unwrap();
            assert_eq!(used, buf.len());
            let expected = Publish {
                qos,
                dup: false,
                retain: false,
                topic: b"a/b",
                pid: if qos > 0 { 7 } else { 0 },
                payload: b"hello",
            };
            assert_eq!(packet, Packet::Publish(expected));
        }
    }

    #[test]
    fn every_prefix_of_a_packet_is_partial() {
        let mut buf = Vec::new();
        encode_publish(&mut buf, b"t", 1, 1, &[0u8; 200]); // two-byte remaining length
        for end in 0..buf.len() {
            assert_eq!(decode(&buf[..end]), Ok(None), "prefix of {end} bytes");
        }
    }

    #[test]
    fn acks_and_suback_decode() {
        let mut buf = Vec::new();
        encode_pubrel(&mut buf, 0x0102);
        assert_eq!(buf, [0x62, 2, 1, 2]);
        assert_eq!(decode(&buf), Ok(Some((Packet::PubRel(0x0102), 4))));
        let suback = [0x90, 4, 0, 9, 0x01, 0x80];
        let codes: &[u8] = &[0x01, 0x80];
        assert_eq!(
            decode(&suback),
            Ok(Some((Packet::SubAck { pid: 9, codes }, 6)))
        );
        assert_eq!(
            decode(&[0x20, 2, 0, 5]),
            Ok(Some((
                Packet::ConnAck {
                    session_present: false,
                    code: 5
                },
                4
            )))
        );
    }

    #[test]
    fn subscribe_encodes_filters_with_their_qos() {
        let mut buf = Vec::new();
        encode_subscribe(&mut buf, 1, &["a/#"], 1);
        assert_eq!(buf, [0x82, 8, 0, 1, 0, 3, b'a', b'/', b'#', 1]);
    }

    #[test]
    fn overlong_remaining_length_is_malformed() {
        assert!(decode(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]).is_err());
    }
}
