//! A client frame's header, collected and checked (section 5.2), and the masking key it
//! carries applied to the payload (section 5.3).

use super::FrameError;

/// A checked frame header.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    pub(super) fin: bool,
    pub(super) opcode: u8,
    pub(super) len: u64,
    pub(super) mask: [u8; 4],
}

/// How long the header starting with `start` is: 2 bytes until the second byte says more.
pub(super) fn header_len(start: &[u8]) -> usize {
    let Some(&second) = start.get(1) else {
        return 2;
    };
    let extended = match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

/// Checks a complete header (section 5.2).
pub(super) fn parse_header(header: &[u8]) -> Result<Header, FrameError> {
    let (&first, &second, rest) = match header {
        [first, second, rest @ ..] => (first, second, rest),
        _ => return Err(FrameError::Unmasked),
    };
    if first & 0x70 != 0 {
        return Err(FrameError::ReservedBits);
    }
    if second & 0x80 == 0 {
        return Err(FrameError::Unmasked);
    }
    let (len, mask) = match (second & 0x7F, rest) {
        (126, [a, b, mask @ ..]) => (u64::from(u16::from_be_bytes([*a, *b])), mask),
        (127, [a, b, c, d, e, f, g, h, mask @ ..]) => {
            let len = u64::from_be_bytes([*a, *b, *c, *d, *e, *f, *g, *h]);
            if len >> 63 != 0 {
                return Err(FrameError::LengthTooLarge);
            }
            (len, mask)
        }
        (short, mask) => (u64::from(short), mask),
    };
    let mask = match mask {
        [a, b, c, d] => [*a, *b, *c, *d],
        _ => return Err(FrameError::Unmasked),
    };
    Ok(Header {
        fin: first & 0x80 != 0,
        opcode: first & 0x0F,
        len,
        mask,
    })
}

/// XORs `data` with the masking key, whose first byte masks `data`'s first (section 5.3).
pub(super) fn unmask(data: &mut [u8], mask: [u8; 4]) {
    for (byte, key) in data.iter_mut().zip(mask.iter().cycle()) {
        *byte ^= key;
    }
}

/// The key as it stands after masking `n` more bytes.
pub(super) fn rotate(mut mask: [u8; 4], n: usize) -> [u8; 4] {
    mask.rotate_left(n % 4);
    mask
}
