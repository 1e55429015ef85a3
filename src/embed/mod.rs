//! Embedding: the host program publishes, subscribes and decides, in-process, without a
//! socket.
//!
//! - [`BrokerBuilder`] makes a broker with the host's hooks
//!   ([`crate::router::hooks`]): who may connect, publish, subscribe and receive.
//! - [`BrokerHandle`], from [`Broker::spawn`](crate::Broker::spawn),
//!   [`Broker::handle`](crate::Broker::handle) or [`BrokerLoop::handle`](crate::BrokerLoop::handle):
//!   publish, subscribe, statistics, reload and stop, from any thread.
//! - [`Subscription`]: the messages of one topic filter, acknowledged as the host takes them.
//!
//! Requests travel to the loop through one bounded queue and wake it through its `mio::Waker`;
//! deliveries travel back through each subscription's bounded queue. The loop never waits for
//! the host: a full request queue makes `publish` wait (or `try_publish` fail) on the host's
//! side, and a full subscription leaves its messages with the broker, which treats it as a
//! slow client.
#![deny(missing_docs)]

mod builder;
mod command;
mod handle;
mod host;
mod host_subscription;
mod joiner;
mod link;
mod message;
mod publisher;
mod queue;
mod receipt;
mod subscription;

pub use crate::protocol::{Properties, QoS, ReasonCode, RetainHandling};
pub use crate::router::hooks::{ClientInfo, ConnectRequest, Event, Verdict};
pub use crate::router::{MemoryPressure, Stats};
pub use builder::BrokerBuilder;
pub(crate) use command::Command;
pub(crate) use handle::Shared;
pub use handle::{BrokerHandle, DEFAULT_COMMAND_CAPACITY, HandleError};
pub(crate) use host::{Host, LoopRequest};
pub use message::{DEFAULT_CAPACITY, Publication, Received, SubscribeOptions};
pub use queue::Ended;
pub use receipt::PublishReceipt;
pub use subscription::Subscription;
