//! Bridge sections (section 6): read, checked and kept for the bridging issue.

use super::*;
use crate::config::{BridgeDirection, BridgeProtocol, RestartTimeout, StartType};

const BRIDGE: &str = "\
listener 1883
connection cloud
address broker.example:8883 backup.example
topic sensors/# out 1 home/ gw/
topic \"\" in 2 cmd/in cmd/out
topic alarms/+ both
remote_username gateway
remote_password s3cret
bridge_protocol_version mqttv50
restart_timeout 10 60
start_type lazy
keepalive_interval 2
cleansession true
notifications false
bridge_cafile /etc/ssl/ca.pem
";

#[test]
fn a_bridge_is_read_with_its_addresses_and_topics() {
    let loaded = loaded(BRIDGE);
    let b = &loaded.config.bridges[0];
    assert_eq!(b.name, "cloud");
    let addresses: Vec<(&str, u16)> = b
        .addresses
        .iter()
        .map(|a| (a.host.as_str(), a.port))
        .collect();
    assert_eq!(
        addresses,
        [("broker.example", 8883), ("backup.example", 1883)]
    );
    assert_eq!(b.topics.len(), 3);
    assert_eq!(b.topics[0].pattern, "sensors/#");
    assert_eq!(b.topics[0].qos, 1);
    assert_eq!(b.topics[0].local_prefix.as_deref(), Some("home/"));
    assert_eq!(b.topics[1].pattern, "");
    assert_eq!(b.topics[1].direction, BridgeDirection::In);
    assert_eq!(b.topics[2].direction, BridgeDirection::Both);
    assert_eq!(b.topics[2].qos, 0);
    assert_eq!(b.remote_username.as_deref(), Some("gateway"));
    assert_eq!(format!("{:?}", b.remote_password), "Some(<hidden>)");
    assert_eq!(b.protocol_version, BridgeProtocol::V5);
    assert_eq!(
        b.restart_timeout,
        RestartTimeout::Backoff { base: 10, cap: 60 }
    );
    assert_eq!(b.start_type, StartType::Lazy);
    assert_eq!(b.keepalive_interval, 5);
    assert!(b.cleansession && !b.notifications);
    assert_eq!(b.tls.cafile.as_deref(), Some("/etc/ssl/ca.pem"));
    let notes: Vec<String> = loaded.notes.iter().map(Note::to_string).collect();
    assert!(
        !notes.iter().any(|n| n.contains("not supported yet")),
        "bridges are supported: {notes:?}"
    );
    assert!(
        notes.contains(&format!(
            "keepalive_interval ({MAIN}:12) is ignored: below 5 seconds; 5 is used"
        )),
        "{notes:?}"
    );
}

#[test]
fn restart_timeout_alone_is_a_constant_delay() {
    let c = config("connection b\naddress h\ntopic #\nrestart_timeout 0\nlistener 1883\n");
    assert_eq!(c.bridges[0].restart_timeout, RestartTimeout::Constant(1));
}

const BAD_BRIDGES: &[(&str, &str)] = &[
    (
        "address h",
        "1: Invalid bridge configuration: address outside a connection section.",
    ),
    (
        "try_private true",
        "1: Invalid bridge configuration: try_private outside a connection section.",
    ),
    ("connection", "1: Empty connection value in configuration."),
    (
        "connection a\naddress h\ntopic #\nconnection a",
        "4: Duplicate bridge name \"a\".",
    ),
    (
        "connection a\naddress h\naddress i",
        "3: Invalid bridge configuration: a second address line in one bridge.",
    ),
    (
        "connection a\naddress",
        "2: Empty address value in configuration.",
    ),
    (
        "connection a\naddress h:0",
        "2: Invalid port value (0): must be from 1 to 65535.",
    ),
    (
        "connection a\naddress h:x",
        "2: Invalid port value (x): must be from 1 to 65535.",
    ),
    (
        "connection a\ntopic #",
        "1: Invalid bridge configuration: bridge \"a\" has no address.",
    ),
    (
        "connection a\naddress h",
        "1: Invalid bridge configuration: bridge \"a\" has no topic.",
    ),
    (
        "connection a\naddress h\ntopic # sideways",
        "3: Invalid bridge topic direction value (sideways): expected out, in or both.",
    ),
    (
        "connection a\naddress h\ntopic # out 3",
        "3: Invalid bridge QoS value (3): must be 0, 1 or 2.",
    ),
    (
        "connection a\naddress h\ntopic a/#/b",
        "3: Invalid bridge topic value (a/#/b): not a valid topic filter.",
    ),
    (
        "connection a\naddress h\ntopic # out 0 a/+/",
        "3: Invalid bridge topic local prefix value (a/+/): it must be a topic without wildcards.",
    ),
    (
        "connection a\naddress h\ntopic \"\"",
        "3: Invalid bridge topic value (): not a valid topic filter.",
    ),
    (
        "connection a\naddress h\ntopic #\nbridge_protocol_version mqttv311 ",
        "4: Invalid bridge_protocol_version value (mqttv311 ): expected mqttv31, mqttv311 or mqttv50.",
    ),
    (
        "connection a\naddress h\ntopic #\nstart_type manual",
        "4: start_type manual is not supported: mosquitto has no manual start.",
    ),
    (
        "connection a\naddress h\ntopic #\nrestart_timeout 30 10",
        "4: Invalid restart_timeout value (30 10): the cap is lower than the base.",
    ),
    (
        "connection a\naddress h\ntopic #\nkeepalive_interval 70000",
        "4: Invalid keepalive_interval value (70000): must be at most 65535.",
    ),
    (
        "connection a\naddress h\ntopic #\nbridge_psk 00ff",
        "4: bridge_psk is not supported: native-tls has no TLS-PSK.",
    ),
    (
        "connection a\naddress h\ntopic #\nbridge_require_ocsp true",
        "4: bridge_require_ocsp true is not supported: native-tls cannot check OCSP.",
    ),
    (
        "connection a\naddress h\ntopic #\nremote_username x\nusername y",
        "5: Duplicate username value in configuration.",
    ),
    (
        "connection a\naddress h\ntopic #\nlocal_clientid x\nconnection b\naddress h\ntopic #\nlocal_clientid x",
        "5: Bridge local_clientid 'x' is not unique. Try changing or setting the local_clientid value for one of the bridges.",
    ),
];

#[test]
fn bad_bridges_are_refused_with_file_line_and_rule() {
    for (text, expected) in BAD_BRIDGES {
        assert_eq!(
            message(&format!("{text}\n")),
            format!("{MAIN}:{expected}"),
            "{text:?}"
        );
    }
}
