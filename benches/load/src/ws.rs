//! MQTT over WebSockets (`--ws`): the upgrade request, then every write sent as one masked
//! binary frame and the server's frames unwrapped back into the MQTT byte stream, so `net`
//! drives a WebSocket link like a plain one.
//!
//! A write is framed whole into `out` and reported written; what the socket did not take yet
//! is pushed by the next write or by `flush`, which `net` calls after every event.

use std::io::{self, Read, Write};

use crate::stream::Stream;

/// Where the generator reads the server's frames into.
const RAW_CHUNK: usize = 64 * 1024;
/// Any fixed key will do for a load generator: the broker unmasks whatever the key is.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

pub struct WsStream {
    inner: Stream,
    /// The upgrade response has been read.
    open: bool,
    /// Framed bytes not yet written, from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    /// Bytes read from the socket and not yet unwrapped, from `raw_pos`.
    raw: Vec<u8>,
    raw_pos: usize,
    /// Payload bytes of the current data frame still to hand out.
    frame_left: usize,
}

impl WsStream {
    /// Starts the upgrade on `inner` (connected, and through TLS if any).
    pub fn new(inner: Stream, host: &str) -> WsStream {
        let request = format!(
            "GET /mqtt HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: mqtt\r\n\r\n"
        );
        WsStream {
            inner,
            open: false,
            out: request.into_bytes(),
            out_pos: 0,
            raw: Vec::with_capacity(RAW_CHUNK),
            raw_pos: 0,
            frame_left: 0,
        }
    }

    /// Writes what is framed; `WouldBlock` if some of it is still waiting.
    fn push(&mut self) -> io::Result<()> {
        while self.out_pos < self.out.len() {
            match self.inner.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Ok(())
    }

    /// Reads more from the socket into `raw`; `Ok(false)` at the end of the stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.raw_pos > 0 {
            self.raw.drain(..self.raw_pos);
            self.raw_pos = 0;
        }
        let start = self.raw.len();
        self.raw.resize(start + RAW_CHUNK, 0);
        let result = self.inner.read(&mut self.raw[start..]);
        let n = *result.as_ref().unwrap_or(&0);
        self.raw.truncate(start + n);
        result.map(|n| n > 0)
    }

    /// Consumes the upgrade response once it is all there.
    fn read_response(&mut self) -> io::Result<bool> {
        let pending = &self.raw[self.raw_pos..];
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            if pending.len() > 16 * 1024 {
                return Err(io::Error::other("WebSocket upgrade response too long"));
            }
            return Ok(false);
        };
        if !pending.starts_with(b"HTTP/1.1 101") {
            let line = pending.split(|&b| b == b'\r').next().unwrap_or_default();
            return Err(io::Error::other(format!(
                "WebSocket upgrade refused: {}",
                String::from_utf8_lossy(line)
            )));
        }
        self.raw_pos += end + 4;
        self.open = true;
        Ok(true)
    }

    /// Takes the next frame header from `raw` if it is complete: data frames start handing out
    /// their payload, control frames are answered or end the stream when whole.
    fn next_frame(&mut self) -> io::Result<Option<bool>> {
        let pending = &self.raw[self.raw_pos..];
        if pending.len() < 2 {
            return Ok(None);
        }
        let opcode = pending[0] & 0x0f;
        let (len, header) = match pending[1] & 0x7f {
            126 if pending.len() >= 4 => {
                (usize::from(u16::from_be_bytes([pending[2], pending[3]])), 4)
            }
            127 if pending.len() >= 10 => {
                let mut n = [0; 8];
                n.copy_from_slice(&pending[2..10]);
                (
                    usize::try_from(u64::from_be_bytes(n)).map_err(io::Error::other)?,
                    10,
                )
            }
            126 | 127 => return Ok(None),
            n => (usize::from(n), 2),
        };
        if pending[1] & 0x80 != 0 {
            return Err(io::Error::other("masked frame from the server"));
        }
        match opcode {
            0 | 2 => {
                self.raw_pos += header;
                self.frame_left = len;
                Ok(Some(true))
            }
            8 => Err(io::ErrorKind::UnexpectedEof.into()),
            9 | 10 if pending.len() >= header + len => {
                if opcode == 9 {
                    let payload = pending[header..header + len].to_vec();
                    frame(0x8a, &payload, &mut self.out);
                }
                self.raw_pos += header + len;
                Ok(Some(true))
            }
            9 | 10 => Ok(None),
            other => Err(io::Error::other(format!(
                "WebSocket opcode {other} from the server"
            ))),
        }
    }
}

/// Appends a masked frame with `first` (FIN and opcode) carrying `payload`.
fn frame(first: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(first);
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
}

impl Read for WsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.open {
                if !self.read_response()? && !self.fill()? {
                    return Ok(0);
                }
                continue;
            }
            let available = self.raw.len() - self.raw_pos;
            if self.frame_left > 0 && available > 0 {
                let n = self.frame_left.min(available).min(buf.len());
                buf[..n].copy_from_slice(&self.raw[self.raw_pos..self.raw_pos + n]);
                self.raw_pos += n;
                self.frame_left -= n;
                return Ok(n);
            }
            if self.frame_left == 0 && self.next_frame()?.is_some() {
                // A pong may have been framed.
                match self.push() {
                    Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                    _ => continue,
                }
            }
            if !self.fill()? {
                return Ok(0);
            }
        }
    }
}

impl Write for WsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push()?;
        if !self.open {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        frame(0x82, buf, &mut self.out);
        match self.push() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.push() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }
}
