//! Broker configuration: plain data, the defaults a user gets from `minibroker` with no options,
//! and validation. The command line and the mosquitto.conf reader ([`crate::conf`]) only fill
//! this struct in.

mod bridge;
mod listener;
mod security;
mod service;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub use bridge::{
    Bridge, BridgeAddress, BridgeDirection, BridgeProtocol, BridgeTls, BridgeTopic, RestartTimeout,
    Secret, StartType,
};
pub use listener::{
    ListenerOptions, ListenerProtocol, PendingAddress, SocketDomain, TlsFiles, TlsVersion,
    UnixListenerConfig,
};
pub use security::SecurityOptions;
pub use service::{
    LogDestinations, LogTypes, Logging, Persistence, Process, SyncPolicy, WebSocketsTuning,
};

/// What to do with a message for a client whose queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueFullPolicy {
    /// Drop the new message, as mosquitto does; a QoS 1/2 message first evicts the oldest queued
    /// QoS 0 message, because QoS 0 carries no delivery promise.
    #[default]
    DropNew,
    /// Drop the oldest queued message to make room for the new one (freshest data wins, which
    /// suits sensor readings).
    DropOldest,
}

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListenerKind {
    /// MQTT over plain TCP (port 1883 by convention).
    #[default]
    Plain,
    /// MQTT over TLS (port 8883 by convention), with the certificate in [`Config::tls`].
    Tls,
}

/// One address to listen on, what it speaks there, and the settings of the listener it
/// belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Where to listen; port 0 lets the system choose (see `Broker::local_addrs`).
    pub addr: SocketAddr,
    /// Plain MQTT or MQTT over TLS.
    pub kind: ListenerKind,
    /// The listener's own settings (mosquitto's per-listener options).
    pub options: ListenerOptions,
}

impl ListenerConfig {
    /// A plain MQTT listener with the default options.
    pub fn plain(addr: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            addr,
            kind: ListenerKind::Plain,
            options: ListenerOptions::default(),
        }
    }

    /// An MQTT-over-TLS listener with the default options; it uses [`Config::tls`].
    pub fn tls(addr: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            addr,
            kind: ListenerKind::Tls,
            options: ListenerOptions::default(),
        }
    }
}

/// Where a setting was read: a configuration file and a line in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file, as it was named.
    pub file: PathBuf,
    /// The line, counted from 1.
    pub line: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A bare address is a plain TCP listener.
impl From<SocketAddr> for ListenerConfig {
    fn from(addr: SocketAddr) -> ListenerConfig {
        ListenerConfig::plain(addr)
    }
}

/// `"127.0.0.1:1883".parse()` is a plain TCP listener, so configurations written before TLS
/// existed keep compiling.
impl std::str::FromStr for ListenerConfig {
    type Err = std::net::AddrParseError;

    fn from_str(text: &str) -> Result<ListenerConfig, Self::Err> {
        text.parse().map(ListenerConfig::plain)
    }
}

/// Where the TLS listeners' certificate and private key come from. The files are read when the
/// broker starts and again on every reload (SIGHUP), so a renewed certificate needs no restart.
#[derive(Clone, PartialEq, Eq)]
pub enum TlsIdentity {
    /// A PEM certificate chain (the server's certificate first) and a PEM PKCS#8 private key
    /// (`-----BEGIN PRIVATE KEY-----`).
    Pem {
        /// The certificate chain file.
        cert: PathBuf,
        /// The private key file.
        key: PathBuf,
    },
    /// A PKCS#12 bundle holding the key and the chain, and its password (empty for none).
    Pkcs12 {
        /// The bundle file.
        file: PathBuf,
        /// Its password.
        password: String,
    },
}

/// The password stays out of logs and panic messages.
impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsIdentity::Pem { cert, key } => f
                .debug_struct("Pem")
                .field("cert", cert)
                .field("key", key)
                .finish(),
            TlsIdentity::Pkcs12 { file, .. } => f
                .debug_struct("Pkcs12")
                .field("file", file)
                .field("password", &"<hidden>")
                .finish(),
        }
    }
}

/// Everything the broker can be told. `Config::default()` equals the command-line defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Addresses to listen on, plain TCP or TLS, speaking MQTT or MQTT over WebSockets
    /// ([`ListenerOptions::protocol`]). A bare `SocketAddr` converts into a plain MQTT one.
    pub listeners: Vec<ListenerConfig>,
    /// The certificate the TLS listeners present; needed when there is one.
    pub tls: Option<TlsIdentity>,
    /// Largest packet accepted from a client, in bytes of the whole packet (fixed header
    /// included). Checked on the fixed header, before the body is buffered.
    pub max_packet_size: u32,
    /// QoS 1 and 2 messages in flight to one client at once (sent, not yet acknowledged).
    pub max_inflight_messages: u16,
    /// Messages queued for one client behind its in-flight window, online or offline.
    pub max_queued_messages: usize,
    /// Payload bytes queued for one client behind its in-flight window; 0 means no byte limit.
    pub max_queued_bytes: usize,
    /// What a full queue does with one more message.
    pub queue_full_policy: QueueFullPolicy,
    /// How long a new socket may take to send a complete CONNECT. On a TLS listener this time
    /// includes the TLS handshake.
    pub connect_timeout: Duration,
    /// Upper bound on the keepalive a client may ask for, in seconds; 0 means none.
    pub max_keepalive: u16,
    /// Allow clients to connect without a user name (there is no authentication yet). Each
    /// listener has its own resolved value in [`ListenerOptions::allow_anonymous`].
    pub allow_anonymous: bool,
    /// Queue QoS 0 messages for offline persistent sessions (mosquitto's queue_qos0_messages).
    pub queue_qos0_offline: bool,
    /// Topic aliases an MQTT 5 client may set up on one connection (announced in CONNACK),
    /// where its listener sets no `max_topic_alias` of its own; 0 disables inbound aliases.
    /// Each costs one stored topic per connection.
    pub topic_alias_maximum: u16,
    /// Retained messages accepted. With `false` a PUBLISH or a will with RETAIN set ends the
    /// connection, and MQTT 5 clients are told so in CONNACK (Retain Available 0).
    pub retain_available: bool,
    /// Largest PUBLISH payload accepted, in bytes; 0 = no limit. A larger message is dropped,
    /// its QoS flow still completed (MQTT 5 acknowledgements say 0x95, packet too large); a
    /// larger will refuses the CONNECT.
    pub message_size_limit: u32,
    /// Payload bytes in flight to one client at once; 0 = no limit. Checked before a message
    /// is sent, so one message larger than the limit still goes when nothing else is in flight.
    pub max_inflight_bytes: usize,
    /// Deliver at the subscription's granted QoS even when the message's is lower.
    pub upgrade_outgoing_qos: bool,
    /// An MQTT 3.x client with several subscriptions matching a topic gets one copy per
    /// subscription; `false` (mosquitto's default) delivers once, at the highest QoS. MQTT 5
    /// clients always get one copy carrying every matching subscription identifier.
    pub allow_duplicate_messages: bool,
    /// A retained message is sent to a new subscriber only while the client that published it
    /// may still publish to its topic by the ACL file in force (mosquitto's option; see
    /// `router::retain_source`). Turned on, it records each retained message's publisher.
    pub check_retain_source: bool,
    /// Upper bound on how long an offline persistent session is kept: a 3.x session with clean
    /// session 0 (which never expires otherwise) or an MQTT 5 session with a longer expiry
    /// interval ends after this long offline.
    pub persistent_client_expiration: Option<Duration>,
    /// Seconds between `$SYS` updates; 0 = no `$SYS` tree.
    pub sys_interval: u16,
    /// Connections open at once over every listener (`max_connections_total`, a minibroker
    /// option); `None`: no limit but each listener's `max_connections`.
    pub max_connections_total: Option<u32>,
    /// A connected subscriber whose queue has been dropping messages (full) for this long,
    /// without taking any, is disconnected (`slow_consumer_timeout`, a minibroker option;
    /// MQTT 5 clients get DISCONNECT 0x97). `None`: never.
    pub slow_consumer_timeout: Option<Duration>,
    /// The memory budget over what grows with clients, in bytes (`memory_limit`); 0 = none.
    /// See `router::memory` for what is counted and what happens near it.
    pub memory_limit: usize,
    /// The PUBLISH packets each network client may send a second, with their burst
    /// (`publish_rate_limit`, a minibroker option); a client over it is not read for a while.
    pub publish_rate: Option<crate::router::RateLimit>,
    /// The same for payload bytes (`publish_byte_rate_limit`).
    pub publish_byte_rate: Option<crate::router::RateLimit>,
    /// Client id prefixes that may connect; `None` = any (deprecated in mosquitto). Not applied
    /// yet.
    pub clientid_prefixes: Option<String>,
    /// The security options apply per listener (their copy is in [`ListenerOptions`]).
    pub per_listener_settings: bool,
    /// The global security options.
    pub security: SecurityOptions,
    /// The store that keeps retained messages and sessions across restarts.
    pub persistence: Persistence,
    /// Where and what the broker logs.
    pub logging: Logging,
    /// Running as a service: daemon, user, pid file.
    pub process: Process,
    /// Settings of the WebSocket listeners.
    pub websockets: WebSocketsTuning,
    /// Bridges to other brokers (see [`crate::bridge`]).
    pub bridges: Vec<Bridge>,
    /// Unix domain socket listeners (plain MQTT), beside the TCP ones in `listeners`.
    pub unix_listeners: Vec<UnixListenerConfig>,
}

/// Mosquitto's default port for plain MQTT.
pub const DEFAULT_PORT: u16 = 1883;

/// The IANA port for MQTT over TLS.
pub const DEFAULT_TLS_PORT: u16 = 8883;

/// The largest remaining length the variable byte integer can express.
pub const MAX_REMAINING_LENGTH: u32 = 268_435_455;

impl Default for Config {
    fn default() -> Self {
        Config {
            listeners: Config::all_addresses(DEFAULT_PORT)
                .into_iter()
                .map(ListenerConfig::plain)
                .collect(),
            tls: None,
            max_packet_size: MAX_REMAINING_LENGTH,
            max_inflight_messages: 20,
            max_queued_messages: 1000,
            max_queued_bytes: 0,
            queue_full_policy: QueueFullPolicy::DropNew,
            connect_timeout: Duration::from_secs(10),
            max_keepalive: 0,
            allow_anonymous: true,
            queue_qos0_offline: false,
            topic_alias_maximum: 10,
            retain_available: true,
            message_size_limit: 0,
            max_inflight_bytes: 0,
            upgrade_outgoing_qos: false,
            allow_duplicate_messages: false,
            check_retain_source: false,
            persistent_client_expiration: None,
            sys_interval: 10,
            max_connections_total: None,
            slow_consumer_timeout: None,
            memory_limit: 0,
            publish_rate: None,
            publish_byte_rate: None,
            clientid_prefixes: None,
            per_listener_settings: false,
            security: SecurityOptions::default(),
            persistence: Persistence::default(),
            logging: Logging::default(),
            process: Process::default(),
            websockets: WebSocketsTuning::default(),
            bridges: Vec::new(),
            unix_listeners: Vec::new(),
        }
    }
}

impl Config {
    /// Every IPv4 and IPv6 address on `port`: what `-p PORT` without `-b` listens on.
    pub fn all_addresses(port: u16) -> Vec<SocketAddr> {
        vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        ]
    }

    /// The options of every listener, TCP ones first, then the Unix socket ones. A link's
    /// listener is named by its position here, which is how the router finds the rules of
    /// the listener a connection came in on.
    pub fn listener_options(&self) -> impl Iterator<Item = &ListenerOptions> {
        let tcp = self.listeners.iter().map(|l| &l.options);
        tcp.chain(self.unix_listeners.iter().map(|l| &l.options))
    }

    /// Checks the values that would make the broker misbehave rather than fail to start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tls.is_none() && self.listeners.iter().any(|l| l.kind == ListenerKind::Tls) {
            return Err(ConfigError::new(
                "tls",
                "a TLS listener needs a certificate and key",
            ));
        }
        #[cfg(not(feature = "tls"))]
        if self.listeners.iter().any(|l| l.kind == ListenerKind::Tls) {
            return Err(ConfigError::new(
                "tls",
                "this minibroker was built without TLS support (the `tls` feature)",
            ));
        }
        #[cfg(not(feature = "websockets"))]
        if (self.listeners.iter()).any(|l| l.options.protocol == ListenerProtocol::WebSockets) {
            return Err(ConfigError::new(
                "protocol",
                "this minibroker was built without WebSockets support (the `websockets` feature)",
            ));
        }
        if self.max_packet_size < 2 || self.max_packet_size > MAX_REMAINING_LENGTH + 5 {
            return Err(ConfigError::new(
                "max_packet_size",
                "must be between 2 and 268435460 bytes",
            ));
        }
        if self.max_inflight_messages == 0 {
            return Err(ConfigError::new(
                "max_inflight_messages",
                "must be at least 1",
            ));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::new("connect_timeout", "must be above zero"));
        }
        for bridge in &self.bridges {
            bridge
                .check_tls()
                .map_err(|message| ConfigError::new("bridges", message))?;
        }
        Ok(())
    }
}

/// A configuration value that cannot be used, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting, by its name in `Config`.
    pub setting: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// The error for `setting`.
    pub fn new(setting: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            setting,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

impl std::error::Error for ConfigError {}
