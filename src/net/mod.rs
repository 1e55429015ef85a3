//! The only code touching sockets and TLS: listeners, connections, the transport under each
//! connection (plain TCP or TLS), and the mio reactor that drives the router.

mod closing;
mod connection;
mod listener;
mod reactor;
mod tls;
mod transport;

pub use listener::BindError;
pub(crate) use listener::{Listener, bind_all};
pub use reactor::ReloadHook;
pub(crate) use reactor::{MAX_LISTENERS, Reactor, WAKER};
pub use tls::TlsError;
pub(crate) use tls::TlsServer;
