//! Little-endian fields with length-prefixed strings: the writer's helpers and a cursor that
//! reads them back, refusing anything short or malformed instead of panicking.

/// Why a record body does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    Truncated,
    /// Bytes left over after the last field.
    Trailing,
    InvalidUtf8,
    UnknownType(u8),
    /// A flag or QoS field outside its values.
    BadFlag,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::Truncated => write!(f, "a field runs past the record"),
            Malformed::Trailing => write!(f, "bytes after the last field"),
            Malformed::InvalidUtf8 => write!(f, "a string is not UTF-8"),
            Malformed::UnknownType(t) => write!(f, "unknown record type {t}"),
            Malformed::BadFlag => write!(f, "a flag outside its values"),
        }
    }
}

pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

pub fn put_str(out: &mut Vec<u8>, text: &str) {
    put_bytes(out, text.as_bytes());
}

/// An absent string is written as length `u32::MAX`, which no present one can have.
pub fn put_opt_str(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => put_str(out, text),
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

pub struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { rest: bytes }
    }

    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.rest.len() {
            return Err(Malformed::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        self.take(N)?.try_into().map_err(|_| Malformed::Truncated)
    }

    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    pub fn u16(&mut self) -> Result<u16, Malformed> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let len = self.u32()?;
        self.take(usize::try_from(len).map_err(|_| Malformed::Truncated)?)
    }

    pub fn str(&mut self) -> Result<&'a str, Malformed> {
        std::str::from_utf8(self.bytes()?).map_err(|_| Malformed::InvalidUtf8)
    }

    pub fn opt_str(&mut self) -> Result<Option<&'a str>, Malformed> {
        if self.rest.get(..4) == Some(&u32::MAX.to_le_bytes()[..]) {
            self.take(4)?;
            return Ok(None);
        }
        self.str().map(Some)
    }

    /// QoS in bits 0-1 (0 to 2) and the retain flag in bit 2; other bits must be clear.
    pub fn qos_retain(&mut self) -> Result<(u8, bool), Malformed> {
        let byte = self.u8()?;
        let qos = byte & 0b11;
        if qos > 2 || byte & !0b111 != 0 {
            return Err(Malformed::BadFlag);
        }
        Ok((qos, byte & 0b100 != 0))
    }

    pub fn finish(&self) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed::Trailing)
        }
    }
}
