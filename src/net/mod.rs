//! The only code touching sockets and TLS: listeners (TCP and Unix domain sockets),
//! connections, the transport under each connection (plain TCP, TLS or a Unix socket, and
//! WebSockets over either TCP one), and the mio reactor that drives the router.

mod bridge;
mod closing;
mod connection;
mod listener;
mod reactor;
mod tls;
mod transport;
mod unix;
#[cfg(feature = "websockets")]
mod websocket;

pub(crate) use bridge::{Outgoing, load_bridges};
pub use listener::BindError;
pub(crate) use listener::{Listener, bind_all};
pub(crate) use reactor::{HOST_TOKEN, MAX_LISTENERS, Reactor, WAKER};
pub use reactor::{ReloadHook, Turn};
pub use tls::TlsError;
pub(crate) use tls::TlsServer;
