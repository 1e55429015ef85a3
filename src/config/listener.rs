//! What one listener is told besides its address: the per-listener settings of a mosquitto.conf
//! `listener` section.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{Origin, SecurityOptions};

/// Which address family a listener without a bind address opens sockets for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketDomain {
    Ipv4,
    Ipv6,
}

/// What a listener speaks on top of TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListenerProtocol {
    #[default]
    Mqtt,
    /// MQTT over WebSockets (RFC 6455), plain or over TLS (`ws://` and `wss://`).
    WebSockets,
}

/// The oldest TLS version a listener accepts (mosquitto's `tls_version`, a minimum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    Tls11,
    Tls12,
    Tls13,
}

/// The TLS files a listener names. Every TLS listener presents [`super::Config::tls`]; these
/// are kept per listener as written, for the day listeners get certificates of their own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsFiles {
    pub cafile: Option<PathBuf>,
    pub capath: Option<PathBuf>,
    pub certfile: Option<PathBuf>,
    pub keyfile: Option<PathBuf>,
    pub crlfile: Option<PathBuf>,
    pub min_version: Option<TlsVersion>,
}

/// Per-listener settings. Sockets opened for one `listener` line (the IPv4 and the IPv6 socket
/// of a listener without a bind address) carry equal options with the same [`origin`], which
/// is how limits that count over a whole listener, such as `max_connections`, find its sockets.
///
/// [`origin`]: ListenerOptions::origin
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerOptions {
    /// The `listener` line (or, for mosquitto's default listener, the first option that
    /// created it); `None` for listeners from the command line or local-only mode.
    pub origin: Option<Origin>,
    /// Bound to this network interface (SO_BINDTODEVICE), Linux only.
    pub bind_interface: Option<String>,
    /// Only this address family, when the listener has no bind address of its own.
    pub socket_domain: Option<SocketDomain>,
    /// Connections open at once on this listener, over all its sockets; `None` is no limit.
    /// One more is closed as soon as it is accepted.
    pub max_connections: Option<u32>,
    /// Highest QoS this listener's clients may publish with and are granted (0 to 2): MQTT 5
    /// clients learn it from CONNACK, and a PUBLISH or will above it ends the connection.
    pub max_qos: u8,
    /// Topic aliases an MQTT 5 client of this listener may set up (`max_topic_alias`);
    /// `None` takes [`super::Config::topic_alias_maximum`].
    pub max_topic_alias: Option<u16>,
    /// Prefix added to every topic this listener's clients publish to or subscribe to, and
    /// removed from what they receive: they see only the topics under it.
    pub mount_point: Option<String>,
    /// Use the CONNECT user name as the client id (a client without one is refused).
    pub use_username_as_clientid: bool,
    pub protocol: ListenerProtocol,
    /// Files served to plain HTTP GET requests on a WebSockets listener, confined to this
    /// folder; without it such requests get `426 Upgrade Required`.
    pub http_dir: Option<PathBuf>,
    /// On a WebSockets listener behind a reverse proxy: take the client's address for log
    /// lines (and failed-login counting) from the last X-Forwarded-For entry, the one the proxy
    /// added. Off by default, since a client reaching the listener directly could claim any
    /// address.
    pub trust_forwarded_for: bool,
    pub tls: TlsFiles,
    /// Whether clients without a user name may connect here, resolved as mosquitto 2.0.12+
    /// does (local-only mode forces it on; unset means false once a listener is configured).
    pub allow_anonymous: bool,
    /// The security settings in force on this listener: its own with
    /// `per_listener_settings true`, otherwise a copy of [`super::Config::security`].
    pub security: SecurityOptions,
}

impl Default for ListenerOptions {
    /// What a command-line listener gets: no limits of its own, anonymous clients allowed.
    fn default() -> ListenerOptions {
        ListenerOptions {
            origin: None,
            bind_interface: None,
            socket_domain: None,
            max_connections: None,
            max_qos: 2,
            max_topic_alias: None,
            mount_point: None,
            use_username_as_clientid: false,
            protocol: ListenerProtocol::Mqtt,
            http_dir: None,
            trust_forwarded_for: false,
            tls: TlsFiles::default(),
            allow_anonymous: true,
            security: SecurityOptions::default(),
        }
    }
}

/// A Unix domain socket to listen on (`listener 0 PATH`), speaking plain MQTT. The socket file
/// is created when the broker binds and removed when it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixListenerConfig {
    pub path: PathBuf,
    pub options: ListenerOptions,
}

/// Where a listener section listens: TCP addresses, or a Unix domain socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingAddress {
    /// TCP addresses.
    Sockets(Vec<SocketAddr>),
    /// A Unix domain socket (`listener 0 PATH`).
    Unix(PathBuf),
}
