//! MQTT 5.0 packets encoded and decoded by hand, independently of the crate's own codec (as
//! `wire.rs` is for 3.1.1): properties (5.0 §2.2.2), reason codes, subscription options.

use super::props_v5::{Cursor, put_u16};
pub use super::props_v5::{Prop, Props};
use super::wire::{Packet, Will, frame, put_bytes};

/// An MQTT 5 will: the 3.1.1 fields plus will properties (5.0 §3.1.3.2).
#[derive(Debug, Clone)]
pub struct WillV5 {
    pub will: Will,
    pub props: Props,
}

/// An MQTT 5 CONNECT (5.0 §3.1).
#[derive(Debug, Clone)]
pub struct ConnectV5 {
    pub client_id: String,
    pub clean_start: bool,
    pub keep_alive: u16,
    pub props: Props,
    pub will: Option<WillV5>,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
}

impl ConnectV5 {
    /// Clean start, keepalive 60 s, no properties.
    pub fn new(client_id: &str) -> ConnectV5 {
        ConnectV5 {
            client_id: client_id.to_string(),
            clean_start: true,
            keep_alive: 60,
            props: Props::new(),
            will: None,
            username: None,
            password: None,
        }
    }

    pub fn clean_start(mut self, clean: bool) -> ConnectV5 {
        self.clean_start = clean;
        self
    }

    pub fn keep_alive(mut self, seconds: u16) -> ConnectV5 {
        self.keep_alive = seconds;
        self
    }

    pub fn prop(mut self, prop: Prop) -> ConnectV5 {
        self.props.0.push(prop);
        self
    }

    /// Clean start 0 with the given Session Expiry Interval (5.0 §3.1.2.11.2).
    pub fn persistent(self, expiry: u32) -> ConnectV5 {
        self.clean_start(false).prop(Prop::SessionExpiry(expiry))
    }

    pub fn will(mut self, topic: &str, payload: &[u8], qos: u8, props: Props) -> ConnectV5 {
        let will = Will {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            qos,
            retain: false,
        };
        self.will = Some(WillV5 { will, props });
        self
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut flags = 0u8;
        if self.username.is_some() {
            flags |= 0x80;
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        if let Some(w) = &self.will {
            flags |= 0x04 | (w.will.qos << 3) | if w.will.retain { 0x20 } else { 0 };
        }
        if self.clean_start {
            flags |= 0x02;
        }
        let mut body = Vec::new();
        put_bytes(&mut body, b"MQTT");
        body.push(5);
        body.push(flags);
        put_u16(&mut body, self.keep_alive);
        self.props.encode(&mut body);
        put_bytes(&mut body, self.client_id.as_bytes());
        if let Some(w) = &self.will {
            w.props.encode(&mut body);
            put_bytes(&mut body, w.will.topic.as_bytes());
            put_bytes(&mut body, &w.will.payload);
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

/// An MQTT 5 PUBLISH, sent or received (5.0 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishV5 {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub pid: Option<u16>,
    pub props: Props,
}

impl PublishV5 {
    pub fn new(topic: &str, payload: &[u8]) -> PublishV5 {
        PublishV5 {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            qos: 0,
            retain: false,
            dup: false,
            pid: None,
            props: Props::new(),
        }
    }

    pub fn qos(mut self, qos: u8, pid: u16) -> PublishV5 {
        self.qos = qos;
        self.pid = (qos > 0).then_some(pid);
        self
    }

    pub fn retain(mut self) -> PublishV5 {
        self.retain = true;
        self
    }

    pub fn prop(mut self, prop: Prop) -> PublishV5 {
        self.props.0.push(prop);
        self
    }

    pub fn props(mut self, props: Props) -> PublishV5 {
        self.props = props;
        self
    }

    pub fn payload_str(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    pub fn encode(&self) -> Vec<u8> {
        let first = 0x30 | (u8::from(self.dup) << 3) | (self.qos << 1) | u8::from(self.retain);
        let mut body = Vec::new();
        put_bytes(&mut body, self.topic.as_bytes());
        if let Some(pid) = self.pid {
            put_u16(&mut body, pid);
        }
        self.props.encode(&mut body);
        body.extend_from_slice(&self.payload);
        frame(first, &body)
    }
}

/// One SUBSCRIBE entry: filter and the subscription options byte (5.0 §3.8.3.1).
#[derive(Debug, Clone)]
pub struct Filter {
    pub filter: String,
    pub qos: u8,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: u8,
}

impl Filter {
    pub fn new(filter: &str, qos: u8) -> Filter {
        Filter {
            filter: filter.to_string(),
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: 0,
        }
    }

    pub fn no_local(mut self) -> Filter {
        self.no_local = true;
        self
    }

    pub fn retain_as_published(mut self) -> Filter {
        self.retain_as_published = true;
        self
    }

    pub fn retain_handling(mut self, handling: u8) -> Filter {
        self.retain_handling = handling;
        self
    }

    pub fn options(&self) -> u8 {
        self.qos
            | u8::from(self.no_local) << 2
            | u8::from(self.retain_as_published) << 3
            | self.retain_handling << 4
    }
}

/// SUBSCRIBE with an optional Subscription Identifier (5.0 §3.8.2.1.2).
pub fn subscribe(pid: u16, filters: &[Filter], subscription_id: Option<u32>) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    let props = Props(
        subscription_id
            .map(Prop::SubscriptionId)
            .into_iter()
            .collect(),
    );
    props.encode(&mut body);
    for f in filters {
        put_bytes(&mut body, f.filter.as_bytes());
        body.push(f.options());
    }
    frame(0x82, &body)
}

pub fn unsubscribe(pid: u16, filters: &[&str]) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    Props::new().encode(&mut body);
    for filter in filters {
        put_bytes(&mut body, filter.as_bytes());
    }
    frame(0xA2, &body)
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP with a reason code and properties (5.0 §3.4.2).
pub fn pub_response(first_byte: u8, pid: u16, reason: u8, props: &Props) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    body.push(reason);
    props.encode(&mut body);
    frame(first_byte, &body)
}

pub fn puback(pid: u16, reason: u8) -> Vec<u8> {
    pub_response(0x40, pid, reason, &Props::new())
}

pub fn pubrec(pid: u16, reason: u8) -> Vec<u8> {
    pub_response(0x50, pid, reason, &Props::new())
}

pub fn pubrel(pid: u16, reason: u8) -> Vec<u8> {
    pub_response(0x62, pid, reason, &Props::new())
}

pub fn pubcomp(pid: u16, reason: u8) -> Vec<u8> {
    pub_response(0x70, pid, reason, &Props::new())
}

/// DISCONNECT with a reason code and properties (5.0 §3.14).
pub fn disconnect(reason: u8, props: &Props) -> Vec<u8> {
    let mut body = vec![reason];
    props.encode(&mut body);
    frame(0xE0, &body)
}

/// A packet an MQTT 5 client receives from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketV5 {
    ConnAck {
        session_present: bool,
        reason: u8,
        props: Props,
    },
    Publish(PublishV5),
    /// PUBACK (0x40), PUBREC (0x50), PUBREL (0x62) or PUBCOMP (0x70).
    PubResponse {
        first_byte: u8,
        pid: u16,
        reason: u8,
        props: Props,
    },
    SubAck {
        pid: u16,
        props: Props,
        codes: Vec<u8>,
    },
    UnsubAck {
        pid: u16,
        props: Props,
        codes: Vec<u8>,
    },
    Disconnect {
        reason: u8,
        props: Props,
    },
}

/// Decodes one whole packet sent to an MQTT 5 client; anything malformed is `Packet::Other`.
pub fn decode(first_byte: u8, body: Vec<u8>) -> Packet {
    if first_byte == 0xD0 && body.is_empty() {
        return Packet::PingResp;
    }
    match decode_v5(first_byte, &body) {
        Some(packet) => Packet::V5(packet),
        None => Packet::Other { first_byte, body },
    }
}

fn decode_v5(first_byte: u8, body: &[u8]) -> Option<PacketV5> {
    let mut c = Cursor(body);
    let packet = match first_byte {
        0x20 => {
            let flags = c.u8()?;
            if flags & 0xFE != 0 {
                return None;
            }
            PacketV5::ConnAck {
                session_present: flags == 1,
                reason: c.u8()?,
                props: c.props()?,
            }
        }
        0x30..=0x3F => return decode_publish(first_byte, c),
        0x40 | 0x50 | 0x62 | 0x70 => {
            let pid = c.u16()?;
            // Reason 0 and no properties may be left out (5.0 §3.4.2.1).
            let reason = if c.0.is_empty() { 0 } else { c.u8()? };
            let props = if c.0.is_empty() {
                Props::new()
            } else {
                c.props()?
            };
            PacketV5::PubResponse {
                first_byte,
                pid,
                reason,
                props,
            }
        }
        0x90 | 0xB0 => {
            let pid = c.u16()?;
            let props = c.props()?;
            let codes = c.rest();
            if first_byte == 0x90 {
                PacketV5::SubAck { pid, props, codes }
            } else {
                PacketV5::UnsubAck { pid, props, codes }
            }
        }
        0xE0 => {
            // Reason 0 and no properties may be left out (5.0 §3.14.2.1).
            let reason = if c.0.is_empty() { 0 } else { c.u8()? };
            let props = if c.0.is_empty() {
                Props::new()
            } else {
                c.props()?
            };
            PacketV5::Disconnect { reason, props }
        }
        _ => return None,
    };
    c.0.is_empty().then_some(packet)
}

fn decode_publish(first_byte: u8, mut c: Cursor<'_>) -> Option<PacketV5> {
    let qos = (first_byte >> 1) & 0x03;
    if qos == 3 {
        return None;
    }
    let topic = c.string()?;
    let pid = if qos > 0 { Some(c.u16()?) } else { None };
    let props = c.props()?;
    Some(PacketV5::Publish(PublishV5 {
        topic,
        payload: c.rest(),
        qos,
        retain: first_byte & 0x01 == 1,
        dup: first_byte & 0x08 != 0,
        pid,
        props,
    }))
}
