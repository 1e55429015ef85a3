//! The CONNECT a bridge sends (with mosquitto's bridge bit for `try_private`), and the words
//! for the CONNACK codes that refuse it.

use std::sync::Arc;

use super::Bridge;
use crate::protocol::{Connect, Packet, Properties, QoS, Will, encode};

/// The protocol level's high bit: "this client is a bridge" to mosquitto (`try_private`), which
/// then sends it nothing it published itself and keeps the RETAIN flag as published.
const BRIDGE_BIT: u8 = 0x80;

/// Encodes CONNECT, with the bridge bit in the protocol level when `private`.
pub(super) fn encode_connect(connect: &Connect, private: bool, out: &mut Vec<u8>) {
    let start = out.len();
    encode(
        &Packet::Connect(Box::new(connect.clone())),
        connect.protocol,
        out,
    );
    if !private {
        return;
    }
    // Fixed header (1 byte, then the remaining length: bytes with the high bit set and one
    // without), the protocol name (2 bytes of length, then the name), then the level.
    let Some(header) = out.get(start + 1..) else {
        return;
    };
    let length_bytes = header.iter().take_while(|b| **b & 0x80 != 0).count() + 1;
    let name_at = start + 1 + length_bytes;
    let name_len = match out.get(name_at..name_at + 2) {
        Some(&[high, low]) => usize::from(u16::from_be_bytes([high, low])),
        _ => return,
    };
    if let Some(level) = out.get_mut(name_at + 2 + name_len) {
        *level |= BRIDGE_BIT;
    }
}

/// The CONNACK return codes' meanings, for the log.
pub(super) fn refusal_text(code: u8, v5: bool) -> &'static str {
    match (code, v5) {
        (1, false) => "unacceptable protocol version",
        (2, false) => "identifier rejected",
        (3, false) => "server unavailable",
        (4, false) => "bad user name or password",
        (5, false) => "not authorized",
        (0x84, true) => "unsupported protocol version",
        (0x85, true) => "client identifier not valid",
        (0x86, true) => "bad user name or password",
        (0x87, true) => "not authorized",
        (0x88, true) => "server unavailable",
        (0x89, true) => "server busy",
        (0x8A, true) => "banned",
        (0x95, true) => "packet too large",
        (0x9C, true) => "use another server",
        (0x9D, true) => "server moved",
        _ => "refused",
    }
}

impl Bridge {
    /// CONNECT as the settings describe it, with the state topic's 0 as the will.
    pub(super) fn connect_packet(&self) -> Connect {
        let s = &self.settings;
        let mut properties = Properties::default();
        if self.protocol.is_v5() {
            if !s.cleansession {
                properties.session_expiry_interval = Some(u32::MAX);
            }
            if self.max_in != u32::MAX {
                properties.maximum_packet_size = Some(self.max_in);
            }
        }
        let will = (s.notifications && !s.notifications_local_only).then(|| Will {
            topic: Arc::from(self.state_topic.as_str()),
            payload: Arc::from(&b"0"[..]),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Properties::default(),
        });
        Connect {
            protocol: self.protocol,
            clean_start: s.cleansession,
            keep_alive: s.keepalive_interval,
            client_id: self.remote_client_id.clone(),
            will,
            username: s.remote_username.clone(),
            password: s.remote_password.as_ref().map(|p| p.0.clone().into_bytes()),
            properties,
        }
    }
}
