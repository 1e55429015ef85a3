//! MQTT 5 properties on the wire: identifiers, repetition, where each may appear, value rules.

use super::*;
use crate::protocol::DecodeError::{self, *};

const V5: ProtocolVersion = ProtocolVersion::V5;

/// A v5 CONNECT carrying `props` as its properties (and a will carrying `will`, if any).
fn connect(props: &[u8], will: Option<&[u8]>) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 5];
    body.push(if will.is_some() {
        0b0000_0110
    } else {
        0b0000_0010
    });
    body.extend_from_slice(&[0, 0, props.len() as u8]);
    body.extend_from_slice(props);
    body.extend_from_slice(&[0, 1, b'c']);
    if let Some(will) = will {
        body.push(will.len() as u8);
        body.extend_from_slice(will);
        body.extend_from_slice(&[0, 1, b't', 0, 0]);
    }
    frame(0x10, body)
}

/// A v5 QoS 0 PUBLISH to "t" carrying `props`, with payload "p".
fn publish(props: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 1, b't', props.len() as u8];
    body.extend_from_slice(props);
    body.push(b'p');
    frame(0x30, body)
}

/// A v5 PUBACK with reason 0 carrying `props`.
fn puback(props: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 1, 0, props.len() as u8];
    body.extend_from_slice(props);
    frame(0x40, body)
}

fn frame(first: u8, body: Vec<u8>) -> Vec<u8> {
    assert!(body.len() < 128);
    let mut bytes = vec![first, body.len() as u8];
    bytes.extend(body);
    bytes
}

fn properties_of(bytes: &[u8]) -> Properties {
    match decode_one(bytes, V5) {
        Packet::Connect(c) => c.properties,
        Packet::Publish(p) => p.properties,
        Packet::PubAck(r) => r.properties,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn user_properties_repeat_in_order() {
    #[rustfmt::skip]
    let props = [
        0x26, 0, 1, b'k', 0, 1, b'2',
        0x26, 0, 1, b'a', 0, 1, b'x',
        0x26, 0, 1, b'k', 0, 1, b'1',
    ];
    assert_eq!(
        properties_of(&puback(&props)).user_properties,
        user_properties()
    );
    assert_eq!(
        properties_of(&publish(&props)).user_properties,
        user_properties()
    );
}

#[test]
fn unknown_identifiers() {
    assert_rejected(&publish(&[0x05, 0]), V5, UnknownProperty { id: 0x05 });
    assert_rejected(&puback(&[0x00]), V5, UnknownProperty { id: 0 });
    // Identifiers are variable byte integers: 0x80 0x02 is 256.
    assert_rejected(&puback(&[0x80, 0x02]), V5, UnknownProperty { id: 256 });
    assert_rejected(&puback(&[0x7F]), V5, UnknownProperty { id: 0x7F });
}

#[test]
fn duplicates() {
    let twice = [0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2];
    assert_rejected(&connect(&twice, None), V5, DuplicateProperty { id: 0x11 });
    let twice = [0x1F, 0, 1, b'a', 0x1F, 0, 0];
    assert_rejected(&puback(&twice), V5, DuplicateProperty { id: 0x1F });
    let twice = [0x23, 0, 1, 0x23, 0, 1];
    assert_rejected(&publish(&twice), V5, DuplicateProperty { id: 0x23 });
    let twice = [0x18, 0, 0, 0, 1, 0x18, 0, 0, 0, 1];
    assert_rejected(
        &connect(&[], Some(&twice)),
        V5,
        DuplicateProperty { id: 0x18 },
    );
}

#[test]
fn subscription_identifiers() {
    // Several in a PUBLISH (one per matching subscription), in order.
    let ids = [0x0B, 0x80, 0x01, 0x0B, 0x01];
    assert_eq!(
        properties_of(&publish(&ids)).subscription_identifiers,
        [128, 1]
    );
    // At most one in a SUBSCRIBE.
    let subscribe = [0x82, 11, 0, 1, 4, 0x0B, 1, 0x0B, 2, 0, 1, b'a', 0];
    assert_rejected(&subscribe, V5, DuplicateProperty { id: 0x0B });
    // Zero is not an identifier.
    assert_rejected(&publish(&[0x0B, 0]), V5, InvalidPropertyValue { id: 0x0B });
    // Five bytes of variable byte integer.
    let long = [0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
    assert_rejected(&publish(&long), V5, InvalidVariableByteInteger);
}

#[test]
fn not_allowed_on_the_packet() {
    let not = |id, packet| PropertyNotAllowed { id, packet };
    // Topic alias on CONNECT, will delay outside a will, session expiry inside one.
    assert_rejected(&connect(&[0x23, 0, 1], None), V5, not(0x23, "CONNECT"));
    assert_rejected(
        &connect(&[0x18, 0, 0, 0, 1], None),
        V5,
        not(0x18, "CONNECT"),
    );
    let in_will = connect(&[], Some(&[0x11, 0, 0, 0, 1]));
    assert_rejected(&in_will, V5, not(0x11, "will properties"));
    // Reason string on PUBLISH, payload format on PUBACK, receive maximum on PUBLISH.
    assert_rejected(&publish(&[0x1F, 0, 0]), V5, not(0x1F, "PUBLISH"));
    let on_ack = not(0x01, "PUBACK/PUBREC/PUBREL/PUBCOMP");
    assert_rejected(&puback(&[0x01, 0]), V5, on_ack);
    assert_rejected(&publish(&[0x21, 0, 1]), V5, not(0x21, "PUBLISH"));
    // Maximum QoS on CONNECT (CONNACK only), user property on UNSUBSCRIBE is fine.
    assert_rejected(&connect(&[0x24, 0], None), V5, not(0x24, "CONNECT"));
    let unsubscribe = [0xA2, 13, 0, 1, 7, 0x26, 0, 1, b'k', 0, 1, b'v', 0, 1, b'a'];
    assert!(matches!(
        decode_packet(&unsubscribe, V5, MAX),
        Ok(Some((Packet::Unsubscribe(_), 15)))
    ));
    let unsubscribe = [0xA2, 8, 0, 1, 2, 0x0B, 1, 0, 1, b'a'];
    assert_rejected(&unsubscribe, V5, not(0x0B, "UNSUBSCRIBE"));
}

#[test]
fn value_rules() {
    let bad = |id| InvalidPropertyValue { id };
    assert_rejected(&connect(&[0x21, 0, 0], None), V5, bad(0x21));
    assert_rejected(&connect(&[0x27, 0, 0, 0, 0], None), V5, bad(0x27));
    assert_rejected(&publish(&[0x23, 0, 0]), V5, bad(0x23));
    assert_rejected(&publish(&[0x01, 2]), V5, bad(0x01));
    assert_rejected(&connect(&[0x17, 2], None), V5, bad(0x17));
    assert_rejected(&connect(&[0x19, 0xFF], None), V5, bad(0x19));
    let connack = |props: &[u8]| {
        let mut body = vec![0, 0, props.len() as u8];
        body.extend_from_slice(props);
        frame(0x20, body)
    };
    for id in [0x24, 0x25, 0x28, 0x29, 0x2A] {
        assert_rejected(&connack(&[id, 2]), V5, bad(id));
        assert!(decode_packet(&connack(&[id, 1]), V5, MAX).is_ok());
    }
    // Topic alias maximum 0 is allowed: it means "no aliases".
    assert!(decode_packet(&connect(&[0x22, 0, 0], None), V5, MAX).is_ok());
    // A response topic is a topic name.
    let response = [0x08, 0, 1, b'+'];
    assert_rejected(&publish(&response), V5, WildcardInTopicName);
    // Strings inside properties follow the UTF-8 rules.
    assert_rejected(&puback(&[0x1F, 0, 1, 0]), V5, NullCharacter);
}

#[test]
fn property_lengths_are_bounded_by_the_packet() {
    let end: DecodeError = UnexpectedEnd { packet: "PUBACK" };
    // A property length of 9 with 3 bytes left.
    assert_rejected(&[0x40, 6, 0, 1, 0, 9, 0x1F, 0], V5, end.clone());
    // A value cut short inside the property length.
    assert_rejected(&[0x40, 6, 0, 1, 0, 2, 0x1F, 0], V5, end);
    let mut too_long = publish(&[0x02, 0, 0]);
    too_long[1] -= 1;
    too_long.pop();
    let end = UnexpectedEnd { packet: "PUBLISH" };
    assert_rejected(&too_long, V5, end);
}

#[test]
fn v3_packets_have_no_properties() {
    // The same bytes mean different things by version: in 3.1.1 the 0 is payload.
    let bytes = [0x30, 4, 0, 1, b't', 0];
    match decode_one(&bytes, ProtocolVersion::V3_1_1) {
        Packet::Publish(p) => assert_eq!(&*p.payload, [0]),
        other => panic!("unexpected {other:?}"),
    }
    match decode_one(&bytes, V5) {
        Packet::Publish(p) => assert!(p.payload.is_empty() && p.properties.is_empty()),
        other => panic!("unexpected {other:?}"),
    }
}

/// Per-delivery overrides replace the stored alias, expiry and subscription identifiers, keep
/// everything else, and `publish_len_with` predicts the size exactly.
#[test]
fn publish_overrides_replace_per_delivery_properties() {
    use crate::protocol::{
        PacketId, PublishHeader, PublishOverrides, encode_publish_with, publish_len_with,
    };
    let stored = Properties {
        message_expiry_interval: Some(100),
        content_type: Some("text/plain".into()),
        user_properties: vec![("k".into(), "v".into())],
        ..Properties::default()
    };
    let ids = [7, 300];
    let overrides = PublishOverrides {
        topic_alias: Some(3),
        message_expiry_interval: Some(42),
        subscription_identifiers: Some(&ids),
    };
    let header = PublishHeader {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        packet_id: PacketId::new(9),
    };
    let mut out = Vec::new();
    encode_publish_with(&mut out, V5, header, "", &stored, &overrides, b"hi");
    assert_eq!(
        out.len(),
        publish_len_with(V5, "", &stored, &overrides, 2, true)
    );
    let Some((Packet::Publish(publish), used)) = decode_packet(&out, V5, u32::MAX).unwrap() else {
        panic!("not a PUBLISH");
    };
    assert_eq!(used, out.len());
    let expected = Properties {
        message_expiry_interval: Some(42),
        topic_alias: Some(3),
        subscription_identifiers: vec![7, 300],
        ..stored
    };
    assert_eq!(publish.properties, expected);
    assert_eq!(&*publish.payload, b"hi");
}
