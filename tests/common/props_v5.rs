//! MQTT 5 properties encoded and decoded by hand (5.0 §2.2.2), and the bounds-checked cursor
//! the MQTT 5 packet decoder reads with.

use super::wire::{put_bytes, put_remaining_length};

/// One MQTT 5 property (5.0 §2.2.2.2), in the order a packet carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prop {
    PayloadFormat(u8),
    MessageExpiry(u32),
    ContentType(String),
    ResponseTopic(String),
    CorrelationData(Vec<u8>),
    SubscriptionId(u32),
    SessionExpiry(u32),
    AssignedClientId(String),
    ServerKeepAlive(u16),
    AuthMethod(String),
    AuthData(Vec<u8>),
    RequestProblemInfo(u8),
    WillDelay(u32),
    RequestResponseInfo(u8),
    ResponseInfo(String),
    ServerReference(String),
    ReasonString(String),
    ReceiveMaximum(u16),
    TopicAliasMaximum(u16),
    TopicAlias(u16),
    MaximumQos(u8),
    RetainAvailable(u8),
    User(String, String),
    MaximumPacketSize(u32),
    WildcardAvailable(u8),
    SubscriptionIdAvailable(u8),
    SharedAvailable(u8),
}

/// A property list as sent or received, order preserved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props(pub Vec<Prop>);

/// The first property `$pattern` matches, as `$value`.
macro_rules! find {
    ($props:expr, $pattern:pat => $value:expr) => {
        $props.0.iter().find_map(|p| match p {
            $pattern => Some($value),
            _ => None,
        })
    };
}

impl Props {
    pub fn new() -> Props {
        Props::default()
    }

    pub fn with(mut self, prop: Prop) -> Props {
        self.0.push(prop);
        self
    }

    pub fn user(self, key: &str, value: &str) -> Props {
        self.with(Prop::User(key.into(), value.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn session_expiry(&self) -> Option<u32> {
        find!(self, Prop::SessionExpiry(v) => *v)
    }
    pub fn receive_maximum(&self) -> Option<u16> {
        find!(self, Prop::ReceiveMaximum(v) => *v)
    }
    pub fn topic_alias_maximum(&self) -> Option<u16> {
        find!(self, Prop::TopicAliasMaximum(v) => *v)
    }
    pub fn topic_alias(&self) -> Option<u16> {
        find!(self, Prop::TopicAlias(v) => *v)
    }
    pub fn message_expiry(&self) -> Option<u32> {
        find!(self, Prop::MessageExpiry(v) => *v)
    }
    pub fn maximum_packet_size(&self) -> Option<u32> {
        find!(self, Prop::MaximumPacketSize(v) => *v)
    }
    pub fn assigned_client_id(&self) -> Option<String> {
        find!(self, Prop::AssignedClientId(v) => v.clone())
    }
    pub fn server_keep_alive(&self) -> Option<u16> {
        find!(self, Prop::ServerKeepAlive(v) => *v)
    }
    pub fn reason_string(&self) -> Option<String> {
        find!(self, Prop::ReasonString(v) => v.clone())
    }
    pub fn subscription_ids(&self) -> Vec<u32> {
        let ids = self.0.iter().filter_map(|p| match p {
            Prop::SubscriptionId(id) => Some(*id),
            _ => None,
        });
        ids.collect()
    }
    pub fn user_properties(&self) -> Vec<(String, String)> {
        let pairs = self.0.iter().filter_map(|p| match p {
            Prop::User(k, v) => Some((k.clone(), v.clone())),
            _ => None,
        });
        pairs.collect()
    }

    /// The properties other than those a broker sets per delivery (topic alias, subscription
    /// identifiers, message expiry): what a forwarded message must carry unchanged.
    pub fn application(&self) -> Props {
        let kept = self.0.iter().filter(|p| {
            !matches!(
                p,
                Prop::TopicAlias(_) | Prop::SubscriptionId(_) | Prop::MessageExpiry(_)
            )
        });
        Props(kept.cloned().collect())
    }

    /// Property length followed by the properties (5.0 §2.2.2.1).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        for prop in &self.0 {
            encode_prop(prop, &mut body);
        }
        put_remaining_length(out, body.len());
        out.extend_from_slice(&body);
    }
}

pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// The identifier of a property (5.0 §2.2.2.2).
fn prop_id(prop: &Prop) -> u8 {
    use Prop::*;
    match prop {
        PayloadFormat(_) => 0x01,
        MessageExpiry(_) => 0x02,
        ContentType(_) => 0x03,
        ResponseTopic(_) => 0x08,
        CorrelationData(_) => 0x09,
        SubscriptionId(_) => 0x0B,
        SessionExpiry(_) => 0x11,
        AssignedClientId(_) => 0x12,
        ServerKeepAlive(_) => 0x13,
        AuthMethod(_) => 0x15,
        AuthData(_) => 0x16,
        RequestProblemInfo(_) => 0x17,
        WillDelay(_) => 0x18,
        RequestResponseInfo(_) => 0x19,
        ResponseInfo(_) => 0x1A,
        ServerReference(_) => 0x1C,
        ReasonString(_) => 0x1F,
        ReceiveMaximum(_) => 0x21,
        TopicAliasMaximum(_) => 0x22,
        TopicAlias(_) => 0x23,
        MaximumQos(_) => 0x24,
        RetainAvailable(_) => 0x25,
        User(..) => 0x26,
        MaximumPacketSize(_) => 0x27,
        WildcardAvailable(_) => 0x28,
        SubscriptionIdAvailable(_) => 0x29,
        SharedAvailable(_) => 0x2A,
    }
}

/// Identifier, then the value in the property's data type (5.0 §1.5).
fn encode_prop(prop: &Prop, out: &mut Vec<u8>) {
    use Prop::*;
    out.push(prop_id(prop));
    match prop {
        PayloadFormat(b)
        | RequestProblemInfo(b)
        | RequestResponseInfo(b)
        | MaximumQos(b)
        | RetainAvailable(b)
        | WildcardAvailable(b)
        | SubscriptionIdAvailable(b)
        | SharedAvailable(b) => out.push(*b),
        MessageExpiry(n) | SessionExpiry(n) | WillDelay(n) | MaximumPacketSize(n) => {
            put_u32(out, *n)
        }
        ServerKeepAlive(n) | ReceiveMaximum(n) | TopicAliasMaximum(n) | TopicAlias(n) => {
            put_u16(out, *n)
        }
        ContentType(s) | ResponseTopic(s) | AssignedClientId(s) | AuthMethod(s)
        | ResponseInfo(s) | ServerReference(s) | ReasonString(s) => put_bytes(out, s.as_bytes()),
        CorrelationData(b) | AuthData(b) => put_bytes(out, b),
        SubscriptionId(n) => put_remaining_length(out, *n as usize),
        User(key, value) => {
            put_bytes(out, key.as_bytes());
            put_bytes(out, value.as_bytes());
        }
    }
}

/// A cursor over a received packet body; every read is bounds-checked.
pub struct Cursor<'a>(pub &'a [u8]);

impl<'a> Cursor<'a> {
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn varint(&mut self) -> Option<u32> {
        let mut value = 0u32;
        for i in 0..4 {
            let byte = self.u8()?;
            value |= u32::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    pub fn binary(&mut self) -> Option<Vec<u8>> {
        let len = usize::from(self.u16()?);
        Some(self.take(len)?.to_vec())
    }
    pub fn string(&mut self) -> Option<String> {
        String::from_utf8(self.binary()?).ok()
    }
    pub fn props(&mut self) -> Option<Props> {
        let len = self.varint()? as usize;
        let mut inner = Cursor(self.take(len)?);
        let mut props = Vec::new();
        while !inner.0.is_empty() {
            props.push(inner.prop()?);
        }
        Some(Props(props))
    }
    fn prop(&mut self) -> Option<Prop> {
        use Prop::*;
        Some(match self.varint()? {
            0x01 => PayloadFormat(self.u8()?),
            0x02 => MessageExpiry(self.u32()?),
            0x03 => ContentType(self.string()?),
            0x08 => ResponseTopic(self.string()?),
            0x09 => CorrelationData(self.binary()?),
            0x0B => SubscriptionId(self.varint()?),
            0x11 => SessionExpiry(self.u32()?),
            0x12 => AssignedClientId(self.string()?),
            0x13 => ServerKeepAlive(self.u16()?),
            0x15 => AuthMethod(self.string()?),
            0x16 => AuthData(self.binary()?),
            0x17 => RequestProblemInfo(self.u8()?),
            0x18 => WillDelay(self.u32()?),
            0x19 => RequestResponseInfo(self.u8()?),
            0x1A => ResponseInfo(self.string()?),
            0x1C => ServerReference(self.string()?),
            0x1F => ReasonString(self.string()?),
            0x21 => ReceiveMaximum(self.u16()?),
            0x22 => TopicAliasMaximum(self.u16()?),
            0x23 => TopicAlias(self.u16()?),
            0x24 => MaximumQos(self.u8()?),
            0x25 => RetainAvailable(self.u8()?),
            0x26 => User(self.string()?, self.string()?),
            0x27 => MaximumPacketSize(self.u32()?),
            0x28 => WildcardAvailable(self.u8()?),
            0x29 => SubscriptionIdAvailable(self.u8()?),
            0x2A => SharedAvailable(self.u8()?),
            _ => return None,
        })
    }
    pub fn rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0).to_vec()
    }
}
