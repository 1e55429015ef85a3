//! Setting bridges up: their TLS connectors at startup, and the sockets of each attempt.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Instant;

use mio::net::TcpStream;
use socket2::{Domain, Protocol, Socket, Type};

use super::Outgoing;
use crate::bridge::Bridge;
use crate::config::{BridgeAddress, Config, ConfigError};
use crate::net::BindError;
use crate::net::reactor::{FIRST_BRIDGE, MAX_BRIDGES};

/// The socket addresses of a bridge address (the system resolver; see the module docs).
pub(super) fn resolve(address: &BridgeAddress) -> Result<Vec<SocketAddr>, String> {
    let found: Vec<SocketAddr> = (address.host.as_str(), address.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", address.host))?
        .collect();
    if found.is_empty() {
        return Err(format!("{} has no address", address.host));
    }
    Ok(found)
}

/// Starts a non-blocking connect to `target`, from `bind` if given.
pub(super) fn connect_to(target: SocketAddr, bind: Option<&str>) -> Result<TcpStream, String> {
    let socket = Socket::new(
        Domain::for_address(target),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(|e| e.to_string())?;
    socket.set_nonblocking(true).map_err(|e| e.to_string())?;
    socket.set_tcp_nodelay(true).map_err(|e| e.to_string())?;
    if let Some(bind) = bind {
        let local: SocketAddr = (bind, 0)
            .to_socket_addrs()
            .map_err(|e| format!("bridge_bind_address {bind}: {e}"))?
            .next()
            .ok_or_else(|| format!("bridge_bind_address {bind} has no address"))?;
        socket
            .bind(&local.into())
            .map_err(|e| format!("bridge_bind_address {bind}: {e}"))?;
    }
    match socket.connect(&target.into()) {
        Ok(()) => {}
        Err(e)
            if e.raw_os_error() == Some(libc_einprogress())
                || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e.to_string()),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// EINPROGRESS, which a non-blocking connect returns while the handshake goes on.
fn libc_einprogress() -> i32 {
    nix::errno::Errno::EINPROGRESS as i32
}

/// The bridges of `config`, with their TLS connectors built (a bad CA, certificate or key
/// file is an error naming it). The default remote client id uses the host's name.
pub(crate) fn load_bridges(config: &Config, now: Instant) -> Result<Vec<Outgoing>, BindError> {
    let refuse = |message: String| BindError::Config(ConfigError::new("bridges", message));
    if config.bridges.len() > MAX_BRIDGES {
        return Err(refuse(format!("at most {MAX_BRIDGES} bridges")));
    }
    let hostname = nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned());
    let mut list = Vec::new();
    for (i, settings) in config.bridges.iter().enumerate() {
        let token = FIRST_BRIDGE + i;
        let Some(core) = Bridge::new(settings, &hostname, token, now) else {
            let name = &settings.name;
            return Err(refuse(format!(
                "bridge {name}: a topic line is not a valid filter"
            )));
        };
        #[cfg(feature = "tls")]
        {
            let tls = crate::net::tls::client::connector(&settings.tls).map_err(BindError::Tls)?;
            list.push(Outgoing::new(core, tls));
        }
        #[cfg(not(feature = "tls"))]
        list.push(Outgoing::new(core));
    }
    Ok(list)
}
