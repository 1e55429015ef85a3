//! The WebSocket layer of a connection on a `protocol websockets` listener: between the byte
//! stream (plain TCP, or TLS for `wss://`) and the MQTT codec. The reactor and the router see
//! the MQTT bytes only, through the same `read` and `write` as any transport.
//!
//! It runs the opening handshake incrementally, as the TLS one runs: while the request is
//! incomplete a read reports `WouldBlock`, and [`WebSocket::establishing`] asks the reactor
//! for write turns until the answer is sent. The router's link is open from the accept, so
//! its CONNECT timeout bounds a slow or silent handshake; the request is bounded by
//! `websockets_headers_size`. A plain GET is answered from `http_dir` ([`files`]).
//!
//! Reading: the frames' payload is unmasked in the reactor's scratch buffer, in place, and
//! passed on as it is (see [`crate::ws::frame`]). Writing ([`send`]): the caller's output is
//! sent as one binary frame per write turn. Its header goes into this layer's buffer and the
//! payload is copied behind it, 64 KiB at a time, which is the one copy each delivery gets on
//! its way; the caller is told bytes are written only once they left this buffer for the
//! socket, so the router keeps them, in place, until then, and a frame's header never promises
//! bytes the caller no longer holds. Pongs and the close frame wait for the frame being sent to
//! end.

use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use log::info;
use mio::event::Source;

use super::transport::Transport;
use crate::logging::WEBSOCKETS_TARGET;
use crate::router::{Forwarded, Peer};
use crate::ws::frame::{self, CLOSE_NORMAL, Control, Decoder};
use crate::ws::{HttpError, Parsed, Request, parse_request};

mod files;
mod send;

/// Payload copied into the send buffer at a time: the buffer's size, whatever the frame's.
const CHUNK: usize = 64 * 1024;
/// What `websockets_headers_size 0` means.
const DEFAULT_HEADERS_SIZE: usize = 4096;

/// What one WebSockets listener's connections are told.
#[derive(Debug)]
pub(crate) struct WsSettings {
    /// The largest request accepted, in bytes.
    pub(crate) headers_size: usize,
    /// The folder plain GET requests are served from, with links resolved.
    pub(crate) http_dir: Option<PathBuf>,
    /// Take the client's address from X-Forwarded-For.
    pub(crate) trust_forwarded_for: bool,
}

impl WsSettings {
    /// The settings of a listener; `http_dir` must exist and is resolved now, so a typo is
    /// found at start rather than by the first browser.
    pub(crate) fn new(
        headers_size: u16,
        http_dir: Option<&PathBuf>,
        trust_forwarded_for: bool,
    ) -> io::Result<WsSettings> {
        let http_dir = http_dir.map(std::fs::canonicalize).transpose()?;
        if let Some(dir) = &http_dir
            && !dir.is_dir()
        {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, "not a folder"));
        }
        let headers_size = match headers_size {
            0 => DEFAULT_HEADERS_SIZE,
            n => usize::from(n),
        };
        Ok(WsSettings {
            headers_size,
            http_dir,
            trust_forwarded_for,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading the client's request.
    Handshake,
    /// Upgraded: frames both ways.
    Open,
    /// Sending a file to a plain GET.
    Http,
    /// The last bytes (an HTTP answer, a close frame) are queued; nothing more is read.
    Ending,
}

#[derive(Debug)]
pub(crate) struct WebSocket {
    inner: Transport,
    settings: Arc<WsSettings>,
    /// The TCP peer, for log lines.
    peer: Peer,
    phase: Phase,
    decoder: Decoder,
    /// The request so far, while it is incomplete.
    request: Vec<u8>,
    /// Frame bytes a client sent right behind its request, decoded by the next read.
    early: Vec<u8>,
    /// Bytes for the socket; `out[sent..]` is still to go.
    out: Vec<u8>,
    sent: usize,
    /// Where the caller's payload starts in `out`; before it are headers and control frames.
    payload_start: usize,
    /// Payload bytes of the frame being sent that are not in `out` yet.
    frame_left: usize,
    /// Control frames waiting for the frame being sent to end.
    control_out: Vec<u8>,
    close_queued: bool,
    /// The address X-Forwarded-For named, until the connection takes it.
    forwarded: Option<IpAddr>,
    /// The file a GET is being answered with.
    file: Option<File>,
}

impl WebSocket {
    /// Its record, its buffers and what the transport under it holds.
    pub(crate) fn footprint(&self) -> usize {
        let buffers = [&self.request, &self.early, &self.out, &self.control_out];
        size_of::<WebSocket>()
            + buffers.iter().map(|b| b.capacity()).sum::<usize>()
            + self.inner.footprint()
    }

    pub(crate) fn new(inner: Transport, settings: Arc<WsSettings>, peer: Peer) -> WebSocket {
        WebSocket {
            inner,
            settings,
            peer,
            phase: Phase::Handshake,
            decoder: Decoder::default(),
            request: Vec::new(),
            early: Vec::new(),
            out: Vec::new(),
            sent: 0,
            payload_start: 0,
            frame_left: 0,
            control_out: Vec::new(),
            close_queued: false,
            forwarded: None,
            file: None,
        }
    }

    /// Bounds the client's data messages by the broker's maximum packet size (see
    /// [`crate::ws::frame`]); called before each read, so a reloaded limit applies.
    pub(crate) fn set_max_packet_size(&mut self, max_packet_size: u32) {
        self.decoder.set_max_packet_size(max_packet_size);
    }

    pub(crate) fn source(&mut self) -> Option<&mut dyn Source> {
        self.inner.source()
    }

    /// True while the connection needs write turns of its own: the handshake (TLS or
    /// WebSocket) is under way, a file is being sent, or a control frame or farewell waits.
    pub(crate) fn establishing(&self) -> bool {
        self.inner.establishing()
            || matches!(self.phase, Phase::Handshake | Phase::Http)
            || !self.control_out.is_empty()
            || self.sent < self.payload_start.min(self.out.len())
            || (self.phase == Phase::Ending && self.sent < self.out.len())
    }

    /// Whether closing should go the graceful way, so queued last bytes (an HTTP answer, a
    /// close frame) reach the client before the socket closes.
    pub(crate) fn farewell_pending(&self) -> bool {
        self.phase == Phase::Ending || self.sent < self.out.len() || !self.control_out.is_empty()
    }

    /// The client's address from X-Forwarded-For, once, after the handshake.
    pub(crate) fn take_forwarded_peer(&mut self) -> Option<Peer> {
        let client = self.forwarded.take()?;
        let proxy = match &self.peer {
            Peer::Tcp(addr) => *addr,
            _ => return None,
        };
        Some(Peer::Forwarded(Box::new(Forwarded { client, proxy })))
    }

    /// Reads MQTT bytes into `buf`. `WouldBlock` during the handshake and whenever nothing but
    /// frame headers and control frames arrived; `Ok(0)` once the conversation is over.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = match self.phase {
                Phase::Handshake => {
                    self.read_request(buf)?;
                    continue;
                }
                Phase::Open if !self.early.is_empty() => self.take_early(buf),
                Phase::Open => self.inner.read(buf)?,
                Phase::Http => {
                    // A client waiting for its file has nothing more to say; what it sends
                    // is dropped, and its close ends the answer.
                    if self.inner.read(buf)? == 0 {
                        return Ok(0);
                    }
                    continue;
                }
                Phase::Ending => return Ok(0),
            };
            if n == 0 {
                return Ok(0);
            }
            let data = self.decode(buf.get_mut(..n).unwrap_or_default())?;
            if data > 0 || self.phase != Phase::Open {
                return Ok(data);
            }
        }
    }

    /// Decodes frames in place; answers control frames. Returns the MQTT bytes at `buf`'s
    /// front.
    fn decode(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut controls = Vec::new();
        let data = match self.decoder.decode(buf, &mut controls) {
            Ok(data) => data,
            Err(e) => {
                info!("WebSocket connection from {} closed: {e}", self.peer);
                self.queue_close(e.close_code());
                self.phase = Phase::Ending;
                return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
            }
        };
        // Section 5.5.3: answering only the latest of several pings is enough.
        let last_ping = controls.iter().rev().find_map(|c| match c {
            Control::Ping(payload) => Some(payload),
            _ => None,
        });
        if let Some(payload) = last_ping {
            frame::encode_pong(payload, &mut self.control_out);
        }
        if let Some(Control::Close(code)) = controls.last() {
            // Section 5.5.1: the answer echoes the status code.
            self.queue_close(code.unwrap_or(CLOSE_NORMAL));
            self.phase = Phase::Ending;
        }
        Ok(data)
    }

    fn take_early(&mut self, buf: &mut [u8]) -> usize {
        let n = self.early.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), self.early.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.early.drain(..n);
        n
    }

    /// Reads and parses the request; on success the answer is queued and the phase moves on.
    /// `WouldBlock` while the request is incomplete.
    fn read_request(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.phase = Phase::Ending;
            return Ok(());
        }
        self.request
            .extend_from_slice(buf.get(..n).unwrap_or_default());
        let parsed = parse_request(&self.request, self.settings.headers_size);
        match parsed {
            Ok(None) => Ok(()),
            Ok(Some(Parsed { request, len })) => {
                let early = self.request.split_off(len.min(self.request.len()));
                self.request = Vec::new();
                match request {
                    Request::Upgrade(upgrade) => {
                        info!(
                            target: WEBSOCKETS_TARGET,
                            "WebSocket connection from {} upgraded (subprotocol {})",
                            self.peer,
                            upgrade.protocol.as_deref().unwrap_or("none")
                        );
                        self.out.extend_from_slice(&upgrade.response());
                        self.payload_start = self.out.len();
                        if self.settings.trust_forwarded_for {
                            self.forwarded = upgrade.forwarded_for;
                        }
                        self.early = early;
                        self.phase = Phase::Open;
                        Ok(())
                    }
                    Request::Get { path, head } => self.answer_get(&path, head),
                }
            }
            Err(e) => Err(self.refuse(&e)),
        }
    }

    /// Queues an HTTP error as the last bytes; the error returned closes the connection.
    fn refuse(&mut self, error: &HttpError) -> io::Error {
        info!("HTTP request from {} refused: {error}", self.peer);
        self.out.extend_from_slice(&error.response());
        self.payload_start = self.out.len();
        self.phase = Phase::Ending;
        self.request = Vec::new();
        io::Error::new(io::ErrorKind::InvalidData, error.to_string())
    }

    /// Shuts down the sending side after the last output: a close frame if the upgrade was
    /// made (section 7.1.2: the server starts the TCP close after the closing handshake), the
    /// queued bytes, then the transport's own close. `WouldBlock` until they are sent.
    pub(crate) fn close_write(&mut self) -> io::Result<()> {
        if self.phase == Phase::Open {
            self.queue_close(CLOSE_NORMAL);
            self.phase = Phase::Ending;
        }
        self.file = None;
        if self.phase == Phase::Http {
            self.phase = Phase::Ending;
        }
        self.write(&[])?;
        if self.sent < self.out.len() || !self.control_out.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.inner.close_write()
    }

    /// Ends the conversation at once; a close frame is tried if it fits between frames.
    pub(crate) fn shutdown(&mut self) {
        if self.phase == Phase::Open && self.frame_left == 0 && self.sent == self.out.len() {
            self.queue_close(frame::CLOSE_GOING_AWAY);
            self.phase = Phase::Ending;
            let _ = self.write(&[]);
        }
        self.inner.shutdown();
    }

    pub(crate) fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_raw(buf)
    }
}
