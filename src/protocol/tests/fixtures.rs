//! Byte fixtures written out field by field from the specifications, decoded and re-encoded.

use std::sync::Arc;

use super::*;
use crate::protocol::PropertyValues;
use crate::protocol::{
    ConnAck, Connect, ConnectReturnCode, PubResponse, ReasonCode, RetainHandling, SubAck,
    Subscribe, SubscriptionOptions, SubscriptionRequest, Will,
};

/// Decodes `bytes` to `expected` and encodes `expected` back to `bytes`.
fn fixture(bytes: &[u8], version: ProtocolVersion, expected: Packet) {
    assert_eq!(decode_one(bytes, version), expected);
    let mut out = Vec::new();
    encode(&expected, version, &mut out);
    assert_eq!(out, bytes);
    assert_prefixes_partial(bytes, version);
}

#[test]
fn connect_v3_1() {
    #[rustfmt::skip]
    let bytes = [
        0x10, 16,                               // CONNECT, remaining length 16
        0, 6, b'M', b'Q', b'I', b's', b'd', b'p', // protocol name "MQIsdp"
        3,                                      // protocol level 3
        0b0000_0010,                            // flags: clean session
        0, 60,                                  // keep alive 60 s
        0, 2, b'c', b'1',                       // client identifier "c1"
    ];
    let connect = Connect {
        protocol: ProtocolVersion::V3_1,
        clean_start: true,
        keep_alive: 60,
        client_id: "c1".into(),
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    };
    fixture(
        &bytes,
        ProtocolVersion::V3_1_1,
        Packet::Connect(Box::new(connect)),
    );
}

#[test]
fn connect_v3_1_1_with_will_user_and_password() {
    #[rustfmt::skip]
    let bytes = [
        0x10, 31,                       // CONNECT, remaining length 31
        0, 4, b'M', b'Q', b'T', b'T',   // protocol name "MQTT"
        4,                              // protocol level 4
        0b1110_1110,                    // user name, password, will retain, will QoS 1, will, clean
        0x01, 0x2C,                     // keep alive 300 s
        0, 2, b'i', b'd',               // client identifier "id"
        0, 3, b'w', b'/', b't',         // will topic "w/t"
        0, 3, b'b', b'y', b'e',         // will message "bye"
        0, 1, b'u',                     // user name "u"
        0, 2, 0x01, 0x02,               // password [1, 2]
    ];
    let connect = Connect {
        protocol: ProtocolVersion::V3_1_1,
        clean_start: true,
        keep_alive: 300,
        client_id: "id".into(),
        will: Some(Will {
            topic: Arc::from("w/t"),
            payload: Arc::from(&b"bye"[..]),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Properties::default(),
        }),
        username: Some("u".into()),
        password: Some(vec![1, 2]),
        properties: Properties::default(),
    };
    fixture(
        &bytes,
        ProtocolVersion::V3_1_1,
        Packet::Connect(Box::new(connect)),
    );
}

#[test]
fn connect_v5_with_properties() {
    #[rustfmt::skip]
    let bytes = [
        0x10, 21,                       // CONNECT, remaining length 21
        0, 4, b'M', b'Q', b'T', b'T',   // protocol name "MQTT"
        5,                              // protocol level 5
        0b0000_0010,                    // flags: clean start
        0, 10,                          // keep alive 10 s
        8,                              // property length 8
        0x11, 0, 0, 0x0E, 0x10,         //   session expiry interval 3600 s
        0x21, 0, 16,                    //   receive maximum 16
        0, 0,                           // client identifier "" (server assigns)
    ];
    let connect = Connect {
        protocol: ProtocolVersion::V5,
        clean_start: true,
        keep_alive: 10,
        client_id: String::new(),
        will: None,
        username: None,
        password: None,
        properties: PropertyValues {
            session_expiry_interval: Some(3600),
            receive_maximum: Some(16),
            ..PropertyValues::default()
        }
        .into(),
    };
    // The connection's version does not matter for CONNECT.
    fixture(
        &bytes,
        ProtocolVersion::V3_1_1,
        Packet::Connect(Box::new(connect)),
    );
}

#[test]
fn connack_v3_and_v5() {
    let v3 = ConnAck {
        session_present: true,
        return_code: ConnectReturnCode::Accepted,
        reason: ReasonCode::SUCCESS,
        properties: Properties::default(),
    };
    // CONNACK, length 2, session present, accepted
    fixture(
        &[0x20, 2, 1, 0],
        ProtocolVersion::V3_1_1,
        Packet::ConnAck(v3),
    );
    let v5 = ConnAck {
        session_present: false,
        return_code: ConnectReturnCode::NotAuthorized,
        reason: ReasonCode::NOT_AUTHORIZED,
        properties: Properties::default(),
    };
    // CONNACK, length 3, no session, reason 0x87, property length 0
    fixture(
        &[0x20, 3, 0, 0x87, 0],
        ProtocolVersion::V5,
        Packet::ConnAck(v5),
    );
}

#[test]
fn publish_qos_0_1_2() {
    #[rustfmt::skip]
    let qos0 = [
        0x30, 7,                        // PUBLISH, QoS 0, remaining length 7
        0, 3, b'a', b'/', b'b',         // topic "a/b"
        b'h', b'i',                     // payload "hi"
    ];
    let p = publish(QoS::AtMostOnce, "a/b", b"hi");
    fixture(&qos0, ProtocolVersion::V3_1_1, Packet::Publish(p));

    #[rustfmt::skip]
    let qos1 = [
        0x33, 9,                        // PUBLISH, QoS 1, retain, remaining length 9
        0, 3, b'a', b'/', b'b',         // topic "a/b"
        0, 42,                          // packet identifier 42
        b'h', b'i',                     // payload "hi"
    ];
    let p = Publish {
        retain: true,
        ..publish(QoS::AtLeastOnce, "a/b", b"hi")
    };
    fixture(&qos1, ProtocolVersion::V3_1, Packet::Publish(p));

    #[rustfmt::skip]
    let qos2 = [
        0x3C, 15,                       // PUBLISH, DUP, QoS 2, remaining length 15
        0, 3, b'a', b'/', b'b',         // topic "a/b"
        0, 42,                          // packet identifier 42
        5,                              // property length 5
        0x01, 1,                        //   payload format indicator: UTF-8
        0x23, 0, 5,                     //   topic alias 5
        b'h', b'i',                     // payload "hi"
    ];
    let p = Publish {
        dup: true,
        properties: PropertyValues {
            payload_format_indicator: Some(1),
            topic_alias: Some(5),
            ..PropertyValues::default()
        }
        .into(),
        ..publish(QoS::ExactlyOnce, "a/b", b"hi")
    };
    fixture(&qos2, ProtocolVersion::V5, Packet::Publish(p));
}

#[test]
fn subscribe_v3_and_v5() {
    #[rustfmt::skip]
    let v3 = [
        0x82, 12,                       // SUBSCRIBE, flags 0b0010, remaining length 12
        0, 1,                           // packet identifier 1
        0, 3, b'a', b'/', b'#',         // filter "a/#"
        0x01,                           //   requested QoS 1
        0, 1, b'b',                     // filter "b"
        0x02,                           //   requested QoS 2
    ];
    let sub = |filter: &str, options| SubscriptionRequest {
        filter: filter.into(),
        options,
    };
    let qos = |qos| SubscriptionOptions {
        qos,
        ..SubscriptionOptions::default()
    };
    let s = Subscribe {
        packet_id: id(1),
        filters: vec![
            sub("a/#", qos(QoS::AtLeastOnce)),
            sub("b", qos(QoS::ExactlyOnce)),
        ],
        properties: Properties::default(),
    };
    fixture(&v3, ProtocolVersion::V3_1_1, Packet::Subscribe(s));

    #[rustfmt::skip]
    let v5 = [
        0x82, 9,                        // SUBSCRIBE, flags 0b0010, remaining length 9
        0, 2,                           // packet identifier 2
        2,                              // property length 2
        0x0B, 0x05,                     //   subscription identifier 5
        0, 1, b'c',                     // filter "c"
        0b0010_1101,                    //   retain handling 2, RAP, no local, QoS 1
    ];
    let options = SubscriptionOptions {
        qos: QoS::AtLeastOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
    };
    let s = Subscribe {
        packet_id: id(2),
        filters: vec![sub("c", options)],
        properties: PropertyValues {
            subscription_identifiers: vec![5],
            ..PropertyValues::default()
        }
        .into(),
    };
    fixture(&v5, ProtocolVersion::V5, Packet::Subscribe(s));
}

#[test]
fn suback_v3_and_v5() {
    let reasons = vec![ReasonCode(0), ReasonCode(1), ReasonCode(0x80)];
    let s = SubAck {
        packet_id: id(1),
        reasons: reasons.clone(),
        properties: Properties::default(),
    };
    // SUBACK, length 5, packet identifier 1, granted 0, granted 1, failure
    let v3 = [0x90, 5, 0, 1, 0x00, 0x01, 0x80];
    fixture(&v3, ProtocolVersion::V3_1_1, Packet::SubAck(s.clone()));
    // SUBACK, length 6, packet identifier 1, property length 0, the same three codes
    let v5 = [0x90, 6, 0, 1, 0, 0x00, 0x01, 0x80];
    fixture(&v5, ProtocolVersion::V5, Packet::SubAck(s));
}

#[test]
fn v5_puback_short_forms() {
    let success = PubResponse::new(id(7));
    // PUBACK, length 2, packet identifier 7: success, no properties
    fixture(
        &[0x40, 2, 0, 7],
        ProtocolVersion::V5,
        Packet::PubAck(success.clone()),
    );
    // The long forms of the same packet decode alike (the encoder writes the short one).
    assert_eq!(
        decode_one(&[0x40, 3, 0, 7, 0], ProtocolVersion::V5),
        Packet::PubAck(success.clone())
    );
    assert_eq!(
        decode_one(&[0x40, 4, 0, 7, 0, 0], ProtocolVersion::V5),
        Packet::PubAck(success)
    );
    let no_match = PubResponse {
        reason: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        ..PubResponse::new(id(7))
    };
    // PUBACK, length 3, packet identifier 7, reason 0x10, no property length
    fixture(
        &[0x40, 3, 0, 7, 0x10],
        ProtocolVersion::V5,
        Packet::PubAck(no_match.clone()),
    );
    assert_eq!(
        decode_one(&[0x40, 4, 0, 7, 0x10, 0], ProtocolVersion::V5),
        Packet::PubAck(no_match)
    );
    // PUBREL, flags 0b0010, length 2, packet identifier 0x0102
    let rel = PubResponse::new(id(0x0102));
    fixture(&[0x62, 2, 1, 2], ProtocolVersion::V5, Packet::PubRel(rel));
}
