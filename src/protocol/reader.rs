//! A reader over one packet's body, bounded by its remaining length, for the MQTT data types.
//!
//! The reader never looks past the slice it was given, so a length the peer sent can at most
//! make a field run short ([`DecodeError::UnexpectedEnd`]), never read another packet's bytes.

use super::{DecodeError, PacketId};

/// The largest value a variable byte integer can carry (four bytes of seven bits).
pub(crate) const VARINT_MAX: u32 = 268_435_455;

/// Decodes a variable byte integer from the front of `bytes` [MQTT-1.5.5 in 5.0, 2.2.3 in 3.1.1].
/// `Ok(None)` when `bytes` ends before the last byte of the integer; the error when a fourth
/// byte still has its continuation bit set.
pub(crate) fn decode_varint(bytes: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value: u32 = 0;
    for (i, &byte) in bytes.iter().take(4).enumerate() {
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= 4 {
        Err(DecodeError::InvalidVariableByteInteger)
    } else {
        Ok(None)
    }
}

/// Reads the fields of one packet's body in order.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    /// The packet's name, for [`DecodeError::UnexpectedEnd`] and [`DecodeError::TrailingBytes`].
    packet: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], packet: &'static str) -> Reader<'a> {
        Reader { buf, packet }
    }

    pub(crate) fn packet(&self) -> &'static str {
        self.packet
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    fn short(&self) -> DecodeError {
        DecodeError::UnexpectedEnd {
            packet: self.packet,
        }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or_else(|| self.short())?;
        self.buf = tail;
        Ok(head)
    }

    /// Everything left (the payload of PUBLISH).
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&byte, tail) = self.buf.split_first().ok_or_else(|| self.short())?;
        self.buf = tail;
        Ok(byte)
    }

    /// Two Byte Integer, big-endian.
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let bytes = self.take(2)?;
        let array: [u8; 2] = bytes.try_into().map_err(|_| self.short())?;
        Ok(u16::from_be_bytes(array))
    }

    /// Four Byte Integer, big-endian.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let bytes = self.take(4)?;
        let array: [u8; 4] = bytes.try_into().map_err(|_| self.short())?;
        Ok(u32::from_be_bytes(array))
    }

    /// Variable Byte Integer.
    pub(crate) fn varint(&mut self) -> Result<u32, DecodeError> {
        let (value, used) = decode_varint(self.buf)?.ok_or_else(|| self.short())?;
        self.take(used)?;
        Ok(value)
    }

    /// [MQTT-2.3.1-1] A non-zero packet identifier.
    pub(crate) fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?).ok_or(DecodeError::ZeroPacketId)
    }

    /// Binary Data: a two-byte length and that many bytes.
    pub(crate) fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// UTF-8 Encoded String [MQTT-1.5.3-1] [MQTT-1.5.3-2]: well-formed, without U+0000.
    pub(crate) fn utf8(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.binary()?;
        let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
        if text.contains('\0') {
            return Err(DecodeError::NullCharacter);
        }
        Ok(text)
    }

    /// A topic name [MQTT-3.3.2-2]: a UTF-8 string without wildcards. It may be empty here;
    /// each caller applies its own rule for that.
    pub(crate) fn topic_name(&mut self) -> Result<&'a str, DecodeError> {
        let topic = self.utf8()?;
        // A byte scan: both wildcards are ASCII, and a char-set search decodes every char.
        if topic.bytes().any(|b| b == b'+' || b == b'#') {
            return Err(DecodeError::WildcardInTopicName);
        }
        Ok(topic)
    }

    /// A topic filter as sent: a non-empty UTF-8 string [MQTT-4.7.3-1]. Wildcard syntax is the
    /// router's to judge, since a bad filter earns a SUBACK failure code, not a closed link.
    pub(crate) fn topic_filter(&mut self) -> Result<String, DecodeError> {
        let filter = self.utf8()?;
        if filter.is_empty() {
            return Err(DecodeError::EmptyTopicFilter);
        }
        Ok(filter.to_owned())
    }

    /// Ends a packet with a fixed layout: nothing may follow its last field.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                packet: self.packet,
            })
        }
    }
}
