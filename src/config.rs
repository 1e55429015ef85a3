//! Broker configuration: plain data, the defaults a user gets from `minibroker` with no options,
//! and validation. The command line (and later a config file) only fill this struct in.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

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

/// Everything the broker can be told. `Config::default()` equals the command-line defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Addresses to listen on for plain TCP.
    pub listeners: Vec<SocketAddr>,
    /// Largest packet accepted from a client, in bytes of the whole packet (fixed header
    /// included). Checked on the fixed header, before the body is buffered.
    pub max_packet_size: u32,
    /// QoS 1 and 2 messages in flight to one client at once (sent, not yet acknowledged).
    pub max_inflight_messages: u16,
    /// Messages queued for one client behind its in-flight window, online or offline.
    pub max_queued_messages: usize,
    /// Payload bytes queued for one client behind its in-flight window; 0 means no byte limit.
    pub max_queued_bytes: usize,
    pub queue_full_policy: QueueFullPolicy,
    /// How long a new socket may take to send a complete CONNECT.
    pub connect_timeout: Duration,
    /// Upper bound on the keepalive a client may ask for, in seconds; 0 means none.
    pub max_keepalive: u16,
    /// Allow clients to connect without a user name (there is no authentication yet).
    pub allow_anonymous: bool,
    /// Queue QoS 0 messages for offline persistent sessions (mosquitto's queue_qos0_messages).
    pub queue_qos0_offline: bool,
    /// Topic aliases an MQTT 5 client may set up on one connection (announced in CONNACK);
    /// 0 disables inbound aliases. Each costs one stored topic per connection.
    pub topic_alias_maximum: u16,
}

/// Mosquitto's default port for plain MQTT.
pub const DEFAULT_PORT: u16 = 1883;

/// The largest remaining length the variable byte integer can express.
pub const MAX_REMAINING_LENGTH: u32 = 268_435_455;

impl Default for Config {
    fn default() -> Self {
        Config {
            listeners: Config::all_addresses(DEFAULT_PORT),
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

    /// Checks the values that would make the broker misbehave rather than fail to start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listeners.is_empty() {
            return Err(ConfigError::new(
                "listeners",
                "at least one listener is needed",
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
        Ok(())
    }
}

/// A configuration value that cannot be used, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

impl ConfigError {
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
