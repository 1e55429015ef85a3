//! minibroker: a small, fast, embeddable MQTT broker on a single-threaded mio event loop.
//!
//! # Module map
//! - [`protocol`]: the MQTT 3.1, 3.1.1 and 5.0 wire format, pure and fuzzable.
//! - [`topic`]: topic names, precompiled topic filters, matching, and filter intersection.
//! - [`auth`]: mosquitto password files and ACL files, parsed, and the checks made with them;
//!   pure (the files come in as bytes), plus the `minibroker passwd` tool.
//! - [`router`]: the broker's state and rules without I/O: sessions, subscriptions, retained
//!   messages, outbound queues, timers.
//! - [`bridge`]: bridges to other brokers (`connection` sections) as state machines without
//!   I/O: topic mapping, QoS flows on both sides, reconnect backoff, loop prevention.
//! - `net`: the only code touching sockets and TLS: the mio reactor, listeners (TCP and Unix
//!   domain sockets), connections and the transport under each (plain TCP, TLS or a Unix
//!   socket).
//! - [`ws`]: MQTT over WebSockets without I/O: the upgrade handshake, the framing and the
//!   `http_dir` file mapping (the `websockets` feature); the transport under a WebSocket
//!   connection lives in `net`.
//! - [`config`]: plain configuration data with defaults and validation.
//! - [`conf`]: the mosquitto.conf reader, pure, producing a [`Config`]; errors carry the file
//!   and line.
//! - [`broker`]: the embedding façade: bind, then run on this thread, on a background thread,
//!   or turn by turn in the host program's own loop ([`BrokerLoop`]).
//! - [`embed`]: the host program's side of an embedded broker: [`BrokerBuilder`] with the
//!   hooks, [`BrokerHandle`] to publish, subscribe, read statistics, reload and stop, from any
//!   thread, and the loop's in-process client that serves it.
//! - [`cli`]: the command line's options, parsed into a [`Config`] (used by the `minibroker`
//!   binary).
//!
//! # Data flow
//! The reactor accepts a socket, keeps it in a slab and reads into the connection's buffer; it
//! opens a router link naming the listener the socket came in on, whose rules (maximum QoS,
//! mount point) the router applies, and hands the bytes to the router, which decodes every
//! complete packet, applies the protocol, matches PUBLISH topics against the subscription table
//! and encodes deliveries into each receiving link's output buffer. After every batch of events
//! the reactor writes each link's output once, and registers for writability only while output
//! remains. Under each connection sits a transport, plain TCP, TLS or a Unix socket: on a TLS
//! listener it runs the handshake and decrypts before the router sees a byte, and neither the
//! reactor nor the router can tell the difference.
//!
//! # Stability
//! The embedding API is [`Broker`], [`BrokerBuilder`], [`BrokerHandle`], [`BrokerLoop`],
//! [`RunOptions`], the [`embed`] module (with the protocol types it names, re-exported there:
//! `QoS`, `ReasonCode`, `Properties`, `RetainHandling`, and `Stats`), the hook types in
//! [`router::hooks`], [`Config`] and [`conf::read_file`]: kept compatible within a minor
//! version, though fields, variants and methods may be added. The other public modules are public for the tests, the fuzz targets and the
//! benchmarks, and may change.
#![forbid(unsafe_code)]

pub mod auth;
pub mod bridge;
pub mod broker;
pub mod cli;
pub mod conf;
pub mod config;
pub mod disk;
pub mod embed;
#[doc(hidden)]
pub mod fuzzing;
pub mod logging;
mod net;
pub mod protocol;
pub mod router;
pub mod service;
pub mod store;
pub mod topic;
#[cfg(feature = "websockets")]
pub mod ws;

pub use broker::{BindError, Broker, BrokerLoop, LoopState, RunOptions, TlsError};
pub use config::{Config, ListenerConfig, ListenerKind, TlsIdentity};
pub use embed::{BrokerBuilder, BrokerHandle};

/// The README's examples compile (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
