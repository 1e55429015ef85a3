//! The opening handshake (RFC 6455 section 4.2) on the server side: the client's HTTP request
//! parsed from a partial buffer with a size bound, the subprotocol chosen, and the responses
//! written, the upgrade or an HTTP error.
//!
//! Subprotocols: `mqtt` (MQTT 3.1.1 and 5, [MQTT-6.0.0-3]) and `mqttv3.1` (older clients
//! speaking MQTT 3.1), as mosquitto accepts them. A client that offers no subprotocol at all is
//! accepted as MQTT and answered without the header (section 4.2.2 forbids naming one the
//! client did not offer): simple WebSocket tools and some embedded clients never send one, and
//! mosquitto's answer, to hang, helps no one. A client that offers only other subprotocols is
//! refused with `400 Bad Request` naming the two it could use.

use std::fmt;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// Headers in a request, at most; a browser sends about 15.
const MAX_HEADERS: usize = 64;
/// Appended to the client's key before hashing (section 1.3).
const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The subprotocols MQTT is spoken under, in order of preference.
const SUBPROTOCOLS: [&str; 2] = ["mqtt", "mqttv3.1"];

/// A complete request, and how many bytes of the buffer it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub request: Request,
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A valid WebSocket upgrade, to be answered by [`Upgrade::response`].
    Upgrade(Upgrade),
    /// A plain GET or HEAD, for the listener's `http_dir`; `path` is the request target.
    Get { path: String, head: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The Sec-WebSocket-Accept value proving the key was read (section 4.2.2).
    pub accept: String,
    /// The subprotocol chosen, as the client spelled it; `None` when it offered none.
    pub protocol: Option<String>,
    /// The rightmost address of X-Forwarded-For: the one the proxy in front of the broker
    /// added, so a client cannot choose it by sending the header itself.
    pub forwarded_for: Option<IpAddr>,
}

impl Upgrade {
    /// The `101 Switching Protocols` answer.
    pub fn response(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n",
            self.accept
        );
        if let Some(protocol) = &self.protocol {
            out.push_str(&format!("Sec-WebSocket-Protocol: {protocol}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// A request answered with an HTTP error and closed; the `Display` text is the log line's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// Not HTTP/1.1, or a header the upgrade needs is missing or wrong (section 4.2.1).
    BadRequest(&'static str),
    /// Offered subprotocols, none of them MQTT's.
    NoMqttSubprotocol(String),
    /// Section 4.2.2: an unsupported Sec-WebSocket-Version is answered with 426 and the
    /// version the server speaks.
    UnsupportedVersion(String),
    /// The request's headers are larger than `websockets_headers_size`, or too many.
    HeadersTooLarge,
    /// A method other than GET or HEAD for a file.
    MethodNotAllowed(String),
    /// A plain GET on a listener with no `http_dir`.
    NotWebSocket,
    /// No such file under `http_dir`, or outside it.
    NotFound(String),
    /// The file exists but cannot be read.
    Forbidden(String),
}

impl HttpError {
    /// The status line's code and reason phrase.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            HttpError::BadRequest(_) | HttpError::NoMqttSubprotocol(_) => (400, "Bad Request"),
            HttpError::UnsupportedVersion(_) | HttpError::NotWebSocket => (426, "Upgrade Required"),
            HttpError::HeadersTooLarge => (431, "Request Header Fields Too Large"),
            HttpError::MethodNotAllowed(_) => (405, "Method Not Allowed"),
            HttpError::NotFound(_) => (404, "Not Found"),
            HttpError::Forbidden(_) => (403, "Forbidden"),
        }
    }

    /// The whole response: status, the headers this error needs, and a one-line body.
    pub fn response(&self) -> Vec<u8> {
        let (code, reason) = self.status();
        let extra = match self {
            HttpError::UnsupportedVersion(_) | HttpError::NotWebSocket => {
                "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            }
            HttpError::MethodNotAllowed(_) => "Allow: GET, HEAD\r\n",
            _ => "",
        };
        let body = match self {
            HttpError::NoMqttSubprotocol(_) => {
                "MQTT over WebSockets needs the subprotocol mqtt or mqttv3.1\n".to_string()
            }
            HttpError::NotWebSocket => "This is an MQTT over WebSockets endpoint\n".to_string(),
            _ => format!("{code} {reason}\n"),
        };
        format!(
            "HTTP/1.1 {code} {reason}\r\n{extra}Content-Type: text/plain\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (code, _) = self.status();
        match self {
            HttpError::BadRequest(why) => write!(f, "bad WebSocket handshake ({code}): {why}"),
            HttpError::NoMqttSubprotocol(offered) => write!(
                f,
                "WebSocket handshake refused ({code}): subprotocols {offered:?} offered, \
                 mqtt or mqttv3.1 needed"
            ),
            HttpError::UnsupportedVersion(v) => {
                write!(f, "WebSocket version {v:?} refused ({code}): 13 needed")
            }
            HttpError::HeadersTooLarge => write!(
                f,
                "HTTP request refused ({code}): headers larger than websockets_headers_size"
            ),
            HttpError::MethodNotAllowed(m) => write!(f, "HTTP {m} refused ({code})"),
            HttpError::NotWebSocket => {
                write!(f, "plain HTTP request refused ({code}): no http_dir")
            }
            HttpError::NotFound(path) => write!(f, "HTTP GET {path}: {code} not found"),
            HttpError::Forbidden(path) => write!(f, "HTTP GET {path}: {code} forbidden"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Parses the request at the start of `buf`: `Ok(None)` while it is incomplete and within
/// `limit` bytes. Bytes after it (frames a client sent without waiting) are the caller's.
pub fn parse_request(buf: &[u8], limit: usize) -> Result<Option<Parsed>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= limit => len,
        Ok(httparse::Status::Complete(_)) => return Err(HttpError::HeadersTooLarge),
        Ok(httparse::Status::Partial) if buf.len() < limit => return Ok(None),
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
            return Err(HttpError::HeadersTooLarge);
        }
        Err(_) => return Err(HttpError::BadRequest("not an HTTP request")),
    };
    let method = request.method.unwrap_or_default();
    let path = request.path.unwrap_or_default().to_string();
    // Section 4.1: the handshake is an HTTP/1.1 (or later) GET.
    if request.version != Some(1) {
        return Err(HttpError::BadRequest("HTTP/1.1 needed"));
    }
    let headers = request.headers;
    let upgrade = header(headers, "Upgrade").is_some();
    let request = match method {
        "GET" if upgrade => Request::Upgrade(upgrade_request(headers)?),
        "GET" | "HEAD" => Request::Get {
            path,
            head: method == "HEAD",
        },
        other => return Err(HttpError::MethodNotAllowed(other.to_string())),
    };
    Ok(Some(Parsed { request, len }))
}

/// Checks the headers of an upgrade request (section 4.2.1) and chooses the subprotocol.
fn upgrade_request(headers: &[httparse::Header<'_>]) -> Result<Upgrade, HttpError> {
    if header(headers, "Host").is_none() {
        return Err(HttpError::BadRequest("no Host header"));
    }
    if !has_token(headers, "Upgrade", "websocket") {
        return Err(HttpError::BadRequest("Upgrade is not websocket"));
    }
    if !has_token(headers, "Connection", "upgrade") {
        return Err(HttpError::BadRequest("Connection does not include Upgrade"));
    }
    let version = header(headers, "Sec-WebSocket-Version").unwrap_or_default();
    if version.trim() != "13" {
        return Err(HttpError::UnsupportedVersion(version.trim().to_string()));
    }
    let key = header(headers, "Sec-WebSocket-Key")
        .map(str::trim)
        .ok_or(HttpError::BadRequest("no Sec-WebSocket-Key"))?;
    // Section 4.1: the key is 16 random bytes in base64.
    if STANDARD.decode(key).map(|k| k.len()) != Ok(16) {
        return Err(HttpError::BadRequest(
            "Sec-WebSocket-Key is not 16 bytes in base64",
        ));
    }
    Ok(Upgrade {
        accept: accept_key(key),
        protocol: choose_subprotocol(headers)?,
        forwarded_for: forwarded_for(headers),
    })
}

/// The subprotocol to answer with: the first MQTT one offered; `None` if none was offered.
fn choose_subprotocol(headers: &[httparse::Header<'_>]) -> Result<Option<String>, HttpError> {
    let offered: Vec<&str> = values(headers, "Sec-WebSocket-Protocol")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if offered.is_empty() {
        return Ok(None);
    }
    let chosen = SUBPROTOCOLS
        .iter()
        .find_map(|ours| offered.iter().find(|p| p.eq_ignore_ascii_case(ours)));
    match chosen {
        Some(p) => Ok(Some((*p).to_string())),
        None => Err(HttpError::NoMqttSubprotocol(offered.join(", "))),
    }
}

/// The last address of the last X-Forwarded-For header, if it is an IP address.
fn forwarded_for(headers: &[httparse::Header<'_>]) -> Option<IpAddr> {
    let last = values(headers, "X-Forwarded-For").last()?;
    last.rsplit(',').next()?.trim().parse().ok()
}

/// Sec-WebSocket-Accept: base64 of the SHA-1 of the key and the GUID (section 4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID);
    STANDARD.encode(sha.finalize())
}

/// Every value of the header `name` (case-insensitive), as text; non-UTF-8 values are skipped.
fn values<'h>(headers: &'h [httparse::Header<'_>], name: &'h str) -> impl Iterator<Item = &'h str> {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .filter_map(|h| std::str::from_utf8(h.value).ok())
}

fn header<'h>(headers: &'h [httparse::Header<'_>], name: &'h str) -> Option<&'h str> {
    values(headers, name).next()
}

/// Whether a comma-separated header has `token` among its values (case-insensitive).
fn has_token(headers: &[httparse::Header<'_>], name: &str, token: &str) -> bool {
    values(headers, name)
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests;
