//! The only code touching sockets: listeners, connections and the mio reactor that drives the
//! router.

mod connection;
mod listener;
mod reactor;

pub use listener::BindError;
pub(crate) use listener::{Listener, bind_all};
pub(crate) use reactor::{MAX_LISTENERS, Reactor, WAKER};
