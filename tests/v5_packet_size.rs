//! The Maximum Packet Size an MQTT 5 client announces bounds every packet the broker sends it,
//! CONNACK included: optional properties are left out to fit (MQTT 5.0 §3.1.2.11.4), and what
//! may not be left out is sent in its smallest form (see src/protocol/fit.rs).

mod common;

use std::net::SocketAddr;

use common::wire::split_packet;
use common::{Broker, Client, ConnectV5, Filter, Packet, PacketV5, Prop, Props, TIMEOUT, wire_v5};

/// Connects `id` announcing `maximum` (none if `None`); returns the client and the CONNACK's
/// bytes.
fn connect(addr: SocketAddr, id: &str, maximum: Option<u32>) -> (Client, Vec<u8>) {
    let mut connect = ConnectV5::new(id);
    if let Some(maximum) = maximum {
        connect = connect.prop(Prop::MaximumPacketSize(maximum));
    }
    let mut client = Client::open(addr);
    client.use_v5(&format!("v5 client {id:?} (maximum {maximum:?})"));
    client.send(&connect.encode());
    let connack = client.next_raw(TIMEOUT);
    (client, connack)
}

/// Decodes one packet's bytes as the test client's MQTT 5 decoder does.
fn decode(bytes: &[u8]) -> PacketV5 {
    let (first_byte, body, _) = split_packet(bytes).unwrap().expect("a whole packet");
    match wire_v5::decode(first_byte, body) {
        Packet::V5(packet) => packet,
        other => panic!("not an MQTT 5 packet: {other:?}"),
    }
}

fn connack_props(bytes: &[u8]) -> Props {
    match decode(bytes) {
        PacketV5::ConnAck {
            reason: 0, props, ..
        } => props,
        other => panic!("not a successful CONNACK: {other:?}"),
    }
}

/// [MQTT-3.1.2-24] Without a limit the CONNACK is 24 bytes; a client announcing 23, 20, 16 or
/// 13 gets one no larger, without the properties that repeat their default first, then without
/// Topic Alias Maximum ([MQTT-3.2.2-18]: the client then sends no aliases). Receive Maximum
/// and Maximum Packet Size stay, and the connection works.
#[test]
fn connack_fits_the_client_maximum_packet_size() {
    let broker = Broker::start(&[]);
    let (_, whole) = connect(broker.addr(), "whole", None);
    assert_eq!(whole.len(), 24, "{whole:02x?}");
    for maximum in [24, 23, 20, 16, 13] {
        let (mut client, connack) = connect(broker.addr(), "small", Some(maximum));
        assert!(
            connack.len() <= maximum as usize,
            "CONNACK of {} bytes for a maximum of {maximum}: {connack:02x?}",
            connack.len()
        );
        let props = connack_props(&connack);
        assert_eq!(props.receive_maximum(), Some(20), "{props:?}");
        assert!(props.maximum_packet_size().is_some(), "{props:?}");
        if maximum < 24 {
            assert!(!props.0.contains(&Prop::RetainAvailable(1)), "{props:?}");
        }
        client.sync();
    }
}

/// Below the smallest CONNACK (13 bytes here), the CONNACK is sent in that smallest form: it
/// keeps what the broker then enforces (Receive Maximum, Maximum Packet Size) rather than let
/// the client break rules it was not told. An Assigned Client Identifier is never left out
/// [MQTT-3.2.2-16], whatever the limit.
#[test]
fn connack_below_its_smallest_form_is_sent_in_that_form() {
    let broker = Broker::start(&[]);
    let (mut client, connack) = connect(broker.addr(), "tiny", Some(12));
    assert_eq!(connack.len(), 13, "{connack:02x?}");
    let props = connack_props(&connack);
    assert_eq!(props.receive_maximum(), Some(20), "{props:?}");
    assert_eq!(props.topic_alias_maximum(), None, "{props:?}");
    client.sync();

    let (mut client, connack) = connect(broker.addr(), "", Some(20));
    let props = connack_props(&connack);
    assert!(
        props.assigned_client_id().is_some_and(|id| !id.is_empty()),
        "{props:?}"
    );
    client.sync();
}

/// [MQTT-3.9.2-1] The SUBACK's Reason String (why a filter is invalid) is left out when it
/// would take the SUBACK past the client's limit; the reason codes stay.
#[test]
fn suback_leaves_out_its_reason_string_to_fit() {
    let broker = Broker::start(&[]);
    let filters = [Filter::new("ok/t", 1), Filter::new("a/#/b", 0)];
    let subscribe = wire_v5::subscribe(1, &filters, None);

    let (mut client, _) = connect(broker.addr(), "explained", None);
    client.send(&subscribe);
    match decode(&client.next_raw(TIMEOUT)) {
        PacketV5::SubAck { props, codes, .. } => {
            assert_eq!(codes, [1, 0x8F]);
            assert!(props.reason_string().is_some(), "{props:?}");
        }
        other => panic!("not a SUBACK: {other:?}"),
    }

    let (mut client, _) = connect(broker.addr(), "terse", Some(20));
    client.send(&subscribe);
    let suback = client.next_raw(TIMEOUT);
    // SUBACK, remaining length 5, packet id 1, no properties, granted QoS 1, filter invalid.
    assert_eq!(suback, [0x90, 5, 0, 1, 0, 0x01, 0x8F]);
    client.sync();
}

/// [MQTT-3.14.2-3] The DISCONNECT the broker sends on a protocol error loses its Reason String
/// to fit; its reason code stays.
#[test]
fn disconnect_leaves_out_its_reason_string_to_fit() {
    let broker = Broker::start(&[]);
    let pingresp = [0xD0, 0];

    let (mut client, _) = connect(broker.addr(), "told-why", None);
    client.send(&pingresp);
    let (reason, props) = client.expect_disconnect_v5(TIMEOUT);
    assert_eq!(reason, 0x82);
    assert!(props.reason_string().is_some(), "{props:?}");

    let (mut client, _) = connect(broker.addr(), "told-less", Some(20));
    client.send(&pingresp);
    // DISCONNECT, remaining length 1, protocol error.
    assert_eq!(client.raw_until_closed(TIMEOUT), [0xE0, 1, 0x82]);
}
