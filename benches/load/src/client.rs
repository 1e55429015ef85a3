//! The two roles a link plays in a scenario: a publisher with its QoS flows and a subscriber
//! that acknowledges what it receives, plus opening many links at once.

use std::io;
use std::time::{Duration, Instant};

use crate::codec::{self, Packet};
use crate::net::Net;

/// A publisher stops encoding while this many bytes wait in its output buffer, so the kernel's
/// socket buffer, not the generator's memory, absorbs a slow broker.
pub const OUT_BYTES: usize = 64 * 1024;

/// How often a waiting loop wakes up to look at the clock.
pub const TICK: Duration = Duration::from_millis(1);

/// A link that publishes, keeping at most `inflight` QoS 1/2 packet ids unacknowledged.
pub struct Publisher {
    pub id: usize,
    qos: u8,
    inflight_limit: u32,
    inflight: u32,
    next_pid: u16,
    /// PUBLISH packets written (QoS 0) or sent (QoS 1/2).
    pub sent: u64,
    /// QoS 1/2 flows the broker completed (PUBACK, or PUBCOMP); equals `sent` for QoS 0.
    pub acked: u64,
}

impl Publisher {
    pub fn new(id: usize, qos: u8, inflight_limit: u32) -> Publisher {
        Publisher {
            id,
            qos,
            inflight_limit: inflight_limit.max(1),
            inflight: 0,
            next_pid: 0,
            sent: 0,
            acked: 0,
        }
    }

    pub fn can_send(&self, net: &Net) -> bool {
        net.pending(self.id) < OUT_BYTES
            && !net.is_closed(self.id)
            && (self.qos == 0 || self.inflight < self.window(net))
    }

    /// QoS 1/2 packet ids allowed outstanding: the configured window, or less if the broker's
    /// MQTT 5 Receive Maximum says so [MQTT-3.3.4-7].
    fn window(&self, net: &Net) -> u32 {
        self.inflight_limit
            .min(u32::from(net.receive_maximum(self.id)))
    }

    /// Encodes one PUBLISH; the caller flushes.
    pub fn send(&mut self, net: &mut Net, topic: &[u8], payload: &[u8]) {
        let pid = if self.qos > 0 {
            self.next_pid = self.next_pid.checked_add(1).unwrap_or(1);
            self.inflight += 1;
            self.next_pid
        } else {
            self.acked += 1;
            0
        };
        net.publish(self.id, topic, self.qos, pid, payload);
        self.sent += 1;
    }

    /// Advances the QoS flows; PUBREC is answered with PUBREL [MQTT-4.3.3].
    pub fn on_packet(&mut self, packet: &Packet<'_>, out: &mut Vec<u8>) {
        match *packet {
            Packet::PubAck(_) | Packet::PubComp(_) => {
                self.inflight = self.inflight.saturating_sub(1);
                self.acked += 1;
            }
            Packet::PubRec(pid) => codec::encode_pubrel(out, pid),
            _ => {}
        }
    }
}

/// Acknowledges a received PUBLISH as its QoS requires and answers PUBREL; returns whether the
/// packet was a PUBLISH (a delivery). The 3.1.1 acknowledgements are also MQTT 5's short
/// forms, with reason code 0x00 and no properties (section 3.4.2.1).
pub fn acknowledge(packet: &Packet<'_>, out: &mut Vec<u8>) -> bool {
    match packet {
        Packet::Publish(p) => {
            match p.qos {
                1 => codec::encode_puback(out, p.pid),
                2 => codec::encode_pubrec(out, p.pid),
                _ => {}
            }
            true
        }
        Packet::PubRel(pid) => {
            codec::encode_pubcomp(out, *pid);
            false
        }
        _ => false,
    }
}

/// Opens `count` links named `<prefix>-<i>`, each queuing `setup(i, out)` right after CONNECT
/// (3.1.1 lets a client send before CONNACK arrives), keeping at most `window` handshakes under
/// way. A link is open once its CONNACK and, if `setup` subscribed, its SUBACK have come back.
///
/// Returns how many links finished opening; at `deadline` it stops with what it has. The links
/// are the next `count` ids of `net`.
pub fn open_links<F>(
    net: &mut Net,
    prefix: &str,
    count: usize,
    window: usize,
    deadline: Instant,
    mut setup: F,
) -> io::Result<usize>
where
    F: FnMut(usize, &mut Vec<u8>) -> bool,
{
    let first = net.len();
    // Per link: how many replies (CONNACK, SUBACK) it still waits for.
    let mut waiting: Vec<u8> = Vec::with_capacity(count);
    let mut done = 0;
    let mut failed: Option<String> = None;
    while done < count && Instant::now() < deadline {
        while waiting.len() < count && waiting.len() - done < window {
            let i = waiting.len();
            let id = net.connect(&format!("{prefix}-{i}"))?;
            let subscribed = setup(i, net.out(id));
            net.flush(id);
            waiting.push(1 + u8::from(subscribed));
        }
        let mut finished = 0;
        net.poll(TICK, |id, packet, _| {
            let Some(left) = id.checked_sub(first).and_then(|i| waiting.get_mut(i)) else {
                return;
            };
            match packet {
                Packet::ConnAck { code, .. } if code != 0 => {
                    failed = Some(format!("CONNACK refused the connection with code {code}"));
                }
                // 0x80 in 3.1.1; in MQTT 5 every reason code from 0x80 up.
                Packet::SubAck { codes, .. } if codes.iter().any(|c| *c >= 0x80) => {
                    failed = Some("SUBACK refused a subscription".to_owned());
                }
                Packet::ConnAck { .. } | Packet::SubAck { .. } => {}
                _ => return,
            }
            *left = left.saturating_sub(1);
            if *left == 0 {
                finished += 1;
            }
        })?;
        done += finished;
        if let Some(message) = failed {
            return Err(io::Error::other(message));
        }
        if net.closed > 0 {
            return Err(io::Error::other("the broker closed a link while opening"));
        }
    }
    Ok(done)
}
