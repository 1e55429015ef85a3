//! Which MQTT version a run speaks, and what one link must remember to speak it: for MQTT 5,
//! the limits the broker announced in CONNACK and the topic aliases in each direction.

use crate::codec::{self, Malformed, Packet};
use crate::codec_v5;

/// The Topic Alias Maximum the generator announces when aliases are on: brokers may then alias
/// up to this many topics on their way to it (MQTT 5 section 3.1.2.11.5).
pub const TOPIC_ALIAS_MAXIMUM: u16 = 10;

/// The Receive Maximum the generator announces: the most there is. It acknowledges every
/// delivery at once, so the broker need never wait for it (section 3.1.2.11.3).
const RECEIVE_MAXIMUM: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    V311,
    /// With `topic_aliases`, publishers alias each topic after its first PUBLISH and the
    /// generator announces [`TOPIC_ALIAS_MAXIMUM`] so the broker may alias too.
    V5 {
        topic_aliases: bool,
    },
}

impl Protocol {
    /// Added to a case name so each version has its own rows.
    pub fn tag(self) -> &'static str {
        match self {
            Protocol::V311 => "",
            Protocol::V5 {
                topic_aliases: false,
            } => " v5",
            Protocol::V5 {
                topic_aliases: true,
            } => " v5 + topic aliases",
        }
    }

    /// SUBSCRIBE in this version; it needs no per-link state.
    pub fn encode_subscribe<S: AsRef<[u8]>>(
        self,
        buf: &mut Vec<u8>,
        pid: u16,
        filters: &[S],
        qos: u8,
    ) {
        match self {
            Protocol::V311 => codec::encode_subscribe(buf, pid, filters, qos),
            Protocol::V5 { .. } => codec_v5::encode_subscribe(buf, pid, filters, qos),
        }
    }
}

/// One link's side of the protocol: encodes what it sends and decodes what it reads.
#[derive(Debug)]
pub struct LinkCodec {
    protocol: Protocol,
    /// The broker's Topic Alias Maximum from CONNACK; 0 (no aliases) until then.
    broker_alias_max: u16,
    /// The broker's Receive Maximum from CONNACK; 65,535 when absent [MQTT-3.2.2.3.3].
    broker_receive_max: u16,
    /// The topics this link has given an alias to, alias n at index n - 1.
    sent_aliases: Vec<Vec<u8>>,
    /// The topics the broker has given an alias to on this link, alias n at index n - 1.
    received_aliases: Vec<Vec<u8>>,
}

impl LinkCodec {
    pub fn new(protocol: Protocol) -> LinkCodec {
        LinkCodec {
            protocol,
            broker_alias_max: 0,
            broker_receive_max: u16::MAX,
            sent_aliases: Vec::new(),
            received_aliases: Vec::new(),
        }
    }

    fn aliases(&self) -> bool {
        self.protocol
            == Protocol::V5 {
                topic_aliases: true,
            }
    }

    /// How many QoS 1/2 publishes the broker lets this link have unacknowledged.
    pub fn receive_maximum(&self) -> u16 {
        self.broker_receive_max
    }

    /// CONNECT; `credentials` (user name, password) are sent by 3.1.1 links only, which the
    /// options check.
    pub fn encode_connect(
        &self,
        buf: &mut Vec<u8>,
        client_id: &str,
        keep_alive: u16,
        credentials: Option<(&str, &str)>,
        clean: bool,
    ) {
        match self.protocol {
            Protocol::V311 => codec::encode_connect(buf, client_id, keep_alive, credentials, clean),
            Protocol::V5 { topic_aliases } => {
                let alias_max = if topic_aliases {
                    TOPIC_ALIAS_MAXIMUM
                } else {
                    0
                };
                codec_v5::encode_connect(buf, client_id, keep_alive, RECEIVE_MAXIMUM, alias_max);
            }
        }
    }

    /// PUBLISH; with aliases on, a topic's first PUBLISH sets the next free alias and later ones
    /// send the alias with an empty topic. Topics beyond the broker's Topic Alias Maximum go
    /// out in full [MQTT-3.3.2-9].
    pub fn encode_publish(
        &mut self,
        buf: &mut Vec<u8>,
        topic: &[u8],
        qos: u8,
        pid: u16,
        payload: &[u8],
    ) {
        if self.protocol == Protocol::V311 {
            return codec::encode_publish(buf, topic, qos, pid, payload);
        }
        let (topic, alias) = match self.sent_aliases.iter().position(|t| t == topic) {
            Some(i) => (&[][..], Some(i as u16 + 1)),
            None if self.aliases()
                && self.sent_aliases.len() < usize::from(self.broker_alias_max) =>
            {
                self.sent_aliases.push(topic.to_vec());
                (topic, Some(self.sent_aliases.len() as u16))
            }
            None => (topic, None),
        };
        codec_v5::encode_publish(buf, topic, alias, qos, pid, payload);
    }

    /// Decodes one packet as `codec::decode` does. In MQTT 5 it also keeps the broker's limits
    /// from CONNACK and resolves topic aliases, so a PUBLISH always carries its topic.
    pub fn decode<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Packet<'a>, usize)>, Malformed> {
        if self.protocol == Protocol::V311 {
            return codec::decode(buf);
        }
        let Some((mut packet, props, used)) = codec_v5::decode(buf)? else {
            return Ok(None);
        };
        match &mut packet {
            Packet::ConnAck { .. } => {
                self.broker_alias_max = props.topic_alias_maximum.unwrap_or(0);
                self.broker_receive_max = props.receive_maximum.unwrap_or(u16::MAX);
            }
            Packet::Publish(publish) => {
                if let Some(alias) = props.topic_alias {
                    publish.topic = self.resolve_alias(alias, publish.topic)?;
                }
            }
            _ => {}
        }
        Ok(Some((packet, used)))
    }

    /// A Topic Alias from the broker: with a topic it (re)defines the alias, with an empty one
    /// it stands for the topic defined before (section 3.3.2.3.4).
    fn resolve_alias<'a>(&'a mut self, alias: u16, topic: &'a [u8]) -> Result<&'a [u8], Malformed> {
        if alias == 0 || !self.aliases() || alias > TOPIC_ALIAS_MAXIMUM {
            // [MQTT-3.3.2-8], [MQTT-3.3.2-10]
            return Err(Malformed(
                "topic alias outside the maximum this client announced",
            ));
        }
        let i = usize::from(alias - 1);
        if topic.is_empty() {
            return match self.received_aliases.get(i) {
                Some(known) if !known.is_empty() => Ok(known.as_slice()),
                _ => Err(Malformed("topic alias used before it was set")),
            };
        }
        if self.received_aliases.len() <= i {
            self.received_aliases.resize(i + 1, Vec::new());
        }
        self.received_aliases[i].clear();
        self.received_aliases[i].extend_from_slice(topic);
        Ok(topic)
    }
}

/// What a DISCONNECT reason code from the broker means (MQTT 5 section 3.14.2.1), for the
/// message that reports it; the common ones only.
pub fn disconnect_reason(code: u8) -> &'static str {
    match code {
        0x00 => "normal disconnection",
        0x80 => "unspecified error",
        0x81 => "malformed packet",
        0x82 => "protocol error",
        0x89 => "server busy",
        0x8B => "server shutting down",
        0x8D => "keep alive timeout",
        0x8E => "session taken over",
        0x93 => "receive maximum exceeded",
        0x94 => "topic alias invalid",
        0x95 => "packet too large",
        0x96 => "message rate too high",
        0x97 => "quota exceeded",
        _ => "see MQTT 5 section 3.14.2.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Publish;

    const V5_ALIASES: Protocol = Protocol::V5 {
        topic_aliases: true,
    };

    /// A CONNACK announcing Topic Alias Maximum `max`.
    fn connack(max: u8) -> Vec<u8> {
        vec![0x20, 6, 0, 0, 3, 0x22, 0, max]
    }

    #[test]
    fn publishers_alias_topics_up_to_the_broker_maximum() {
        let mut link = LinkCodec::new(V5_ALIASES);
        assert!(matches!(
            link.decode(&connack(1)),
            Ok(Some((Packet::ConnAck { .. }, 8)))
        ));
        let mut buf = Vec::new();
        link.encode_publish(&mut buf, b"a", 0, 0, b"x");
        // Topic "a" with property length 3: Topic Alias 1.
        assert_eq!(buf, [0x30, 8, 0, 1, b'a', 3, 0x23, 0, 1, b'x']);
        buf.clear();
        link.encode_publish(&mut buf, b"a", 0, 0, b"x");
        // An empty topic and the alias alone.
        assert_eq!(buf, [0x30, 7, 0, 0, 3, 0x23, 0, 1, b'x']);
        buf.clear();
        link.encode_publish(&mut buf, b"b", 0, 0, b"x");
        // The broker allows one alias: "b" goes out in full with no properties.
        assert_eq!(buf, [0x30, 5, 0, 1, b'b', 0, b'x']);
    }

    #[test]
    fn without_aliases_no_topic_is_aliased() {
        let mut link = LinkCodec::new(Protocol::V5 {
            topic_aliases: false,
        });
        link.decode(&connack(10)).unwrap();
        let mut buf = Vec::new();
        link.encode_publish(&mut buf, b"a", 0, 0, b"x");
        link.encode_publish(&mut buf, b"a", 0, 0, b"x");
        assert_eq!(buf, [0x30, 5, 0, 1, b'a', 0, b'x'].repeat(2));
    }

    #[test]
    fn aliases_from_the_broker_resolve_to_their_topic() {
        let mut link = LinkCodec::new(V5_ALIASES);
        let topic = |link: &mut LinkCodec, bytes: &[u8]| match link.decode(bytes) {
            Ok(Some((Packet::Publish(Publish { topic, .. }), _))) => Ok(topic.to_vec()),
            other => Err(format!("{other:?}")),
        };
        // Topic "a/b" sets alias 2, then alias 2 alone stands for it.
        let set = [0x30, 9, 0, 3, b'a', b'/', b'b', 3, 0x23, 0, 2];
        let used = [0x30, 6, 0, 0, 3, 0x23, 0, 2];
        assert_eq!(topic(&mut link, &set), Ok(b"a/b".to_vec()));
        assert_eq!(topic(&mut link, &used), Ok(b"a/b".to_vec()));
        // Alias 1 was never set; alias 11 is above the maximum announced.
        assert!(topic(&mut link, &[0x30, 6, 0, 0, 3, 0x23, 0, 1]).is_err());
        assert!(topic(&mut link, &[0x30, 6, 0, 0, 3, 0x23, 0, 11]).is_err());
    }

    #[test]
    fn connack_sets_the_receive_maximum() {
        let mut link = LinkCodec::new(Protocol::V5 {
            topic_aliases: false,
        });
        assert_eq!(link.receive_maximum(), u16::MAX);
        link.decode(&[0x20, 6, 0, 0, 3, 0x21, 0, 20]).unwrap();
        assert_eq!(link.receive_maximum(), 20);
    }
}
