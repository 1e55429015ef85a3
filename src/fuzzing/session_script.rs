//! The byte layout of a `session` fuzz input: a configuration, then a script of operations.
//!
//! The layout is simple enough to write by hand or from code ([`Script`] builds one for the seed
//! corpus), and every byte string is a valid script: a short or truncated one just ends early.
//!
//! - 4 bytes of configuration, see [`config_from`];
//! - operations, each an opcode byte and its arguments, as in [`Op`]: 0xF0 to 0xF3 are the host
//!   program's requests through its handle, any other byte is taken modulo 6.

use std::time::Duration;

use crate::config::{Config, QueueFullPolicy};
use crate::protocol::{Packet, ProtocolVersion, encode};
use crate::router::RateLimit;

/// One step of a client population. A link is named by its position among the links open at
/// the time, modulo their number; when none is open, the step is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    /// `0`: a new connection is accepted.
    Open,
    /// `1, link, len (u16 BE), bytes`: the client's bytes arrive (`len` is cut to what remains).
    Send { link: u8, bytes: &'a [u8] },
    /// `2, link, n (u16 BE)`: the reactor writes `n` bytes of the link's output (0xFFFF: all).
    Consume { link: u8, amount: u16 },
    /// `3, link, loss`: the connection is lost (peer closed, socket error or shutdown).
    Close { link: u8, loss: u8 },
    /// `4, tenths (u16 BE)`: time passes.
    Advance { tenths: u16 },
    /// `5`: the reactor runs the router's timers.
    Tick,
    /// `0xF0, topic, flags, len, payload`: the host program publishes to `TOPICS[topic % 8]`
    /// at QoS `flags & 3` (3 is refused by the handle), retained if bit 2 is set.
    HostPublish {
        topic: u8,
        flags: u8,
        payload: &'a [u8],
    },
    /// `0xF1, filter, flags`: the host subscribes to `FILTERS[filter % 8]` at QoS `flags & 3`,
    /// with capacity `1 + (flags >> 4)`.
    HostSubscribe { filter: u8, flags: u8 },
    /// `0xF2, subscription, count`: the host takes up to `count` messages of one subscription.
    HostTake { subscription: u8, count: u8 },
    /// `0xF3, subscription`: the host drops one subscription.
    HostDrop { subscription: u8 },
}

/// Topics the host publishes to: valid ones, one under the `m/` mount point, `$SYS`, and two
/// the handle refuses.
pub const HOST_TOPICS: [&str; 8] = ["a", "a/b", "a/b/c", "m/a", "b", "$SYS/x", "+/bad", ""];
/// Filters the host subscribes to, the last one refused by the handle.
pub const HOST_FILTERS: [&str; 8] = ["#", "a/#", "a/+", "+/b", "m/#", "$SYS/#", "a/b/c", "a/#/x"];

impl Op<'_> {
    pub fn duration(tenths: u16) -> Duration {
        Duration::from_millis(u64::from(tenths) * 100)
    }
}

/// Reads operations from the bytes after the configuration.
pub(crate) struct OpReader<'a> {
    data: &'a [u8],
}

impl<'a> OpReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> OpReader<'a> {
        OpReader { data }
    }

    fn u8(&mut self) -> Option<u8> {
        let (&first, rest) = self.data.split_first()?;
        self.data = rest;
        Some(first)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn bytes(&mut self, len: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(len.min(self.data.len()));
        self.data = tail;
        head
    }
}

impl<'a> Iterator for OpReader<'a> {
    type Item = Op<'a>;

    fn next(&mut self) -> Option<Op<'a>> {
        let opcode = self.u8()?;
        if let Some(op) = self.host_op(opcode) {
            return op;
        }
        Some(match opcode % 6 {
            0 => Op::Open,
            1 => {
                let link = self.u8()?;
                let len = self.u16()?;
                Op::Send {
                    link,
                    bytes: self.bytes(usize::from(len)),
                }
            }
            2 => Op::Consume {
                link: self.u8()?,
                amount: self.u16()?,
            },
            3 => Op::Close {
                link: self.u8()?,
                loss: self.u8()?,
            },
            4 => Op::Advance {
                tenths: self.u16()?,
            },
            _ => Op::Tick,
        })
    }
}

impl<'a> OpReader<'a> {
    /// The host program's operations, or `None` for a reactor one; `Some(None)` ends the
    /// script (arguments missing).
    fn host_op(&mut self, opcode: u8) -> Option<Option<Op<'a>>> {
        let op = match opcode {
            0xF0 => (|| {
                let (topic, flags, len) = (self.u8()?, self.u8()?, self.u8()?);
                let payload = self.bytes(usize::from(len));
                Some(Op::HostPublish {
                    topic,
                    flags,
                    payload,
                })
            })(),
            0xF1 => (|| {
                let (filter, flags) = (self.u8()?, self.u8()?);
                Some(Op::HostSubscribe { filter, flags })
            })(),
            0xF2 => (|| {
                let (subscription, count) = (self.u8()?, self.u8()?);
                Some(Op::HostTake {
                    subscription,
                    count,
                })
            })(),
            0xF3 => self.u8().map(|subscription| Op::HostDrop { subscription }),
            _ => return None,
        };
        Some(op)
    }
}

/// The broker configuration for a run, from the first four bytes of the input (missing bytes
/// read as zero): small windows and queues, so the fuzzer reaches their limits quickly.
///
/// - byte 0: in-flight window `1 + (b & 3)`; bit 2 also bounds it to 16 payload bytes; bit 3
///   ends offline persistent sessions after an hour; bit 6 queues QoS 0 for offline sessions;
///   bit 7 selects the drop-oldest queue policy;
/// - byte 1: queued messages per session, `b & 7`; bit 3 gives listener 0 (every other link,
///   see `Harness`) the mount point `m/` and maximum QoS 1; bit 4 turns retained messages
///   off; bit 5 limits payloads to 8 bytes; bit 6 upgrades outgoing QoS; bit 7 allows
///   duplicate messages;
/// - byte 2: queued payload bytes per session, `4 * b` (0: no byte limit);
/// - byte 3: bit 0 limits packets to 256 bytes; bits 1-7 the connect timeout, `1 + b >> 1`
///   seconds.
pub(crate) fn config_from(head: [u8; 4]) -> Config {
    let [window, queued, bytes, limits] = head;
    let bit = |byte: u8, n: u8| byte & (1 << n) != 0;
    let mut config = Config {
        max_inflight_messages: 1 + u16::from(window & 3),
        max_inflight_bytes: if bit(window, 2) { 16 } else { 0 },
        persistent_client_expiration: bit(window, 3).then_some(Duration::from_secs(3600)),
        queue_qos0_offline: bit(window, 6),
        queue_full_policy: if bit(window, 7) {
            QueueFullPolicy::DropOldest
        } else {
            QueueFullPolicy::DropNew
        },
        max_queued_messages: usize::from(queued & 7),
        retain_available: !bit(queued, 4),
        message_size_limit: if bit(queued, 5) { 8 } else { 0 },
        upgrade_outgoing_qos: bit(queued, 6),
        allow_duplicate_messages: bit(queued, 7),
        max_queued_bytes: 4 * usize::from(bytes),
        max_packet_size: if bit(limits, 0) {
            256
        } else {
            super::MAX_PACKET_SIZE
        },
        connect_timeout: Duration::from_secs(1 + u64::from(limits >> 1)),
        // Small enough that a few messages reach it.
        memory_limit: if bit(window, 4) {
            2048 + 64 * usize::from(bytes)
        } else {
            0
        },
        publish_rate: RateLimit::new(u64::from(bit(window, 5)) * 2, Some(3)),
        ..Config::default()
    };
    if bit(queued, 3)
        && let Some(listener) = config.listeners.first_mut()
    {
        listener.options.mount_point = Some("m/".into());
        listener.options.max_qos = 1;
    }
    config
}

/// Builds a `session` input, for seeds and tests.
#[derive(Debug, Clone, Default)]
pub struct Script {
    bytes: Vec<u8>,
}

impl Script {
    /// A script with the given configuration bytes (see [`config_from`]).
    pub fn new(config: [u8; 4]) -> Script {
        Script {
            bytes: config.to_vec(),
        }
    }

    pub fn op(mut self, op: Op<'_>) -> Script {
        let out = &mut self.bytes;
        match op {
            Op::Open => out.push(0),
            Op::Send { link, bytes } => {
                let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&[1, link]);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&bytes[..usize::from(len)]);
            }
            Op::Consume { link, amount } => {
                out.extend_from_slice(&[2, link]);
                out.extend_from_slice(&amount.to_be_bytes());
            }
            Op::Close { link, loss } => out.extend_from_slice(&[3, link, loss]),
            Op::Advance { tenths } => {
                out.push(4);
                out.extend_from_slice(&tenths.to_be_bytes());
            }
            Op::Tick => out.push(5),
            Op::HostPublish {
                topic,
                flags,
                payload,
            } => {
                let len = u8::try_from(payload.len()).unwrap_or(u8::MAX);
                out.extend_from_slice(&[0xF0, topic, flags, len]);
                out.extend_from_slice(&payload[..usize::from(len)]);
            }
            Op::HostSubscribe { filter, flags } => out.extend_from_slice(&[0xF1, filter, flags]),
            Op::HostTake {
                subscription,
                count,
            } => out.extend_from_slice(&[0xF2, subscription, count]),
            Op::HostDrop { subscription } => out.extend_from_slice(&[0xF3, subscription]),
        }
        self
    }

    /// Sends `packet`, encoded for `version`, on `link`, in pieces of at most `piece` bytes.
    pub fn send(self, link: u8, packet: &Packet, version: ProtocolVersion, piece: usize) -> Script {
        let mut bytes = Vec::new();
        encode(packet, version, &mut bytes);
        bytes
            .chunks(piece.max(1))
            .fold(self, |script, bytes| script.op(Op::Send { link, bytes }))
    }

    /// Reads all of `link`'s output.
    pub fn read(self, link: u8) -> Script {
        self.op(Op::Consume {
            link,
            amount: u16::MAX,
        })
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
