//! The only code that touches sockets: many MQTT links on one mio `Poll`, with their buffers,
//! over plain TCP or TLS, with or without WebSocket framing (see `stream`).
//!
//! Scenarios queue encoded packets with [`Net::out`] and get decoded packets back through the
//! callback of [`Net::poll`]; everything runs on one thread so the generator costs as little CPU
//! as it can and its timings are not disturbed by its own scheduling.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::codec::{self, Packet};
use crate::opts::TlsTarget;
use crate::protocol::{LinkCodec, Protocol, disconnect_reason};
use crate::stream::Stream;
use crate::ws::WsStream;

/// How much a single `read` asks for; large enough that a busy subscriber drains in few calls.
const READ_CHUNK: usize = 64 * 1024;

/// How long a TCP connect to the broker may take before the run gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

struct Link {
    stream: Stream,
    /// The start of a packet whose end has not arrived yet.
    partial: Vec<u8>,
    /// Encoded packets not yet written; starts at `wpos`.
    wbuf: Vec<u8>,
    wpos: usize,
    /// The broker closed the link or it failed; nothing more is read or written.
    closed: bool,
    codec: LinkCodec,
}

/// A set of links, each known by its index (also its mio token).
pub struct Net {
    poll: Poll,
    events: Events,
    links: Vec<Link>,
    /// Where every read lands first; see [`read_link`].
    scratch: Vec<u8>,
    addr: SocketAddr,
    #[cfg(feature = "tls")]
    tls: Option<crate::stream::Tls>,
    /// What new links speak.
    protocol: Protocol,
    /// User name and password new links log in with.
    credentials: Option<(String, String)>,
    /// Links that closed since the scenario last asked.
    pub closed: usize,
    /// Whether new links ask for a clean session (3.1.1).
    clean_session: bool,
    /// New links speak MQTT over WebSockets.
    websocket: bool,
}

impl Net {
    /// Links to `addr`, over TLS when `tls` is given.
    pub fn new(addr: SocketAddr, tls: Option<&TlsTarget>) -> io::Result<Net> {
        #[cfg(feature = "tls")]
        let tls = tls.map(crate::stream::Tls::new).transpose()?;
        #[cfg(not(feature = "tls"))]
        if tls.is_some() {
            return Err(io::Error::other("built without the `tls` feature"));
        }
        Ok(Net {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            links: Vec::new(),
            scratch: vec![0; READ_CHUNK],
            addr,
            #[cfg(feature = "tls")]
            tls,
            protocol: Protocol::V311,
            credentials: None,
            closed: 0,
            clean_session: true,
            websocket: false,
        })
    }

    /// The stream for a new, registered socket: plain, or starting its TLS handshake, and
    /// starting the WebSocket upgrade inside that.
    fn wrap(&self, stream: TcpStream) -> io::Result<Stream> {
        let transport = self.transport(stream)?;
        if self.websocket {
            let host = self.addr.to_string();
            return Ok(Stream::WebSocket(Box::new(WsStream::new(transport, &host))));
        }
        Ok(transport)
    }

    fn transport(&self, stream: TcpStream) -> io::Result<Stream> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return tls.start(stream);
        }
        Ok(Stream::Plain(stream))
    }

    /// Links opened from now on speak MQTT over WebSockets.
    pub fn set_websocket(&mut self, websocket: bool) {
        self.websocket = websocket;
    }

    /// Sets the protocol of the links opened from now on (MQTT 3.1.1 unless told otherwise).
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    /// Sets the user name and password of the links opened from now on.
    /// Links opened from now on keep a persistent session (clean session 0) when `false`.
    pub fn set_clean_session(&mut self, clean: bool) {
        self.clean_session = clean;
    }

    pub fn set_credentials(&mut self, credentials: Option<(String, String)>) {
        self.credentials = credentials;
    }

    /// Opens a TCP connection and queues CONNECT; the CONNACK arrives through [`Net::poll`].
    ///
    /// Links opened from now on go to `addr`.
    pub fn set_addr(&mut self, addr: SocketAddr) {
        self.addr = addr;
    }

    /// The connect itself is blocking: on loopback it completes in microseconds, and it keeps the
    /// listen backlog from overflowing (which would cost a one-second SYN retry).
    pub fn connect(&mut self, client_id: &str) -> io::Result<usize> {
        let std_stream = std::net::TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT)?;
        // Nagle would hold back small PUBLISH packets and distort every figure.
        std_stream.set_nodelay(true)?;
        std_stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(std_stream);
        let id = self.links.len();
        self.poll.registry().register(
            &mut stream,
            Token(id),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let stream = self.wrap(stream)?;
        let mut wbuf = Vec::with_capacity(256);
        let codec = LinkCodec::new(self.protocol);
        // Keep alive 0: the runs are short and idle links must not need pings [MQTT-3.1.2-24].
        let credentials = self
            .credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()));
        codec.encode_connect(&mut wbuf, client_id, 0, credentials, self.clean_session);
        self.links.push(Link {
            stream,
            partial: Vec::new(),
            wbuf,
            wpos: 0,
            closed: false,
            codec,
        });
        self.flush(id);
        Ok(id)
    }

    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// The output buffer of a link, to encode packets into; call [`Net::flush`] afterwards.
    pub fn out(&mut self, id: usize) -> &mut Vec<u8> {
        &mut self.links[id].wbuf
    }

    /// Queues a PUBLISH on a link in its protocol (with its topic aliases); call [`Net::flush`]
    /// afterwards.
    pub fn publish(&mut self, id: usize, topic: &[u8], qos: u8, pid: u16, payload: &[u8]) {
        let link = &mut self.links[id];
        link.codec
            .encode_publish(&mut link.wbuf, topic, qos, pid, payload);
    }

    /// How many QoS 1/2 publishes the broker lets a link have unacknowledged.
    pub fn receive_maximum(&self, id: usize) -> u16 {
        self.links[id].codec.receive_maximum()
    }

    /// Bytes queued on a link and not yet accepted by the kernel: the generator's backpressure.
    pub fn pending(&self, id: usize) -> usize {
        let link = &self.links[id];
        link.wbuf.len() - link.wpos
    }

    pub fn is_closed(&self, id: usize) -> bool {
        self.links[id].closed
    }

    /// Writes what is queued until the kernel would block; a WRITABLE event resumes it.
    pub fn flush(&mut self, id: usize) {
        let link = &mut self.links[id];
        if flush_link(link).is_err() && !link.closed {
            link.closed = true;
            self.closed += 1;
        }
    }

    /// Waits up to `timeout` for readiness, then hands every complete packet to `on` with the
    /// link it came on and that link's output buffer (for acknowledgements). Output queued by
    /// `on` is flushed before returning.
    pub fn poll<F>(&mut self, timeout: Duration, mut on: F) -> io::Result<()>
    where
        F: FnMut(usize, Packet<'_>, &mut Vec<u8>),
    {
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for event in self.events.iter() {
            let id = event.token().0;
            let Some(link) = self.links.get_mut(id) else {
                continue;
            };
            if link.closed {
                continue;
            }
            let mut ok = true;
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                ok = read_link(link, &mut self.scratch, id, &mut on).is_ok();
            }
            // Flushed even without WRITABLE: `on` may have queued acknowledgements.
            ok = ok && flush_link(link).is_ok();
            if !ok {
                link.closed = true;
                self.closed += 1;
            }
        }
        Ok(())
    }

    /// Queues DISCONNECT on every open link and writes it; the sockets close when `Net` drops.
    pub fn disconnect_all(&mut self) {
        for id in 0..self.links.len() {
            if !self.links[id].closed {
                codec::encode_disconnect(&mut self.links[id].wbuf);
                self.flush(id);
            }
        }
    }
}

fn flush_link(link: &mut Link) -> io::Result<()> {
    while link.wpos < link.wbuf.len() {
        match link.stream.write(&link.wbuf[link.wpos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => link.wpos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    link.wbuf.clear();
    link.wpos = 0;
    link.stream.flush()
}

/// Reads until the kernel would block (mio is edge-triggered), decoding as it goes.
///
/// Reads land in the shared `scratch` buffer and are decoded from there; only a partial packet
/// at the end is copied into the link's own buffer, so ten thousand idle links cost no read
/// buffers at all.
fn read_link<F>(link: &mut Link, scratch: &mut [u8], id: usize, on: &mut F) -> io::Result<()>
where
    F: FnMut(usize, Packet<'_>, &mut Vec<u8>),
{
    loop {
        let n = match link.stream.read(scratch) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if link.partial.is_empty() {
            let used = decode_all(&mut link.codec, &scratch[..n], &mut link.wbuf, id, on)?;
            link.partial.extend_from_slice(&scratch[used..n]);
        } else {
            link.partial.extend_from_slice(&scratch[..n]);
            let used = decode_all(&mut link.codec, &link.partial, &mut link.wbuf, id, on)?;
            link.partial.drain(..used);
        }
    }
}

/// Hands every complete packet in `buf` to `on`; returns how many bytes they took.
fn decode_all<F>(
    codec: &mut LinkCodec,
    buf: &[u8],
    wbuf: &mut Vec<u8>,
    id: usize,
    on: &mut F,
) -> io::Result<usize>
where
    F: FnMut(usize, Packet<'_>, &mut Vec<u8>),
{
    let mut pos = 0;
    loop {
        match codec.decode(&buf[pos..]) {
            Ok(Some((packet, used))) => {
                if let Packet::Disconnect { reason } = packet {
                    // The link closes next; the reason is all there is to say why.
                    let why = disconnect_reason(reason);
                    eprintln!(
                        "mqtt-load: the broker sent DISCONNECT on link {id}: 0x{reason:02X} {why}"
                    );
                }
                on(id, packet, wbuf);
                pos += used;
            }
            Ok(None) => return Ok(pos),
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        }
    }
}
