//! One in-process link of the host program: opened with a CONNECT like a bridge's local side,
//! fed encoded packets, and read back by decoding what the router wrote to it.

use std::time::Instant;

use log::error;

use crate::protocol::{
    Connect, Disconnect, Packet, Properties, ProtocolVersion, decode_packet, encode,
};
use crate::router::{HOST_CLIENT_PREFIX, LinkId, LinkLoss, Peer, Router};

/// No listener has this position: no listener's rules, password check, ACL or hooks.
const NO_LISTENER: usize = usize::MAX;

/// Opens a host link named `$host/<name>` with a clean MQTT 5 session and a receive maximum of
/// `window` (the router lowers it to `max_inflight_messages` if that is smaller).
pub(crate) fn open(
    router: &mut Router,
    token: usize,
    name: &str,
    window: u16,
    now: Instant,
) -> LinkId {
    let link = router.open_link(token, Peer::Host, now);
    router.set_link_listener(link, NO_LISTENER);
    let mut properties = Properties::default();
    properties.receive_maximum = Some(window.max(1));
    let connect = Connect {
        protocol: ProtocolVersion::V5,
        clean_start: true,
        keep_alive: 0,
        client_id: format!("{HOST_CLIENT_PREFIX}{name}"),
        will: None,
        username: None,
        password: None,
        properties,
    };
    send(router, link, &Packet::Connect(Box::new(connect)), now);
    // The CONNACK; a refusal shows as a link the router wants closed.
    let _ = take_packets(router, link, usize::MAX, now);
    link
}

/// Hands a packet to the router as if it had come over a socket.
pub(crate) fn send(router: &mut Router, link: LinkId, packet: &Packet, now: Instant) {
    let mut bytes = Vec::new();
    encode(packet, ProtocolVersion::V5, &mut bytes);
    router.receive(link, &bytes, now);
}

/// The packets the router has written to the link: at most `publishes` PUBLISH packets, and
/// every other packet before the first PUBLISH left.
pub(crate) fn take_packets(
    router: &mut Router,
    link: LinkId,
    publishes: usize,
    now: Instant,
) -> Vec<Packet> {
    let output = router.output(link);
    let mut packets = Vec::new();
    let mut consumed = 0;
    let mut left = publishes;
    while let Some(rest) = output.get(consumed..).filter(|r| !r.is_empty()) {
        match decode_packet(rest, ProtocolVersion::V5, u32::MAX) {
            Ok(Some((packet, length))) => {
                if matches!(packet, Packet::Publish(_)) {
                    if left == 0 {
                        break;
                    }
                    left -= 1;
                }
                consumed += length;
                packets.push(packet);
            }
            Ok(None) => break,
            Err(e) => {
                // The router's own encoder wrote it: a bug, not input. The link cannot go on.
                error!("The broker wrote a packet it cannot read back ({e}); ending the link.");
                router.close_link(link, LinkLoss::Io(e.to_string()), now);
                return packets;
            }
        }
    }
    if consumed > 0 {
        router.consume_output(link, consumed, now);
    }
    packets
}

/// Whether the router still holds PUBLISH packets for the link.
pub(crate) fn has_output(router: &Router, link: LinkId) -> bool {
    !router.output(link).is_empty()
}

/// Closes a link with a DISCONNECT, so the router logs a normal departure.
pub(crate) fn disconnect(router: &mut Router, link: LinkId, now: Instant) {
    if !router.wants_close(link) {
        send(
            router,
            link,
            &Packet::Disconnect(Disconnect::default()),
            now,
        );
    }
    router.close_link(link, LinkLoss::Requested, now);
}
