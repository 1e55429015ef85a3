//! The sending side of a WebSocket connection: the caller's output as one binary frame per
//! write turn, copied in behind its header a chunk at a time, with control frames and the
//! close frame held back until the frame being sent is complete.

use std::io;

use super::{CHUNK, Phase, WebSocket};
use crate::ws::frame;

impl WebSocket {
    /// Writes some of `data` as frame payload (see the module docs); returns how much of it
    /// reached the socket. With empty `data` this only moves queued bytes along.
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut credited = 0;
        loop {
            if self.sent < self.out.len() {
                let before = self.sent;
                if !self.send_out()? {
                    return Ok(credited);
                }
                credited += self.sent.saturating_sub(before.max(self.payload_start));
                continue;
            }
            if !self.refill(data.get(credited..).unwrap_or_default())? {
                break;
            }
        }
        if self.phase == Phase::Ending && self.frame_left == 0 {
            // The client closed or broke the conversation, and no frame is half sent: what
            // the router still says is for no one.
            return Ok(data.len());
        }
        Ok(credited)
    }

    /// One write of the unsent bytes; `false` when the socket took none.
    fn send_out(&mut self) -> io::Result<bool> {
        let rest = self.out.get(self.sent..).unwrap_or_default();
        match self.inner.write(rest) {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.sent += n;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Fills the drained send buffer: control frames once a frame is complete, then the next
    /// frame's header, then up to [`CHUNK`] of payload from `data`. `false` if nothing to send.
    fn refill(&mut self, data: &[u8]) -> io::Result<bool> {
        self.out.clear();
        self.sent = 0;
        if self.out.capacity() > 2 * CHUNK {
            self.out.shrink_to(CHUNK);
        }
        if self.phase == Phase::Http {
            return self.refill_file();
        }
        if self.frame_left == 0 {
            self.out.append(&mut self.control_out);
            if self.phase == Phase::Open && !data.is_empty() {
                self.frame_left = data.len();
                frame::encode_binary_header(data.len() as u64, &mut self.out);
            }
        }
        self.payload_start = self.out.len();
        let n = self.frame_left.min(CHUNK).min(data.len());
        self.out
            .extend_from_slice(data.get(..n).unwrap_or_default());
        self.frame_left -= n;
        Ok(!self.out.is_empty())
    }

    pub(super) fn queue_close(&mut self, code: u16) {
        if !self.close_queued {
            self.close_queued = true;
            frame::encode_close(code, &mut self.control_out);
        }
    }
}
