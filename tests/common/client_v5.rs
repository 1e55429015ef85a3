//! MQTT 5 operations of the raw test client: connect with properties, publish, subscribe with
//! options, acknowledge with reason codes, and wait for the broker's DISCONNECT.

use std::net::SocketAddr;
use std::time::Duration;

use super::client::{Client, TIMEOUT};
use super::wire::Packet;
use super::wire_v5::{self, ConnectV5, Filter, PacketV5, Props, PublishV5};

/// What a CONNACK said: session present, reason code, properties (5.0 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAckV5 {
    pub session_present: bool,
    pub reason: u8,
    pub props: Props,
}

impl Client {
    /// Connects with MQTT 5 and asserts CONNACK reason 0x00.
    pub fn connect_v5(addr: SocketAddr, client_id: &str) -> Client {
        Client::connect_v5_ok(addr, &ConnectV5::new(client_id)).0
    }

    /// Sends `connect`, asserts reason 0x00, returns the client and the CONNACK.
    pub fn connect_v5_ok(addr: SocketAddr, connect: &ConnectV5) -> (Client, ConnAckV5) {
        let (client, connack) = Client::connect_v5_with(addr, connect);
        assert_eq!(connack.reason, 0, "CONNACK for {:?}", connect.client_id);
        (client, connack)
    }

    /// Sends `connect` and waits for the CONNACK, whatever its reason code.
    pub fn connect_v5_with(addr: SocketAddr, connect: &ConnectV5) -> (Client, ConnAckV5) {
        let mut client = Client::open(addr);
        client.use_v5(&format!("v5 client {:?}", connect.client_id));
        client.send(&connect.encode());
        let connack = client.expect_connack_v5();
        (client, connack)
    }

    pub fn expect_connack_v5(&mut self) -> ConnAckV5 {
        match self.expect("CONNACK", |p| {
            matches!(p, Packet::V5(PacketV5::ConnAck { .. }))
        }) {
            Packet::V5(PacketV5::ConnAck {
                session_present,
                reason,
                props,
            }) => ConnAckV5 {
                session_present,
                reason,
                props,
            },
            _ => unreachable!(),
        }
    }

    pub fn publish_v5(&mut self, publish: &PublishV5) {
        self.send(&publish.encode());
    }

    /// Publishes and completes the sender's side of the QoS flow; QoS 0 is followed by a
    /// PINGREQ round trip. Returns the reason code of PUBACK or PUBREC (0 for QoS 0).
    pub fn publish_v5_complete(&mut self, publish: &PublishV5) -> u8 {
        self.publish_v5(publish);
        match (publish.qos, publish.pid) {
            (1, Some(pid)) => self.expect_pub_response(0x40, pid).0,
            (2, Some(pid)) => {
                let (reason, _) = self.expect_pub_response(0x50, pid);
                self.send(&wire_v5::pubrel(pid, 0));
                self.expect_pub_response(0x70, pid);
                reason
            }
            _ => {
                self.sync();
                0
            }
        }
    }

    /// PUBACK (0x40), PUBREC (0x50), PUBREL (0x62) or PUBCOMP (0x70) for `pid`: reason, props.
    pub fn expect_pub_response(&mut self, first_byte: u8, pid: u16) -> (u8, Props) {
        let wanted = |p: &Packet| {
            matches!(p, Packet::V5(PacketV5::PubResponse { first_byte: f, pid: id, .. })
                if *f == first_byte && *id == pid)
        };
        match self.expect(&format!("ack 0x{first_byte:02X} for {pid}"), wanted) {
            Packet::V5(PacketV5::PubResponse { reason, props, .. }) => (reason, props),
            _ => unreachable!(),
        }
    }

    /// SUBSCRIBE with options and an optional subscription identifier; returns the SUBACK
    /// reason codes.
    pub fn subscribe_v5(&mut self, pid: u16, filters: &[Filter], sub_id: Option<u32>) -> Vec<u8> {
        self.send(&wire_v5::subscribe(pid, filters, sub_id));
        self.expect_suback_v5(pid)
    }

    /// Subscribes to one filter at `qos` with default options; asserts it was granted.
    pub fn sub_v5(&mut self, filter: &str, qos: u8) {
        let codes = self.subscribe_v5(1, &[Filter::new(filter, qos)], None);
        assert_eq!(codes, [qos], "{}: SUBACK for {filter:?}", self.label());
    }

    pub fn expect_suback_v5(&mut self, pid: u16) -> Vec<u8> {
        let wanted =
            |p: &Packet| matches!(p, Packet::V5(PacketV5::SubAck { pid: id, .. }) if *id == pid);
        match self.expect("SUBACK", wanted) {
            Packet::V5(PacketV5::SubAck { codes, .. }) => codes,
            _ => unreachable!(),
        }
    }

    /// UNSUBSCRIBE; returns the UNSUBACK reason codes.
    pub fn unsubscribe_v5(&mut self, pid: u16, filters: &[&str]) -> Vec<u8> {
        self.send(&wire_v5::unsubscribe(pid, filters));
        let wanted =
            |p: &Packet| matches!(p, Packet::V5(PacketV5::UnsubAck { pid: id, .. }) if *id == pid);
        match self.expect("UNSUBACK", wanted) {
            Packet::V5(PacketV5::UnsubAck { codes, .. }) => codes,
            _ => unreachable!(),
        }
    }

    pub fn expect_publish_v5(&mut self) -> PublishV5 {
        self.expect_publish_v5_within(TIMEOUT)
    }

    pub fn expect_publish_v5_within(&mut self, timeout: Duration) -> PublishV5 {
        let wanted = |p: &Packet| matches!(p, Packet::V5(PacketV5::Publish(_)));
        match self.expect_within("PUBLISH", timeout, wanted) {
            Packet::V5(PacketV5::Publish(publish)) => publish,
            _ => unreachable!(),
        }
    }

    /// Waits for the next PUBLISH and completes its QoS flow as a receiver.
    pub fn receive_v5(&mut self) -> PublishV5 {
        let publish = self.expect_publish_v5();
        self.ack_v5(&publish);
        publish
    }

    /// Acknowledges a received PUBLISH with reason 0x00: PUBACK, or PUBREC → PUBREL → PUBCOMP.
    pub fn ack_v5(&mut self, publish: &PublishV5) {
        match (publish.qos, publish.pid) {
            (1, Some(pid)) => self.send(&wire_v5::puback(pid, 0)),
            (2, Some(pid)) => {
                self.send(&wire_v5::pubrec(pid, 0));
                self.expect_pub_response(0x62, pid);
                self.send(&wire_v5::pubcomp(pid, 0));
            }
            _ => {}
        }
    }

    /// Waits for the broker to send DISCONNECT and close the connection; returns its reason
    /// code and properties. Fails if the connection closes without one.
    pub fn expect_disconnect_v5(&mut self, timeout: Duration) -> (u8, Props) {
        let packets = self.expect_closed(timeout);
        let found = packets.iter().find_map(|p| match p {
            Packet::V5(PacketV5::Disconnect { reason, props }) => Some((*reason, props.clone())),
            _ => None,
        });
        match found {
            Some(disconnect) => disconnect,
            None => panic!(
                "{}: closed without DISCONNECT; received before the close: {packets:?}",
                self.label()
            ),
        }
    }

    /// Sends DISCONNECT with `reason` and `props`, half-closes, and waits for the close.
    pub fn disconnect_v5(mut self, reason: u8, props: &Props) {
        self.send(&wire_v5::disconnect(reason, props));
        self.shutdown_write();
        self.expect_closed(TIMEOUT);
    }
}
