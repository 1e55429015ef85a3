//! Why the frame decoder refuses a client's frames, and the close status each reason gives.

use std::fmt;

use super::{CLOSE_MESSAGE_TOO_BIG, CLOSE_PROTOCOL_ERROR, CLOSE_UNSUPPORTED_DATA, MESSAGE_MARGIN};

/// A frame that breaks RFC 6455 or MQTT's use of it; the connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Section 5.2: RSV1-3 must be 0 when no extension was negotiated (none ever is here).
    ReservedBits,
    /// Section 5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
    ReservedOpcode(u8),
    /// Section 5.1: a server must close the connection on a frame that is not masked.
    Unmasked,
    /// [MQTT-6.0.0-1] MQTT control packets travel in binary frames; any other data frame
    /// closes the connection.
    TextFrame,
    /// Section 5.5: control frames must not be fragmented.
    FragmentedControl,
    /// Section 5.5: control frames carry at most 125 bytes of payload.
    ControlTooLong(u64),
    /// Section 5.2: the most significant bit of a 64-bit length must be 0.
    LengthTooLarge,
    /// Section 5.4: a continuation frame with no fragmented message begun.
    UnexpectedContinuation,
    /// Section 5.4: a new data message before the fragmented one was finished.
    UnfinishedMessage,
    /// Section 5.5.1: a close frame's body is empty or starts with a 2-byte status code.
    CloseBodyTooShort,
    /// Section 7.4.1, status 1009: a data message (a frame, or a fragmented message so far)
    /// of `len` payload bytes, above the `max` the broker takes: its maximum packet size plus
    /// [`MESSAGE_MARGIN`].
    MessageTooBig { len: u64, max: u64 },
}

impl FrameError {
    /// The status code the server's close frame gives for this error (section 7.4.1).
    pub fn close_code(self) -> u16 {
        match self {
            FrameError::TextFrame => CLOSE_UNSUPPORTED_DATA,
            FrameError::MessageTooBig { .. } => CLOSE_MESSAGE_TOO_BIG,
            _ => CLOSE_PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::ReservedBits => write!(f, "WebSocket frame with reserved bits set"),
            FrameError::ReservedOpcode(op) => write!(f, "WebSocket frame with opcode {op:#x}"),
            FrameError::Unmasked => write!(f, "unmasked WebSocket frame from a client"),
            FrameError::TextFrame => write!(f, "WebSocket text frame (MQTT needs binary frames)"),
            FrameError::FragmentedControl => write!(f, "fragmented WebSocket control frame"),
            FrameError::ControlTooLong(n) => {
                write!(f, "WebSocket control frame of {n} bytes (at most 125)")
            }
            FrameError::LengthTooLarge => write!(f, "WebSocket frame length above 2^63"),
            FrameError::UnexpectedContinuation => {
                write!(
                    f,
                    "WebSocket continuation frame outside a fragmented message"
                )
            }
            FrameError::UnfinishedMessage => {
                write!(f, "new WebSocket message inside a fragmented one")
            }
            FrameError::CloseBodyTooShort => write!(f, "WebSocket close frame with a 1-byte body"),
            FrameError::MessageTooBig { len, max } => write!(
                f,
                "WebSocket message of {len} bytes, above the limit of {max} (max_packet_size \
                 plus {MESSAGE_MARGIN})"
            ),
        }
    }
}

impl std::error::Error for FrameError {}
