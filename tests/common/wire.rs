//! MQTT 3.1 / 3.1.1 packets encoded and decoded by hand, independently of the crate's own codec,
//! so that a bug in `src/protocol` cannot hide itself by agreeing with the tests.

use std::fmt;

/// Appends the remaining-length variable byte integer (MQTT 3.1.1 §2.2.3).
pub fn put_remaining_length(out: &mut Vec<u8>, mut len: usize) {
    assert!(
        len <= 268_435_455,
        "remaining length {len} cannot be encoded"
    );
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return;
        }
    }
}

/// Appends a two-byte big-endian length and the bytes (§1.5.3 strings, §3.1.3.3 binary data).
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).expect("string longer than 65535 bytes");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A whole packet: first byte, remaining length, body.
pub fn frame(first_byte: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(first_byte);
    put_remaining_length(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// The Will Message of a CONNECT (§3.1.2.5 - §3.1.2.7, §3.1.3.2 - §3.1.3.3).
#[derive(Debug, Clone)]
pub struct Will {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
}

/// A CONNECT packet with every field under the test's control, including invalid ones.
#[derive(Debug, Clone)]
pub struct Connect {
    pub protocol_name: Vec<u8>,
    pub level: u8,
    pub client_id: String,
    pub clean_session: bool,
    pub keep_alive: u16,
    pub will: Option<Will>,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
    /// Sets the reserved bit 0 of the connect flags, which must be 0 [MQTT-3.1.2-3].
    pub reserved_flag: bool,
    /// Replaces the computed connect flags byte entirely (for invalid combinations).
    pub raw_flags: Option<u8>,
}

impl Connect {
    /// MQTT 3.1.1: protocol name "MQTT", level 4, clean session, keepalive 60 s.
    pub fn v311(client_id: &str) -> Connect {
        Connect {
            protocol_name: b"MQTT".to_vec(),
            level: 4,
            client_id: client_id.to_string(),
            clean_session: true,
            keep_alive: 60,
            will: None,
            username: None,
            password: None,
            reserved_flag: false,
            raw_flags: None,
        }
    }

    /// MQTT 3.1: protocol name "MQIsdp", level 3.
    pub fn v31(client_id: &str) -> Connect {
        Connect {
            protocol_name: b"MQIsdp".to_vec(),
            level: 3,
            ..Connect::v311(client_id)
        }
    }

    pub fn clean_session(mut self, clean: bool) -> Connect {
        self.clean_session = clean;
        self
    }

    pub fn keep_alive(mut self, seconds: u16) -> Connect {
        self.keep_alive = seconds;
        self
    }

    pub fn will(mut self, topic: &str, payload: &[u8], qos: u8, retain: bool) -> Connect {
        self.will = Some(Will {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            qos,
            retain,
        });
        self
    }

    pub fn username(mut self, name: &str) -> Connect {
        self.username = Some(name.to_string());
        self
    }

    pub fn password(mut self, password: &[u8]) -> Connect {
        self.password = Some(password.to_vec());
        self
    }

    /// The connect flags byte (§3.1.2.3) computed from the fields.
    pub fn flags(&self) -> u8 {
        let mut flags = 0u8;
        if self.username.is_some() {
            flags |= 0x80;
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        if let Some(will) = &self.will {
            flags |= 0x04 | (will.qos << 3);
            if will.retain {
                flags |= 0x20;
            }
        }
        if self.clean_session {
            flags |= 0x02;
        }
        if self.reserved_flag {
            flags |= 0x01;
        }
        flags
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        put_bytes(&mut body, &self.protocol_name);
        body.push(self.level);
        body.push(self.raw_flags.unwrap_or_else(|| self.flags()));
        body.extend_from_slice(&self.keep_alive.to_be_bytes());
        put_bytes(&mut body, self.client_id.as_bytes());
        if let Some(will) = &self.will {
            put_bytes(&mut body, will.topic.as_bytes());
            put_bytes(&mut body, &will.payload);
        }
        if let Some(name) = &self.username {
            put_bytes(&mut body, name.as_bytes());
        }
        if let Some(password) = &self.password {
            put_bytes(&mut body, password);
        }
        frame(0x10, &body)
    }
}

/// A PUBLISH packet, built by a test or decoded from the broker (§3.3).
#[derive(Clone, PartialEq, Eq)]
pub struct Publish {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub pid: Option<u16>,
}

impl Publish {
    /// QoS 0, not retained, no packet identifier.
    pub fn new(topic: &str, payload: &[u8]) -> Publish {
        Publish {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            qos: 0,
            retain: false,
            dup: false,
            pid: None,
        }
    }

    /// Sets QoS and packet identifier together (a QoS > 0 PUBLISH needs one, [MQTT-2.3.1-1]).
    pub fn qos(mut self, qos: u8, pid: u16) -> Publish {
        self.qos = qos;
        self.pid = if qos > 0 { Some(pid) } else { None };
        self
    }

    pub fn retain(mut self) -> Publish {
        self.retain = true;
        self
    }

    pub fn dup(mut self) -> Publish {
        self.dup = true;
        self
    }

    pub fn encode(&self) -> Vec<u8> {
        encode_publish(
            self.topic.as_bytes(),
            &self.payload,
            self.qos,
            self.retain,
            self.dup,
            self.pid,
        )
    }

    pub fn payload_str(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

impl fmt::Debug for Publish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A 1 MB payload must not flood a failure message.
        let shown = &self.payload[..self.payload.len().min(40)];
        f.debug_struct("Publish")
            .field("topic", &self.topic)
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .field("dup", &self.dup)
            .field("pid", &self.pid)
            .field("payload_len", &self.payload.len())
            .field("payload_start", &String::from_utf8_lossy(shown))
            .finish()
    }
}

/// A PUBLISH from raw parts, so a test can send an invalid topic or QoS.
pub fn encode_publish(
    topic: &[u8],
    payload: &[u8],
    qos: u8,
    retain: bool,
    dup: bool,
    pid: Option<u16>,
) -> Vec<u8> {
    let first = 0x30 | (u8::from(dup) << 3) | ((qos & 0x03) << 1) | u8::from(retain);
    let mut body = Vec::with_capacity(topic.len() + payload.len() + 4);
    put_bytes(&mut body, topic);
    if let Some(pid) = pid {
        body.extend_from_slice(&pid.to_be_bytes());
    }
    body.extend_from_slice(payload);
    frame(first, &body)
}

fn with_pid(first_byte: u8, pid: u16) -> Vec<u8> {
    frame(first_byte, &pid.to_be_bytes())
}

pub fn puback(pid: u16) -> Vec<u8> {
    with_pid(0x40, pid)
}

pub fn pubrec(pid: u16) -> Vec<u8> {
    with_pid(0x50, pid)
}

/// PUBREL has fixed header flags 0b0010 [MQTT-3.6.1-1].
pub fn pubrel(pid: u16) -> Vec<u8> {
    with_pid(0x62, pid)
}

pub fn pubcomp(pid: u16) -> Vec<u8> {
    with_pid(0x70, pid)
}

/// SUBSCRIBE has fixed header flags 0b0010 [MQTT-3.8.1-1].
pub fn subscribe(pid: u16, filters: &[(&str, u8)]) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    for (filter, qos) in filters {
        put_bytes(&mut body, filter.as_bytes());
        body.push(*qos);
    }
    frame(0x82, &body)
}

/// UNSUBSCRIBE has fixed header flags 0b0010 [MQTT-3.10.1-1].
pub fn unsubscribe(pid: u16, filters: &[&str]) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    for filter in filters {
        put_bytes(&mut body, filter.as_bytes());
    }
    frame(0xA2, &body)
}

pub fn pingreq() -> Vec<u8> {
    vec![0xC0, 0x00]
}

pub fn disconnect() -> Vec<u8> {
    vec![0xE0, 0x00]
}

/// A packet received from the broker. Fixed-header flags are checked exactly: a PUBREL with
/// flags other than 0b0010, for instance, decodes as `Other`, so a test expecting it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    ConnAck {
        session_present: bool,
        code: u8,
    },
    Publish(Publish),
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    SubAck {
        pid: u16,
        codes: Vec<u8>,
    },
    UnsubAck(u16),
    PingResp,
    /// Any packet received on an MQTT 5 connection, decoded by `wire_v5`.
    V5(super::wire_v5::PacketV5),
    Other {
        first_byte: u8,
        body: Vec<u8>,
    },
}

impl Packet {
    pub fn name(&self) -> &'static str {
        match self {
            Packet::ConnAck { .. } => "CONNACK",
            Packet::Publish(_) => "PUBLISH",
            Packet::PubAck(_) => "PUBACK",
            Packet::PubRec(_) => "PUBREC",
            Packet::PubRel(_) => "PUBREL",
            Packet::PubComp(_) => "PUBCOMP",
            Packet::SubAck { .. } => "SUBACK",
            Packet::UnsubAck(_) => "UNSUBACK",
            Packet::PingResp => "PINGRESP",
            Packet::V5(_) => "MQTT 5 packet",
            Packet::Other { .. } => "unexpected packet",
        }
    }

    /// Decodes one whole packet; anything not well-formed comes back as `Other`.
    pub fn decode(first_byte: u8, body: Vec<u8>) -> Packet {
        let pid_only = |body: &[u8]| -> Option<u16> {
            (body.len() == 2).then(|| u16::from_be_bytes([body[0], body[1]]))
        };
        let decoded = match first_byte {
            0x20 if body.len() == 2 && body[0] & 0xFE == 0 => Some(Packet::ConnAck {
                session_present: body[0] & 1 == 1,
                code: body[1],
            }),
            0x30..=0x3F => decode_publish(first_byte, &body).map(Packet::Publish),
            0x40 => pid_only(&body).map(Packet::PubAck),
            0x50 => pid_only(&body).map(Packet::PubRec),
            0x62 => pid_only(&body).map(Packet::PubRel),
            0x70 => pid_only(&body).map(Packet::PubComp),
            0x90 if body.len() >= 3 => Some(Packet::SubAck {
                pid: u16::from_be_bytes([body[0], body[1]]),
                codes: body[2..].to_vec(),
            }),
            0xB0 => pid_only(&body).map(Packet::UnsubAck),
            0xD0 if body.is_empty() => Some(Packet::PingResp),
            _ => None,
        };
        decoded.unwrap_or(Packet::Other { first_byte, body })
    }
}

fn decode_publish(first_byte: u8, body: &[u8]) -> Option<Publish> {
    let qos = (first_byte >> 1) & 0x03;
    if qos == 3 || body.len() < 2 {
        return None;
    }
    let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
    let topic = body.get(2..2 + topic_len)?;
    let mut rest = &body[2 + topic_len..];
    let pid = if qos > 0 {
        let pid = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
        rest = &rest[2..];
        Some(pid)
    } else {
        None
    };
    Some(Publish {
        topic: String::from_utf8(topic.to_vec()).ok()?,
        payload: rest.to_vec(),
        qos,
        retain: first_byte & 0x01 == 1,
        dup: first_byte & 0x08 != 0,
        pid,
    })
}

/// Splits one whole packet off the front of `buf`: `Ok(None)` while incomplete, `Err` when the
/// remaining length is malformed (more than four bytes, §2.2.3).
pub fn split_packet(buf: &[u8]) -> Result<Option<(u8, Vec<u8>, usize)>, String> {
    let Some(&first_byte) = buf.first() else {
        return Ok(None);
    };
    let mut len = 0usize;
    let mut multiplier = 1usize;
    for i in 1..=4 {
        let Some(&byte) = buf.get(i) else {
            return Ok(None);
        };
        len += usize::from(byte & 0x7F) * multiplier;
        multiplier *= 128;
        if byte & 0x80 == 0 {
            let start = i + 1;
            if buf.len() < start + len {
                return Ok(None);
            }
            return Ok(Some((
                first_byte,
                buf[start..start + len].to_vec(),
                start + len,
            )));
        }
    }
    Err(format!(
        "broker sent a remaining length longer than 4 bytes: {:02x?}",
        &buf[..5]
    ))
}
