//! MQTT 5 packets as the load generator writes and reads them: the 3.1.1 forms of `codec.rs`
//! with a properties block, reason codes and topic aliases, encoded by hand.
//!
//! Stateless like `codec.rs`, and like it independent of the broker's codec. Which alias stands
//! for which topic is per-link state and lives in `protocol.rs`; this module only carries the
//! Topic Alias property in and out.

use crate::codec::{Malformed, Packet, Publish, frame, put_remaining_length, put_str};

/// Protocol level 5 is MQTT 5.0 [MQTT-3.1.2-2].
const PROTOCOL_LEVEL: u8 = 5;

/// The property identifiers the generator writes or acts on (MQTT 5 section 2.2.2.2).
const RECEIVE_MAXIMUM: u8 = 0x21;
const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
const TOPIC_ALIAS: u8 = 0x23;

/// Reason codes from 0x80 up report a failure (MQTT 5 section 2.4).
pub const FAILURE: u8 = 0x80;

/// The properties of a packet from the broker that the generator acts on; the rest are skipped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Properties {
    /// CONNACK: how many QoS 1/2 publishes the broker accepts unacknowledged (section 3.2.2.3.3).
    pub receive_maximum: Option<u16>,
    /// CONNACK: the highest Topic Alias the broker accepts from this client (section 3.2.2.3.8).
    pub topic_alias_maximum: Option<u16>,
    /// PUBLISH: the alias that stands for the topic, or replaces an empty one (section 3.3.2.3.4).
    pub topic_alias: Option<u16>,
}

/// CONNECT with clean start and no will, user name or password; the properties block holds
/// Receive Maximum and, when non-zero, Topic Alias Maximum (section 3.1.2.11).
pub fn encode_connect(
    buf: &mut Vec<u8>,
    client_id: &str,
    keep_alive: u16,
    receive_maximum: u16,
    topic_alias_maximum: u16,
) {
    let mut props = vec![RECEIVE_MAXIMUM];
    props.extend_from_slice(&receive_maximum.to_be_bytes());
    if topic_alias_maximum > 0 {
        props.push(TOPIC_ALIAS_MAXIMUM);
        props.extend_from_slice(&topic_alias_maximum.to_be_bytes());
    }
    // Protocol name, level, flags and keep alive, the one-byte property length, the client id.
    let body = 10 + 1 + props.len() + 2 + client_id.len();
    buf.push(0x10);
    put_remaining_length(buf, body);
    put_str(buf, b"MQTT");
    buf.push(PROTOCOL_LEVEL);
    buf.push(0x02); // connect flags: clean start only
    buf.extend_from_slice(&keep_alive.to_be_bytes());
    buf.push(props.len() as u8);
    buf.extend_from_slice(&props);
    put_str(buf, client_id.as_bytes());
}

/// PUBLISH with a Topic Alias property when `alias` is given (`topic` may then be empty, to use
/// an alias set earlier [MQTT-3.3.2-8]); `pid` is ignored for QoS 0.
pub fn encode_publish(
    buf: &mut Vec<u8>,
    topic: &[u8],
    alias: Option<u16>,
    qos: u8,
    pid: u16,
    payload: &[u8],
) {
    let id_len = if qos > 0 { 2 } else { 0 };
    let props_len = if alias.is_some() { 3 } else { 0 };
    buf.push(0x30 | (qos << 1));
    put_remaining_length(
        buf,
        2 + topic.len() + id_len + 1 + props_len + payload.len(),
    );
    put_str(buf, topic);
    if qos > 0 {
        buf.extend_from_slice(&pid.to_be_bytes());
    }
    buf.push(props_len as u8);
    if let Some(alias) = alias {
        buf.push(TOPIC_ALIAS);
        buf.extend_from_slice(&alias.to_be_bytes());
    }
    buf.extend_from_slice(payload);
}

/// SUBSCRIBE with flags 0b0010 [MQTT-3.8.1-1], no properties, and every filter with the same
/// subscription options: the QoS alone, so No Local, Retain As Published and Retain Handling
/// are all 0 (section 3.8.3.1).
pub fn encode_subscribe<S: AsRef<[u8]>>(buf: &mut Vec<u8>, pid: u16, filters: &[S], qos: u8) {
    let body: usize = 3 + filters.iter().map(|f| 3 + f.as_ref().len()).sum::<usize>();
    buf.push(0x82);
    put_remaining_length(buf, body);
    buf.extend_from_slice(&pid.to_be_bytes());
    buf.push(0); // property length
    for filter in filters {
        put_str(buf, filter.as_ref());
        buf.push(qos);
    }
}

/// Decodes one packet from the front of `buf`, as `codec::decode` does, with the properties the
/// generator acts on. A PUBLISH that uses an alias alone comes back with an empty topic.
pub fn decode(buf: &[u8]) -> Result<Option<(Packet<'_>, Properties, usize)>, Malformed> {
    let Some(frame) = frame(buf)? else {
        return Ok(None);
    };
    let (packet, props) = decode_body(frame.first, frame.body)?;
    Ok(Some((packet, props, frame.len)))
}

fn decode_body(first: u8, body: &[u8]) -> Result<(Packet<'_>, Properties), Malformed> {
    let none = Properties::default();
    Ok(match first >> 4 {
        2 => {
            let [flags, code, rest @ ..] = body else {
                return Err(Malformed("CONNACK too short"));
            };
            let (props, _) = decode_properties(rest)?;
            let packet = Packet::ConnAck {
                session_present: flags & 1 == 1,
                code: *code,
            };
            (packet, props)
        }
        3 => decode_publish(first, body)?,
        4 => (Packet::PubAck(decode_ack(body)?.0), none),
        // A PUBREC with a failure reason ends the QoS 2 flow: no PUBREL follows [MQTT-4.3.3-2],
        // so it stands for the PUBCOMP that will not come.
        5 => match decode_ack(body)? {
            (pid, reason) if reason >= FAILURE => (Packet::PubComp(pid), none),
            (pid, _) => (Packet::PubRec(pid), none),
        },
        6 => (Packet::PubRel(decode_ack(body)?.0), none),
        7 => (Packet::PubComp(decode_ack(body)?.0), none),
        9 => {
            let [a, b, rest @ ..] = body else {
                return Err(Malformed("SUBACK too short"));
            };
            let (_, codes) = decode_properties(rest)?;
            let pid = u16::from_be_bytes([*a, *b]);
            (Packet::SubAck { pid, codes }, none)
        }
        // Remaining length 0 means reason 0x00, normal disconnection (section 3.14.2.1).
        14 => {
            let reason = body.first().copied().unwrap_or(0);
            (Packet::Disconnect { reason }, none)
        }
        kind => (Packet::Other(kind), none),
    })
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP: the packet id, then a reason code that is 0x00 when
/// absent, then properties (sections 3.4.2 to 3.7.2), which the generator does not need.
fn decode_ack(body: &[u8]) -> Result<(u16, u8), Malformed> {
    match body {
        [a, b] => Ok((u16::from_be_bytes([*a, *b]), 0)),
        [a, b, reason, ..] => Ok((u16::from_be_bytes([*a, *b]), *reason)),
        _ => Err(Malformed("acknowledgement too short")),
    }
}

fn decode_publish(first: u8, body: &[u8]) -> Result<(Packet<'_>, Properties), Malformed> {
    let qos = (first >> 1) & 3;
    if qos == 3 {
        return Err(Malformed("PUBLISH with QoS 3"));
    }
    let (topic, mut rest) =
        split_str(body).ok_or(Malformed("PUBLISH topic overruns the packet"))?;
    let mut pid = 0;
    if qos > 0 {
        let [a, b, tail @ ..] = rest else {
            return Err(Malformed("PUBLISH without packet id"));
        };
        pid = u16::from_be_bytes([*a, *b]);
        rest = tail;
    }
    let (props, payload) = decode_properties(rest)?;
    let publish = Publish {
        qos,
        dup: first & 0x08 != 0,
        retain: first & 0x01 != 0,
        topic,
        pid,
        payload,
    };
    Ok((Packet::Publish(publish), props))
}

/// Reads a properties block (section 2.2.2): the properties the generator acts on, and what
/// follows the block.
fn decode_properties(buf: &[u8]) -> Result<(Properties, &[u8]), Malformed> {
    let (len, rest) = split_varint(buf).ok_or(Malformed("bad property length"))?;
    let block = rest
        .get(..len)
        .ok_or(Malformed("properties overrun the packet"))?;
    let after = &rest[len..];
    let mut props = Properties::default();
    let mut cur = block;
    while let [id, tail @ ..] = cur {
        let two = || match tail {
            [a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        };
        match *id {
            RECEIVE_MAXIMUM => props.receive_maximum = two(),
            TOPIC_ALIAS_MAXIMUM => props.topic_alias_maximum = two(),
            TOPIC_ALIAS => props.topic_alias = two(),
            _ => {}
        }
        cur = skip_property(*id, tail).ok_or(Malformed("bad or truncated property"))?;
    }
    Ok((props, after))
}

/// The bytes after the value of property `id`, by the value's type (section 2.2.2.2).
fn skip_property(id: u8, value: &[u8]) -> Option<&[u8]> {
    let fixed = |n: usize| value.get(n..);
    match id {
        // Bytes: payload format, request problem/response information, maximum QoS, retain,
        // wildcard, subscription identifier and shared subscription available.
        0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => fixed(1),
        // Two-byte integers: server keep alive, receive maximum, topic alias (maximum).
        0x13 | 0x21 | 0x22 | 0x23 => fixed(2),
        // Four-byte integers: message and session expiry, will delay, maximum packet size.
        0x02 | 0x11 | 0x18 | 0x27 => fixed(4),
        // Strings and binary data: content type, response topic, correlation data, assigned
        // client id, authentication method and data, response information, server reference,
        // reason string.
        0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1A | 0x1C | 0x1F => Some(split_str(value)?.1),
        // Variable byte integer: subscription identifier.
        0x0B => Some(split_varint(value)?.1),
        // User property: a pair of strings.
        0x26 => Some(split_str(split_str(value)?.1)?.1),
        _ => None,
    }
}

/// A two-byte length and that many bytes, and what follows.
fn split_str(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let [a, b, rest @ ..] = buf else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([*a, *b]));
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// A variable byte integer of at most four bytes (section 1.5.5), and what follows.
fn split_varint(buf: &[u8]) -> Option<(usize, &[u8])> {
    let mut value = 0usize;
    for (i, byte) in buf.iter().enumerate().take(4) {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &buf[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish<'a>(topic: &'a [u8], qos: u8, pid: u16, payload: &'a [u8]) -> Packet<'a> {
        Packet::Publish(Publish {
            qos,
            dup: false,
            retain: false,
            topic,
            pid,
            payload,
        })
    }

    #[test]
    fn connect_announces_receive_maximum_and_topic_alias_maximum() {
        let mut buf = Vec::new();
        encode_connect(&mut buf, "ab", 0, 65_535, 10);
        #[rustfmt::skip]
        let expected = [
            0x10, 21,                       // CONNECT, remaining length
            0, 4, b'M', b'Q', b'T', b'T',   // protocol name (3.1.2.1)
            5,                              // protocol version 5 (3.1.2.2)
            0x02,                           // connect flags: clean start (3.1.2.4)
            0, 0,                           // keep alive off (3.1.2.10)
            6,                              // property length (3.1.2.11.1)
            0x21, 0xFF, 0xFF,               //   receive maximum 65,535 (3.1.2.11.3)
            0x22, 0, 10,                    //   topic alias maximum 10 (3.1.2.11.5)
            0, 2, b'a', b'b',               // client identifier (3.1.3.1)
        ];
        assert_eq!(buf, expected);
    }

    #[test]
    fn publish_carries_a_properties_block_and_an_optional_alias() {
        let mut buf = Vec::new();
        encode_publish(&mut buf, b"a/b", None, 1, 7, b"hi");
        #[rustfmt::skip]
        let plain = [
            0x32, 10,                       // PUBLISH QoS 1, remaining length
            0, 3, b'a', b'/', b'b',         // topic name (3.3.2.1)
            0, 7,                           // packet identifier (3.3.2.2)
            0,                              // property length (3.3.2.3.1)
            b'h', b'i',                     // payload
        ];
        assert_eq!(buf, plain);

        buf.clear();
        encode_publish(&mut buf, b"", Some(3), 0, 0, b"hi");
        #[rustfmt::skip]
        let aliased = [
            0x30, 8,                        // PUBLISH QoS 0, remaining length
            0, 0,                           // empty topic name: the alias stands for it
            3,                              // property length
            0x23, 0, 3,                     //   topic alias 3 (3.3.2.3.4)
            b'h', b'i',                     // payload
        ];
        assert_eq!(buf, aliased);
        let alias = Properties {
            topic_alias: Some(3),
            ..Properties::default()
        };
        assert_eq!(
            decode(&buf),
            Ok(Some((publish(b"", 0, 0, b"hi"), alias, buf.len())))
        );
    }

    #[test]
    fn subscribe_has_a_property_length_and_an_options_byte() {
        let mut buf = Vec::new();
        encode_subscribe(&mut buf, 1, &["a/#"], 1);
        #[rustfmt::skip]
        let expected = [
            0x82, 9,                        // SUBSCRIBE, remaining length
            0, 1,                           // packet identifier
            0,                              // property length (3.8.2.1)
            0, 3, b'a', b'/', b'#',         // topic filter
            0x01,                           // options: QoS 1, no local 0, RAP 0, retain 0
        ];
        assert_eq!(buf, expected);
    }

    #[test]
    fn connack_yields_the_broker_limits_and_skips_the_rest() {
        #[rustfmt::skip]
        let connack = [
            0x20, 18,                       // CONNACK, remaining length
            0x00,                           // acknowledge flags: no session present (3.2.2.1)
            0x00,                           // reason code: success (3.2.2.2)
            15,                             // property length (3.2.2.3.1)
            0x21, 0, 100,                   //   receive maximum 100
            0x22, 0, 10,                    //   topic alias maximum 10
            0x1F, 0, 2, b'o', b'k',         //   reason string "ok"
            0x24, 1,                        //   maximum QoS 1
            0x28, 1,                        //   wildcard subscription available
        ];
        let limits = Properties {
            receive_maximum: Some(100),
            topic_alias_maximum: Some(10),
            topic_alias: None,
        };
        let accepted = Packet::ConnAck {
            session_present: false,
            code: 0,
        };
        assert_eq!(decode(&connack), Ok(Some((accepted, limits, 20))));
    }

    #[test]
    fn acknowledgements_in_short_and_long_forms() {
        let none = Properties::default();
        // The short form: reason 0x00 and no properties are left out (3.4.2.1).
        assert_eq!(
            decode(&[0x40, 2, 0, 9]),
            Ok(Some((Packet::PubAck(9), none, 4)))
        );
        // Reason 0x10, no matching subscribers, with a user property "k"="v".
        #[rustfmt::skip]
        let long = [
            0x40, 11,                       // PUBACK, remaining length
            0, 9,                           // packet identifier
            0x10,                           // reason code (3.4.2.1)
            7,                              // property length (3.4.2.2)
            0x26, 0, 1, b'k', 0, 1, b'v',   //   user property
        ];
        assert_eq!(decode(&long), Ok(Some((Packet::PubAck(9), none, 13))));
        // A PUBREC with reason 0x97, quota exceeded, ends the flow.
        assert_eq!(
            decode(&[0x50, 3, 0, 9, 0x97]),
            Ok(Some((Packet::PubComp(9), none, 5)))
        );
        assert_eq!(
            decode(&[0x50, 4, 0, 9, 0x00, 0]),
            Ok(Some((Packet::PubRec(9), none, 6)))
        );
    }

    #[test]
    fn suback_reason_codes_follow_the_properties() {
        #[rustfmt::skip]
        let suback = [
            0x90, 5,                        // SUBACK, remaining length
            0, 1,                           // packet identifier
            0,                              // property length (3.9.2.1)
            0x01, 0x87,                     // granted QoS 1; not authorized
        ];
        let codes: &[u8] = &[0x01, 0x87];
        assert_eq!(
            decode(&suback),
            Ok(Some((
                Packet::SubAck { pid: 1, codes },
                Properties::default(),
                7
            )))
        );
    }

    #[test]
    fn disconnect_reports_its_reason() {
        let none = Properties::default();
        assert_eq!(
            decode(&[0xE0, 0]),
            Ok(Some((Packet::Disconnect { reason: 0 }, none, 2)))
        );
        // 0x94, topic alias invalid, with an empty properties block.
        assert_eq!(
            decode(&[0xE0, 2, 0x94, 0]),
            Ok(Some((Packet::Disconnect { reason: 0x94 }, none, 4)))
        );
    }

    #[test]
    fn every_prefix_of_a_packet_is_partial() {
        let mut buf = Vec::new();
        encode_publish(&mut buf, b"t", Some(1), 1, 1, &[0u8; 200]);
        for end in 0..buf.len() {
            assert_eq!(decode(&buf[..end]), Ok(None), "prefix of {end} bytes");
        }
    }

    #[test]
    fn broken_properties_are_malformed() {
        // A property length that runs past the packet.
        assert!(decode(&[0x30, 4, 0, 0, 5, 0x23]).is_err());
        // An unknown property identifier.
        assert!(decode(&[0x30, 5, 0, 0, 2, 0x7F, 0]).is_err());
        // A Topic Alias cut short.
        assert!(decode(&[0x30, 5, 0, 0, 2, 0x23, 0]).is_err());
    }
}
