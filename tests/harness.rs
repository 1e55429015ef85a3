//! Checks of the test harness itself: the hand-written encoder against the byte layouts in the
//! MQTT 3.1.1 specification, so a socket test failure points at the broker and not the client.

mod common;

use common::wire::{Connect, Packet, Publish, put_remaining_length, split_packet};

#[test]
fn remaining_length_boundaries_follow_the_table_in_2_2_3() {
    let enc = |n| {
        let mut v = Vec::new();
        put_remaining_length(&mut v, n);
        v
    };
    assert_eq!(enc(0), [0x00]);
    assert_eq!(enc(127), [0x7F]);
    assert_eq!(enc(128), [0x80, 0x01]);
    assert_eq!(enc(16_383), [0xFF, 0x7F]);
    assert_eq!(enc(16_384), [0x80, 0x80, 0x01]);
    assert_eq!(enc(2_097_152), [0x80, 0x80, 0x80, 0x01]);
    assert_eq!(enc(268_435_455), [0xFF, 0xFF, 0xFF, 0x7F]);
}

#[test]
fn connect_matches_the_example_bytes_of_3_1_2_10() {
    // Protocol name "MQTT", level 4, flags: user, password, will retain, will QoS 1, will,
    // clean session, keepalive 10.
    let packet = Connect::v311("id")
        .keep_alive(10)
        .will("w", b"p", 1, true)
        .username("u")
        .password(b"pw")
        .encode();
    #[rustfmt::skip]
    let expected = [
        0x10, 27,                               // CONNECT, remaining length
        0, 4, b'M', b'Q', b'T', b'T', 4,        // protocol name, level
        0b1110_1110, 0, 10,                     // flags, keepalive
        0, 2, b'i', b'd',                       // client id
        0, 1, b'w', 0, 1, b'p',                 // will topic, will message
        0, 1, b'u', 0, 2, b'p', b'w',           // user name, password
    ];
    assert_eq!(packet, expected);
}

#[test]
fn publish_round_trips_and_every_prefix_is_partial() {
    let publish = Publish::new("a/b", b"hello").qos(2, 0x1234).retain().dup();
    let bytes = publish.encode();
    assert_eq!(bytes[0], 0x3D);
    for cut in 0..bytes.len() {
        assert_eq!(split_packet(&bytes[..cut]), Ok(None));
    }
    let (first, body, used) = split_packet(&bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(Packet::decode(first, body), Packet::Publish(publish));
}
