//! Writing the MQTT data types, and the exact size each takes, for the encoder.
//!
//! Every `*_len` function matches its `put_*` writer byte for byte: the encoder computes a
//! packet's remaining length first, writes the fixed header, then the body, with no copying.
//! Strings and binary fields longer than a two-byte length allows are cut to 65,535 bytes (at a
//! character boundary), so a frame always stays well-formed; nothing the decoder produced is
//! ever that long.

use super::reader::VARINT_MAX;

/// The largest length a UTF-8 string or binary field can carry.
const FIELD_MAX: usize = u16::MAX as usize;

/// The part of `text` that fits a two-byte length, cut at a character boundary.
fn fit_str(text: &str) -> &str {
    if text.len() <= FIELD_MAX {
        return text;
    }
    let mut end = FIELD_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// The part of `data` that fits a two-byte length.
fn fit_bytes(data: &[u8]) -> &[u8] {
    data.get(..FIELD_MAX).unwrap_or(data)
}

/// Bytes a variable byte integer takes; values above the maximum are clamped to it.
pub(crate) fn varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes a variable byte integer. The caller keeps packets within 268,435,455 bytes of
/// remaining length (see `publish_len`); larger values are clamped so the frame stays parseable.
pub(crate) fn put_varint(out: &mut Vec<u8>, value: usize) {
    let mut value = u32::try_from(value).unwrap_or(VARINT_MAX).min(VARINT_MAX);
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub(crate) fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub(crate) fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Bytes a UTF-8 string field takes, length prefix included.
pub(crate) fn str_len(text: &str) -> usize {
    2 + fit_str(text).len()
}

pub(crate) fn put_str(out: &mut Vec<u8>, text: &str) {
    put_bytes(out, fit_str(text).as_bytes());
}

/// Bytes a binary field takes, length prefix included.
pub(crate) fn bytes_len(data: &[u8]) -> usize {
    2 + fit_bytes(data).len()
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, data: &[u8]) {
    let data = fit_bytes(data);
    put_u16(out, data.len() as u16);
    out.extend_from_slice(data);
}

/// Writes a fixed header: the first byte and the remaining length.
pub(crate) fn put_header(out: &mut Vec<u8>, first_byte: u8, remaining: usize) {
    out.push(first_byte);
    put_varint(out, remaining);
}

/// Bytes a packet with this remaining length takes in all.
pub(crate) fn packet_len(remaining: usize) -> usize {
    1 + varint_len(remaining) + remaining
}
