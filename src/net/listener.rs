//! Listening sockets: TCP ones created with socket2 so the options are set before `bind`, then
//! handed to mio; Unix domain sockets (see [`super::unix`]); and what the reactor needs to know
//! about each: the router's name for its listener and its connection limit.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use log::warn;
use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixStream};
use socket2::{Domain, Protocol, Socket, Type};

use super::TlsError;
use super::unix::UnixSocketListener;
use crate::config::{
    Config, ConfigError, ListenerConfig, ListenerKind, ListenerOptions, ListenerProtocol,
};
use crate::router::{ListenerId, Peer};

/// Pending connections the kernel may hold for us; a burst of reconnecting clients after a
/// broker restart should not be refused while the loop is busy.
const BACKLOG: i32 = 1024;

/// Why the broker could not start listening.
#[derive(Debug)]
pub enum BindError {
    /// The configuration was refused before any socket was made.
    Config(ConfigError),
    /// One listener could not be set up; nothing is left bound.
    Listen { addr: SocketAddr, error: io::Error },
    /// One Unix socket listener could not be set up; nothing is left bound.
    ListenUnix { path: PathBuf, error: io::Error },
    /// The event loop itself could not be created.
    Poll(io::Error),
    /// The TLS certificate or key cannot be used.
    Tls(TlsError),
    /// A password or ACL file cannot be read or parsed.
    Security(crate::auth::LoadError),
    /// The persistence store's file or directory cannot be read or written.
    Store(crate::disk::StoreError),
}

impl BindError {
    /// The exit status mosquitto uses for the same failure: 13 for a password or ACL file it
    /// cannot open, 3 for an invalid ACL line, 1 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self {
            BindError::Security(e) => e.exit_status(),
            _ => 1,
        }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::Config(e) => write!(f, "invalid configuration: {e}"),
            BindError::Listen { addr, error } => {
                write!(f, "cannot listen on {addr}: {}", os_message(error))
            }
            BindError::ListenUnix { path, error } => write!(
                f,
                "cannot listen on Unix socket {}: {}",
                path.display(),
                os_message(error)
            ),
            BindError::Poll(e) => write!(f, "cannot create the event loop: {}", os_message(e)),
            BindError::Tls(e) => write!(f, "{e}"),
            BindError::Security(e) => write!(f, "{e}"),
            BindError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BindError::Config(e) => Some(e),
            BindError::Tls(e) => Some(e),
            BindError::Security(e) => Some(e),
            BindError::Store(e) => Some(e),
            BindError::Listen { error, .. }
            | BindError::ListenUnix { error, .. }
            | BindError::Poll(error) => Some(error),
        }
    }
}

/// The operating system's text for an error without std's " (os error N)" suffix, so a one-line
/// message reads "Address already in use" as users know it from other servers.
pub(crate) fn os_message(error: &io::Error) -> String {
    let text = error.to_string();
    match (error.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => text[..at].to_string(),
        _ => text,
    }
}

/// What a listener listens on.
#[derive(Debug)]
pub(crate) enum ListenSocket {
    /// `addr` is the address actually bound (port 0 resolved to the port the kernel chose).
    Tcp {
        socket: TcpListener,
        addr: SocketAddr,
    },
    Unix(UnixSocketListener),
}

/// One bound, listening, non-blocking socket, and what the reactor needs to know about it.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) socket: ListenSocket,
    pub(crate) kind: ListenerKind,
    /// The router's name for the listener, whose rules apply to every link accepted here.
    pub(crate) id: ListenerId,
    /// The sockets of one `listener` line (its IPv4 and IPv6 ones) share a group, which
    /// `max_connections` counts over: the position in the bound list of the group's first.
    pub(crate) group: usize,
    /// Connections open at once over the group; `None` is no limit.
    pub(crate) max_connections: Option<u32>,
    /// Set on a `protocol websockets` listener: every connection speaks MQTT over WebSockets.
    #[cfg(feature = "websockets")]
    pub(crate) websocket: Option<Arc<super::websocket::WsSettings>>,
}

/// A connection just accepted.
#[derive(Debug)]
pub(crate) enum Accepted {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl ListenSocket {
    /// Takes one pending connection, with the peer's name for log lines.
    pub(crate) fn accept(&self) -> io::Result<(Accepted, Peer)> {
        match self {
            ListenSocket::Tcp { socket, .. } => {
                let (stream, addr) = socket.accept()?;
                Ok((Accepted::Tcp(stream), Peer::Tcp(addr)))
            }
            ListenSocket::Unix(unix) => {
                let (stream, _unnamed) = unix.socket.accept()?;
                Ok((Accepted::Unix(stream), Peer::Unix(Arc::clone(&unix.path))))
            }
        }
    }

    /// The socket, to register with the poll.
    pub(crate) fn source(&mut self) -> &mut dyn Source {
        match self {
            ListenSocket::Tcp { socket, .. } => socket,
            ListenSocket::Unix(unix) => &mut unix.socket,
        }
    }
}

impl Listener {
    /// The port listened on: the TCP port, 0 for a Unix socket (mosquitto's `listener 0`).
    pub(crate) fn port(&self) -> u16 {
        self.tcp_addr().map_or(0, |addr| addr.port())
    }

    /// What the log line "listening on ADDR" adds for this listener's protocol.
    pub(crate) fn label(&self) -> &'static str {
        #[cfg(feature = "websockets")]
        if self.websocket.is_some() {
            return match self.kind {
                ListenerKind::Plain => " (WebSockets)",
                ListenerKind::Tls => " (WebSockets, TLS)",
            };
        }
        match self.kind {
            ListenerKind::Plain => "",
            ListenerKind::Tls => " (TLS)",
        }
    }

    /// The TCP address listened on; `None` for a Unix socket.
    pub(crate) fn tcp_addr(&self) -> Option<SocketAddr> {
        match &self.socket {
            ListenSocket::Tcp { addr, .. } => Some(*addr),
            ListenSocket::Unix(_) => None,
        }
    }
}

/// Where a listener listens, for log lines.
impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.socket {
            ListenSocket::Tcp { addr, .. } => write!(f, "{addr}"),
            ListenSocket::Unix(unix) => write!(f, "Unix socket {}", unix.path.display()),
        }
    }
}

/// Binds every listener of `config`: the plain TCP ones first, then the TLS ones, then the
/// WebSockets ones (plain, then TLS), each in the configured order (a log reader looking for
/// the first "listening on" finds plain TCP), then the Unix sockets. The TCP ones come first so that the broker's TCP addresses, in order, are
/// the first listeners' addresses.
///
/// Several addresses of one kind asking for port 0 share the port the kernel gave the first of
/// them, so a test or a user asking for "any port" on all interfaces gets one port to connect to
/// (one for plain TCP, another for TLS). An IPv6 wildcard or loopback address whose IPv4
/// counterpart is also wanted (the default pair of every address, or local-only mode's
/// 127.0.0.1 and ::1) is skipped with a warning when the machine has no IPv6, rather than
/// failing the start.
pub(crate) fn bind_all(config: &Config) -> Result<Vec<Listener>, BindError> {
    let mut listeners: Vec<Listener> = Vec::with_capacity(config.listeners.len());
    let (mqtt, ws) = (ListenerProtocol::Mqtt, ListenerProtocol::WebSockets);
    for (kind, protocol) in [
        (ListenerKind::Plain, mqtt),
        (ListenerKind::Tls, mqtt),
        (ListenerKind::Plain, ws),
        (ListenerKind::Tls, ws),
    ] {
        let wanted: Vec<(usize, &ListenerConfig)> = (config.listeners.iter().enumerate())
            .filter(|(_, l)| l.kind == kind && l.options.protocol == protocol)
            .collect();
        let first = listeners.len();
        bind_kind(&wanted, &mut listeners)?;
        if protocol == ws {
            websocket_settings(config, listeners.get_mut(first..).unwrap_or_default())?;
        }
    }
    let first_unix = config.listeners.len();
    for (i, unix) in config.unix_listeners.iter().enumerate() {
        let socket = UnixSocketListener::bind(&unix.path).map_err(|error| {
            let path = unix.path.clone();
            BindError::ListenUnix { path, error }
        })?;
        let group = listeners.len();
        listeners.push(Listener {
            socket: ListenSocket::Unix(socket),
            kind: ListenerKind::Plain,
            id: ListenerId::new(first_unix + i),
            group,
            max_connections: unix.options.max_connections,
            #[cfg(feature = "websockets")]
            websocket: None,
        });
    }
    Ok(listeners)
}

/// The WebSocket settings of freshly bound WebSockets listeners; `http_dir` must exist.
#[cfg(feature = "websockets")]
fn websocket_settings(config: &Config, bound: &mut [Listener]) -> Result<(), BindError> {
    use super::websocket::WsSettings;
    for listener in bound {
        let Some(asked) = config.listeners.get(listener.id.index()) else {
            continue;
        };
        let options = &asked.options;
        let settings = WsSettings::new(
            config.websockets.headers_size,
            options.http_dir.as_ref(),
            options.trust_forwarded_for,
        )
        .map_err(|e| {
            let dir = options.http_dir.clone().unwrap_or_default();
            let message = format!("cannot use {}: {}", dir.display(), os_message(&e));
            BindError::Config(ConfigError::new("http_dir", message))
        })?;
        listener.websocket = Some(Arc::new(settings));
    }
    Ok(())
}

/// Without the `websockets` feature `Config::validate` refuses such listeners first.
#[cfg(not(feature = "websockets"))]
fn websocket_settings(_config: &Config, _bound: &mut [Listener]) -> Result<(), BindError> {
    Ok(())
}

/// Binds the TCP listeners of one kind, given with their positions in `Config::listeners`.
fn bind_kind(
    wanted: &[(usize, &ListenerConfig)],
    listeners: &mut Vec<Listener>,
) -> Result<(), BindError> {
    let mut chosen_port = None;
    // Each bound socket's options, to find the group of the next one.
    let mut bound: Vec<&ListenerOptions> = Vec::new();
    for &(index, asked) in wanted {
        let mut addr = asked.addr;
        if addr.port() == 0
            && let Some(port) = chosen_port
        {
            addr.set_port(port);
        }
        match bind_one(addr, asked.options.bind_interface.as_deref()) {
            Ok((socket, addr)) => {
                if asked.addr.port() == 0 && chosen_port.is_none() {
                    chosen_port = Some(addr.port());
                }
                let first = listeners.len() - bound.len();
                let group = first + same_listener(&bound, &asked.options).unwrap_or(bound.len());
                bound.push(&asked.options);
                listeners.push(Listener {
                    socket: ListenSocket::Tcp { socket, addr },
                    kind: asked.kind,
                    id: ListenerId::new(index),
                    group,
                    max_connections: asked.options.max_connections,
                    #[cfg(feature = "websockets")]
                    websocket: None,
                });
            }
            Err(error) if ipv6_optional(asked.addr, wanted) && ipv6_unavailable(&error) => {
                warn!(
                    "IPv6 is not available ({}); not listening on {addr}",
                    os_message(&error)
                );
            }
            Err(error) => return Err(BindError::Listen { addr, error }),
        }
    }
    Ok(())
}

/// The position among `bound` of a socket of the same `listener` line as `options`: sockets of
/// one line share its origin. Listeners from the command line have none, and each socket is
/// then its own.
fn same_listener(bound: &[&ListenerOptions], options: &ListenerOptions) -> Option<usize> {
    let origin = options.origin.as_ref()?;
    bound
        .iter()
        .position(|other| other.origin.as_ref() == Some(origin))
}

/// An IPv6 wildcard or loopback address is optional when its IPv4 counterpart on the same
/// port is wanted too.
fn ipv6_optional(addr: SocketAddr, wanted: &[(usize, &ListenerConfig)]) -> bool {
    let counterpart = match addr.ip() {
        IpAddr::V6(ip) if ip.is_unspecified() => Ipv4Addr::UNSPECIFIED,
        IpAddr::V6(ip) if ip.is_loopback() => Ipv4Addr::LOCALHOST,
        _ => return false,
    };
    wanted
        .iter()
        .any(|(_, l)| l.addr == SocketAddr::new(IpAddr::V4(counterpart), addr.port()))
}

/// Binds one address with the options every listener gets, and to `interface` when given
/// (SO_BINDTODEVICE: only packets that arrive on that interface reach the socket). Returns the
/// socket and the address actually bound.
fn bind_one(addr: SocketAddr, interface: Option<&str>) -> io::Result<(TcpListener, SocketAddr)> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a restarted broker bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        // Without this, `::` also claims the IPv4 port and binding 0.0.0.0 beside it fails.
        socket.set_only_v6(true)?;
    }
    if let Some(interface) = interface {
        bind_device(&socket, interface)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    let std_listener: std::net::TcpListener = socket.into();
    let addr = std_listener.local_addr()?;
    Ok((TcpListener::from_std(std_listener), addr))
}

#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
fn bind_device(socket: &Socket, interface: &str) -> io::Result<()> {
    socket.bind_device(Some(interface.as_bytes()))
}

/// The configuration reader refuses bind_interface where the option does not exist.
#[cfg(not(any(target_os = "android", target_os = "fuchsia", target_os = "linux")))]
fn bind_device(_socket: &Socket, _interface: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "binding to an interface needs SO_BINDTODEVICE",
    ))
}

/// Errors meaning "this machine has no IPv6", as opposed to "the port is taken".
fn ipv6_unavailable(error: &io::Error) -> bool {
    const EADDRNOTAVAIL: i32 = 99;
    const EAFNOSUPPORT: i32 = 97;
    const EPROTONOSUPPORT: i32 = 93;
    matches!(
        error.kind(),
        io::ErrorKind::AddrNotAvailable | io::ErrorKind::Unsupported
    ) || matches!(
        error.raw_os_error(),
        Some(EADDRNOTAVAIL | EAFNOSUPPORT | EPROTONOSUPPORT)
    )
}

#[cfg(test)]
mod tests;
