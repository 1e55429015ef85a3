//! The answer to every protocol name and level combination in CONNECT, byte for byte: the
//! three minibroker speaks are accepted, levels 3 and 4 with a wrong name get the 3.x refusal,
//! and every other level the MQTT 5 one (MQTT 3.1.1 and 5.0 §3.1.2.1, §3.1.2.2).

mod common;

use common::{Broker, Client, Connect, ConnectV5, TIMEOUT};

/// CONNACK return code 1 (unacceptable protocol version) in the 3.x form: flags 0, code 1.
const REFUSED_V3: [u8; 4] = [0x20, 0x02, 0x00, 0x01];
/// CONNACK reason code 0x84 (Unsupported Protocol Version) in the MQTT 5 form: flags 0, reason
/// 0x84, no properties.
const REFUSED_V5: [u8; 5] = [0x20, 0x03, 0x00, 0x84, 0x00];

/// A 3.1.1-layout CONNECT with the given protocol name and level. The broker stops reading at
/// the level when the pair is unknown, so the rest of the layout does not matter.
fn connect(name: &[u8], level: u8) -> Vec<u8> {
    let mut connect = Connect::v311("level-probe");
    connect.protocol_name = name.to_vec();
    connect.level = level;
    connect.encode()
}

/// Sends `connect` and asserts the broker answers exactly `expected`, then closes.
fn assert_refused(connect: &[u8], expected: &[u8]) {
    let broker = Broker::start(&[]);
    let mut client = Client::open(broker.addr());
    client.send(connect);
    let reply = client.raw_until_closed(TIMEOUT);
    assert_eq!(reply, expected, "reply to {connect:02x?}");
}

/// Sends `connect` and asserts a 3.x CONNACK 0 (session present 0), and that the connection
/// then works.
fn assert_accepted_v3(connect: &[u8]) {
    let broker = Broker::start(&[]);
    let mut client = Client::open(broker.addr());
    client.send(connect);
    assert_eq!(client.expect_connack(), (false, 0));
    client.sync();
}

/// [MQTT-3.1.2-2] "MQIsdp" with level 3 is MQTT 3.1, which minibroker speaks.
#[test]
fn mqisdp_3_is_accepted() {
    assert_accepted_v3(&connect(b"MQIsdp", 3));
}

/// [MQTT-3.1.2-1] [MQTT-3.1.2-2] "MQTT" with level 4 is MQTT 3.1.1.
#[test]
fn mqtt_4_is_accepted() {
    assert_accepted_v3(&connect(b"MQTT", 4));
}

/// MQTT 5 [MQTT-3.1.2-1] [MQTT-3.1.2-2] "MQTT" with level 5 is MQTT 5.0: CONNACK in the 5.0
/// form with reason 0x00.
#[test]
fn mqtt_5_is_accepted() {
    let broker = Broker::start(&[]);
    let (mut client, connack) = Client::connect_v5_with(broker.addr(), &ConnectV5::new("five"));
    assert_eq!((connack.session_present, connack.reason), (false, 0));
    client.sync();
}

/// [MQTT-3.1.2-1] Level 3 with the 3.1.1 name "MQTT": no protocol; a level-3 client reads
/// the 3.x CONNACK, so it gets return code 1.
#[test]
fn mqtt_3_gets_return_code_1() {
    assert_refused(&connect(b"MQTT", 3), &REFUSED_V3);
}

/// [MQTT-3.1.2-1] Level 4 with the 3.1 name "MQIsdp": return code 1 in the 3.x form.
#[test]
fn mqisdp_4_gets_return_code_1() {
    assert_refused(&connect(b"MQIsdp", 4), &REFUSED_V3);
}

/// [MQTT-3.1.2-1] Level 4 with unknown names (wrong case, a typo, empty, not UTF-8): return
/// code 1 in the 3.x form.
#[test]
fn unknown_names_at_level_4_get_return_code_1() {
    for name in [&b"mqtt"[..], b"MQTX", b"", b"\xFF\xFE"] {
        assert_refused(&connect(name, 4), &REFUSED_V3);
    }
}

/// [MQTT-3.1.2-1] Level 3 with an unknown name: return code 1 in the 3.x form.
#[test]
fn unknown_name_at_level_3_gets_return_code_1() {
    assert_refused(&connect(b"HTTP", 3), &REFUSED_V3);
}

/// Levels 3 and 4 with the bridge bit (0x83, 0x84), as mosquitto bridges send them with
/// `try_private`: return code 1 in the 3.x form, on which those bridges retry without the bit.
#[test]
fn bridge_levels_get_return_code_1() {
    assert_refused(&connect(b"MQIsdp", 0x83), &REFUSED_V3);
    assert_refused(&connect(b"MQTT", 0x84), &REFUSED_V3);
}

/// MQTT 5 [MQTT-3.1.2-1] Level 5 with a name other than "MQTT": reason 0x84 in the 5.0 form,
/// the form a level-5 client reads.
#[test]
fn level_5_with_another_name_gets_0x84() {
    for name in [&b"MQIsdp"[..], b"MQTX", b""] {
        assert_refused(&connect(name, 5), &REFUSED_V5);
    }
}

/// MQTT 5 [MQTT-3.1.2-2] Level 6, a later version minibroker does not speak: reason 0x84 in
/// the 5.0 form, then the close.
#[test]
fn level_6_gets_0x84() {
    assert_refused(&connect(b"MQTT", 6), &REFUSED_V5);
}

/// MQTT 5 [MQTT-3.1.2-2] Level 99: reason 0x84 in the 5.0 form.
#[test]
fn level_99_gets_0x84() {
    assert_refused(&connect(b"MQTT", 99), &REFUSED_V5);
}

/// MQTT 5 [MQTT-3.1.2-2] Level 255: reason 0x84 in the 5.0 form.
#[test]
fn level_255_gets_0x84() {
    assert_refused(&connect(b"MQTT", 255), &REFUSED_V5);
}

/// MQTT 5 [MQTT-3.1.2-2] Levels 0, 1 and 2 never named an MQTT version: reason 0x84 in the
/// 5.0 form, with either name.
#[test]
fn levels_0_1_2_get_0x84() {
    for level in [0, 1, 2] {
        assert_refused(&connect(b"MQTT", level), &REFUSED_V5);
        assert_refused(&connect(b"MQIsdp", level), &REFUSED_V5);
    }
}

/// MQTT 5 [MQTT-3.1.2-1] [MQTT-3.1.2-2] An unknown name with an unknown level: the level
/// decides the form, so reason 0x84 in the 5.0 form.
#[test]
fn unknown_name_and_level_get_0x84() {
    assert_refused(&connect(b"HTTP", 7), &REFUSED_V5);
    // Level 5 with the bridge bit is not a level minibroker speaks either.
    assert_refused(&connect(b"MQTT", 0x85), &REFUSED_V5);
}
