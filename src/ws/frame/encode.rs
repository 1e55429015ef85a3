//! The server's frames: unmasked, with the shortest length encoding (section 5.2).

use super::{MAX_CONTROL_PAYLOAD, OP_BINARY, OP_CLOSE, OP_PONG};

/// Appends the header of an unmasked server frame (servers never mask, section 5.1).
fn encode_header(opcode: u8, len: u64, out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
}

/// Appends the header of a final binary frame of `len` payload bytes; the payload follows.
pub fn encode_binary_header(len: u64, out: &mut Vec<u8>) {
    encode_header(OP_BINARY, len, out);
}

/// Appends a pong answering a ping with `payload` (at most 125 bytes, as the ping's was).
pub fn encode_pong(payload: &[u8], out: &mut Vec<u8>) {
    let payload = payload
        .get(..MAX_CONTROL_PAYLOAD.min(payload.len()))
        .unwrap_or_default();
    encode_header(OP_PONG, payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// Appends a close frame with a status code (section 5.5.1).
pub fn encode_close(code: u16, out: &mut Vec<u8>) {
    encode_header(OP_CLOSE, 2, out);
    out.extend_from_slice(&code.to_be_bytes());
}

/// The most bytes a binary frame header takes.
pub const MAX_SERVER_HEADER: usize = 10;
