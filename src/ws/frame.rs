//! WebSocket framing (RFC 6455 section 5) for the server side: a decoder that turns the
//! client's masked frames into the MQTT byte stream in place, and the encoders for the
//! server's unmasked frames.
//!
//! MQTT does not care where frames begin or end ([MQTT-6.0.0-2]: a frame may carry several
//! packets or part of one), so the decoder does not collect messages: the payload of every
//! binary frame, fragments included, is unmasked where it lies and moved to the front of the
//! buffer, to be handed to the MQTT decoder as it is. Reassembly therefore costs no buffer of
//! its own; the one partial thing kept is the MQTT packet, which the connection bounds by the
//! maximum packet size. Frame headers (at most 14 bytes) and control frames (at most 125
//! bytes of payload) may arrive in pieces and are collected in fixed arrays.
//!
//! A data message (one frame, or the frames of a fragmented one) is still bounded: once told
//! the broker's maximum packet size, the decoder refuses a frame whose header makes its
//! message larger than that plus [`MESSAGE_MARGIN`], before reading any of its payload, and
//! the connection is closed with status 1009 (section 7.4.1). No MQTT packet of an acceptable
//! size needs such a message, and the peer learns why it was closed rather than only that a
//! packet inside was too large.

mod encode;
mod error;
mod header;

pub use encode::{MAX_SERVER_HEADER, encode_binary_header, encode_close, encode_pong};
pub use error::FrameError;
use header::{Header, header_len, parse_header, rotate, unmask};

/// The largest frame header: 2 bytes, 8 of extended length, 4 of masking key (section 5.2).
const MAX_HEADER: usize = 14;
/// Control frames carry at most this much payload (section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Close status codes (section 7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
/// The server is going away (it is shutting down).
pub const CLOSE_GOING_AWAY: u16 = 1001;
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
pub const CLOSE_UNSUPPORTED_DATA: u16 = 1003;
/// A message too big to process.
pub const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;

/// How much larger than the broker's maximum packet size a data message may be: room for a
/// few small packets (acknowledgements, PINGREQ) that a client's write puts in the same message
/// as a packet of the maximum size. A client that sends one packet per message, as browsers'
/// MQTT libraries do, never comes near it.
pub const MESSAGE_MARGIN: u64 = 64 * 1024;

/// A control frame the client sent, for the connection to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Answered with a pong carrying the same payload (section 5.5.2).
    Ping(Vec<u8>),
    /// An unsolicited pong needs no answer (section 5.5.3).
    Pong,
    /// The client is closing, with its status code if it gave one (section 5.5.1).
    Close(Option<u16>),
}

/// What the frame being read carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// MQTT bytes (a binary frame or a continuation of one).
    Data,
    /// A control frame's payload, collected before it is acted on.
    Control(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting a frame header; `Decoder::header` holds the bytes so far.
    Header,
    /// Inside a frame's payload.
    Payload {
        body: Body,
        /// Payload bytes still to come.
        left: u64,
        /// The masking key, rotated so that its first byte masks the next payload byte.
        mask: [u8; 4],
    },
    /// A close frame was read; whatever follows is not looked at (section 5.5.1).
    Closed,
}

/// The server's side of a client's frame stream.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
    header: [u8; MAX_HEADER],
    header_len: usize,
    /// Inside a fragmented binary message (a frame without FIN was read).
    fragmented: bool,
    /// The FIN bit of the data frame being read, which ends a fragmented message.
    fin: bool,
    /// Payload bytes announced so far by the frames of the current data message.
    message_len: u64,
    /// The largest data message accepted, in payload bytes; unbounded until
    /// [`Decoder::set_max_packet_size`].
    max_message: u64,
    control: [u8; MAX_CONTROL_PAYLOAD],
    control_len: usize,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder {
            state: State::Header,
            header: [0; MAX_HEADER],
            header_len: 0,
            fragmented: false,
            fin: true,
            message_len: 0,
            max_message: u64::MAX,
            control: [0; MAX_CONTROL_PAYLOAD],
            control_len: 0,
        }
    }
}

impl Decoder {
    /// Bounds data messages by the broker's maximum packet size (in bytes) plus
    /// [`MESSAGE_MARGIN`]. May change between calls (the configuration is reloaded); a
    /// message under way is held to the new bound from its next frame on.
    pub fn set_max_packet_size(&mut self, max_packet_size: u32) {
        self.max_message = u64::from(max_packet_size).saturating_add(MESSAGE_MARGIN);
    }

    /// Decodes the frame bytes in `buf`: the MQTT bytes they carry are unmasked and moved to
    /// the front of `buf`, and their count returned; complete control frames are pushed onto
    /// `controls`. Parts of a header or a control frame at the end are kept for the next call.
    /// After a close frame nothing more is decoded.
    pub fn decode(
        &mut self,
        buf: &mut [u8],
        controls: &mut Vec<Control>,
    ) -> Result<usize, FrameError> {
        let mut read = 0;
        let mut written = 0;
        while read < buf.len() {
            match self.state {
                State::Closed => break,
                State::Header => {
                    let rest = buf.get(read..).unwrap_or_default();
                    read += self.take_header(rest)?;
                }
                State::Payload { body, left, mask } => {
                    let available = buf.len() - read;
                    let n = usize::try_from(left).map_or(available, |left| left.min(available));
                    let chunk_end = read + n;
                    if body == Body::Data {
                        buf.copy_within(read..chunk_end, written);
                        if let Some(chunk) = buf.get_mut(written..written + n) {
                            unmask(chunk, mask);
                        }
                        written += n;
                    } else if let Some(chunk) = buf.get(read..chunk_end) {
                        self.collect_control(chunk, mask);
                    }
                    read = chunk_end;
                    self.state = State::Payload {
                        body,
                        left: left - n as u64,
                        mask: rotate(mask, n),
                    };
                }
            }
            self.finish_frame(controls)?;
        }
        Ok(written)
    }

    /// True once the client's close frame has been read.
    pub fn closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Ends the current frame if its payload is all read, acting on a control frame.
    fn finish_frame(&mut self, controls: &mut Vec<Control>) -> Result<(), FrameError> {
        let State::Payload { body, left: 0, .. } = self.state else {
            return Ok(());
        };
        self.state = State::Header;
        match body {
            Body::Data => {
                if self.fin {
                    self.fragmented = false;
                }
            }
            Body::Control(op) => {
                let payload = self.control.get(..self.control_len).unwrap_or_default();
                let control = match op {
                    OP_PING => Control::Ping(payload.to_vec()),
                    OP_PONG => Control::Pong,
                    _ => {
                        self.state = State::Closed;
                        match payload {
                            [] => Control::Close(None),
                            [_] => return Err(FrameError::CloseBodyTooShort),
                            [hi, lo, ..] => Control::Close(Some(u16::from_be_bytes([*hi, *lo]))),
                        }
                    }
                };
                self.control_len = 0;
                controls.push(control);
            }
        }
        Ok(())
    }

    /// Adds header bytes from `input`; returns how many it took. Once the header is complete
    /// it is checked and the payload state entered.
    fn take_header(&mut self, input: &[u8]) -> Result<usize, FrameError> {
        let mut taken = 0;
        loop {
            let needed = header_len(self.header.get(..self.header_len).unwrap_or_default());
            if self.header_len >= needed {
                break;
            }
            let want = needed - self.header_len;
            let Some(more) = input.get(taken..).filter(|rest| !rest.is_empty()) else {
                return Ok(taken);
            };
            let n = want.min(more.len());
            if let (Some(dst), Some(src)) = (
                self.header.get_mut(self.header_len..self.header_len + n),
                more.get(..n),
            ) {
                dst.copy_from_slice(src);
            }
            self.header_len += n;
            taken += n;
        }
        let header = self.header.get(..self.header_len).unwrap_or_default();
        let parsed = parse_header(header)?;
        self.header_len = 0;
        self.start_frame(parsed)?;
        Ok(taken)
    }

    fn start_frame(&mut self, h: Header) -> Result<(), FrameError> {
        let body = match h.opcode {
            OP_BINARY if self.fragmented => return Err(FrameError::UnfinishedMessage),
            OP_TEXT => return Err(FrameError::TextFrame),
            OP_CONTINUATION if !self.fragmented => return Err(FrameError::UnexpectedContinuation),
            OP_BINARY | OP_CONTINUATION => {
                self.message_len = match h.opcode {
                    OP_BINARY => h.len,
                    _ => self.message_len.saturating_add(h.len),
                };
                if self.message_len > self.max_message {
                    return Err(FrameError::MessageTooBig {
                        len: self.message_len,
                        max: self.max_message,
                    });
                }
                self.fin = h.fin;
                self.fragmented = !h.fin;
                Body::Data
            }
            OP_CLOSE | OP_PING | OP_PONG if !h.fin => return Err(FrameError::FragmentedControl),
            OP_CLOSE | OP_PING | OP_PONG if h.len > MAX_CONTROL_PAYLOAD as u64 => {
                return Err(FrameError::ControlTooLong(h.len));
            }
            OP_CLOSE | OP_PING | OP_PONG => {
                self.control_len = 0;
                Body::Control(h.opcode)
            }
            other => return Err(FrameError::ReservedOpcode(other)),
        };
        self.state = State::Payload {
            body,
            left: h.len,
            mask: h.mask,
        };
        Ok(())
    }

    fn collect_control(&mut self, chunk: &[u8], mask: [u8; 4]) {
        let start = self.control_len;
        if let Some(dst) = self.control.get_mut(start..start + chunk.len()) {
            dst.copy_from_slice(chunk);
            unmask(dst, mask);
            self.control_len += chunk.len();
        }
    }
}

#[cfg(test)]
mod tests;
