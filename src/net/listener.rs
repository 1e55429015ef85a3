//! Listening sockets: created with socket2 so the options are set before `bind`, then handed to
//! mio.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use log::warn;
use mio::net::TcpListener;
use socket2::{Domain, Protocol, Socket, Type};

use super::TlsError;
use crate::config::{Config, ConfigError, ListenerConfig, ListenerKind};

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
    /// The event loop itself could not be created.
    Poll(io::Error),
    /// The TLS certificate or key cannot be used.
    Tls(TlsError),
    /// A password or ACL file cannot be read or parsed.
    Security(crate::auth::LoadError),
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
            BindError::Poll(e) => write!(f, "cannot create the event loop: {}", os_message(e)),
            BindError::Tls(e) => write!(f, "{e}"),
            BindError::Security(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BindError::Config(e) => Some(e),
            BindError::Tls(e) => Some(e),
            BindError::Security(e) => Some(e),
            BindError::Listen { error, .. } | BindError::Poll(error) => Some(error),
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

/// One bound, listening, non-blocking socket.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) socket: TcpListener,
    /// The address actually bound (port 0 resolved to the port the kernel chose).
    pub(crate) addr: SocketAddr,
    pub(crate) kind: ListenerKind,
    /// Its position in `Config::listeners`, which the router's per-listener settings follow.
    pub(crate) config_index: usize,
    /// The address the configuration asked for (port 0 before the kernel chose).
    asked: SocketAddr,
}

/// Binds every address in `config.listeners`: the plain ones first, then the TLS ones, each in
/// the configured order (a log reader looking for the first "listening on" finds plain TCP).
///
/// Several addresses of one kind asking for port 0 share the port the kernel gave the first of
/// them, so a test or a user asking for "any port" on all interfaces gets one port to connect to
/// (one for plain TCP, another for TLS). An IPv6 wildcard or loopback address whose IPv4
/// counterpart is also wanted (the default pair of every address, or local-only mode's
/// 127.0.0.1 and ::1) is skipped with a warning when the machine has no IPv6, rather than
/// failing the start.
pub(crate) fn bind_all(config: &Config) -> Result<Vec<Listener>, BindError> {
    let mut listeners: Vec<Listener> = Vec::with_capacity(config.listeners.len());
    for kind in [ListenerKind::Plain, ListenerKind::Tls] {
        let wanted: Vec<&ListenerConfig> =
            config.listeners.iter().filter(|l| l.kind == kind).collect();
        let first = listeners.len();
        bind_kind(&wanted, &mut listeners)?;
        for listener in listeners.iter_mut().skip(first) {
            listener.config_index = config
                .listeners
                .iter()
                .position(|l| l.kind == kind && l.addr == listener.asked)
                .unwrap_or(0);
        }
    }
    Ok(listeners)
}

fn bind_kind(wanted: &[&ListenerConfig], listeners: &mut Vec<Listener>) -> Result<(), BindError> {
    let mut chosen_port = None;
    for &asked in wanted {
        let mut addr = asked.addr;
        if addr.port() == 0
            && let Some(port) = chosen_port
        {
            addr.set_port(port);
        }
        match bind_one(addr, asked.kind, asked.options.bind_interface.as_deref()) {
            Ok(listener) => {
                if asked.addr.port() == 0 && chosen_port.is_none() {
                    chosen_port = Some(listener.addr.port());
                }
                listeners.push(Listener {
                    asked: asked.addr,
                    ..listener
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

/// An IPv6 wildcard or loopback address is optional when its IPv4 counterpart on the same
/// port is wanted too.
fn ipv6_optional(addr: SocketAddr, wanted: &[&ListenerConfig]) -> bool {
    let counterpart = match addr.ip() {
        IpAddr::V6(ip) if ip.is_unspecified() => Ipv4Addr::UNSPECIFIED,
        IpAddr::V6(ip) if ip.is_loopback() => Ipv4Addr::LOCALHOST,
        _ => return false,
    };
    wanted
        .iter()
        .any(|l| l.addr == SocketAddr::new(IpAddr::V4(counterpart), addr.port()))
}

/// Binds one address with the options every listener gets, and to `interface` when given
/// (SO_BINDTODEVICE: only packets that arrive on that interface reach the socket).
pub(crate) fn bind_one(
    addr: SocketAddr,
    kind: ListenerKind,
    interface: Option<&str>,
) -> io::Result<Listener> {
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
    Ok(Listener {
        socket: TcpListener::from_std(std_listener),
        addr,
        kind,
        config_index: 0,
        asked: addr,
    })
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
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn config_with(listeners: Vec<SocketAddr>) -> Config {
        Config {
            listeners: listeners.into_iter().map(ListenerConfig::plain).collect(),
            ..Config::default()
        }
    }

    fn ipv6_loopback_works() -> bool {
        std::net::TcpListener::bind("[::1]:0").is_ok()
    }

    #[test]
    fn port_zero_on_two_addresses_shares_one_port() {
        let mut wanted = vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)];
        if ipv6_loopback_works() {
            wanted.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0));
        }
        let listeners = bind_all(&config_with(wanted.clone())).expect("bind");
        assert_eq!(listeners.len(), wanted.len());
        let port = listeners[0].addr.port();
        assert_ne!(port, 0);
        for (listener, asked) in listeners.iter().zip(&wanted) {
            assert_eq!(listener.addr.ip(), asked.ip());
            assert_eq!(listener.addr.port(), port);
        }
    }

    #[test]
    fn ipv4_and_ipv6_wildcards_bind_on_one_port() {
        if !ipv6_loopback_works() {
            return;
        }
        let listeners = bind_all(&config_with(Config::all_addresses(0))).expect("bind");
        assert_eq!(listeners.len(), 2);
        assert_eq!(listeners[0].addr.port(), listeners[1].addr.port());
    }

    #[test]
    fn port_in_use_names_the_address() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr");
        let error = bind_all(&config_with(vec![addr])).expect_err("port is taken");
        assert_eq!(
            error.to_string(),
            format!("cannot listen on {addr}: Address already in use")
        );
    }

    #[test]
    fn unusable_address_is_an_error() {
        // TEST-NET-1 is never assigned to a local interface.
        let addr: SocketAddr = "192.0.2.1:0".parse().expect("addr");
        let error = bind_all(&config_with(vec![addr])).expect_err("not local");
        assert!(
            error
                .to_string()
                .starts_with("cannot listen on 192.0.2.1:0: "),
            "{error}"
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn bind_interface_ties_the_socket_to_an_interface() {
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let mut config = config_with(vec![addr]);
        config.listeners[0].options.bind_interface = Some("lo".into());
        let listeners = bind_all(&config).expect("bind to lo");
        std::net::TcpStream::connect(listeners[0].addr).expect("connect over lo");
        config.listeners[0].options.bind_interface = Some("nosuchif0".into());
        let error = bind_all(&config).expect_err("no such interface");
        assert!(
            error
                .to_string()
                .starts_with("cannot listen on 127.0.0.1:0: "),
            "{error}"
        );
    }

    #[test]
    fn ipv6_wildcard_and_loopback_are_optional_beside_their_ipv4_counterpart() {
        let configs: Vec<ListenerConfig> = [
            "0.0.0.0:1883",
            "[::]:1883",
            "127.0.0.1:1884",
            "[::1]:1884",
            "[::1]:1885",
        ]
        .iter()
        .map(|a| ListenerConfig::plain(a.parse().expect("addr")))
        .collect();
        let wanted: Vec<&ListenerConfig> = configs.iter().collect();
        let optional = |a: &str| ipv6_optional(a.parse().expect("addr"), &wanted);
        assert!(optional("[::]:1883"));
        assert!(optional("[::1]:1884"));
        // Alone on its port, or not a wildcard or loopback: a failure is a failure.
        assert!(!optional("[::1]:1885"));
        assert!(!optional("[::]:1884"));
        assert!(!optional("127.0.0.1:1884"));
        assert!(!optional("[fe80::1]:1883"));
    }

    #[test]
    fn os_message_drops_the_error_number() {
        let error = io::Error::from_raw_os_error(98);
        assert_eq!(os_message(&error), "Address already in use");
        let plain = io::Error::other("custom");
        assert_eq!(os_message(&plain), "custom");
    }
}
