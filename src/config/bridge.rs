//! Bridges to other brokers, as a mosquitto.conf `connection` section describes them, for
//! [`crate::bridge`]. Defaults are mosquitto's.

use std::fmt;

use super::Origin;

/// A password, kept out of logs and panic messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

/// One remote broker address of a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeAddress {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeDirection {
    Out,
    In,
    Both,
}

/// `topic PATTERN [[[out|in|both] QOS] LOCAL_PREFIX REMOTE_PREFIX]`; a prefix of `""` is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeTopic {
    /// The pattern; empty for `""`, which maps the local prefix to the remote one.
    pub pattern: String,
    pub direction: BridgeDirection,
    pub qos: u8,
    pub local_prefix: Option<String>,
    pub remote_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeProtocol {
    V31,
    V311,
    V5,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartType {
    Automatic,
    /// Connect once `threshold` messages are queued; disconnect after `idle_timeout`.
    Lazy,
    Once,
}

/// The delay before reconnecting a bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartTimeout {
    /// Random backoff between `base` and `cap` seconds (`restart_timeout BASE CAP`).
    Backoff { base: u32, cap: u32 },
    /// A constant delay in seconds (`restart_timeout N`, as mosquitto 2.0.15+ reads it).
    Constant(u32),
}

/// TLS towards the remote broker; any CA file or path turns it on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BridgeTls {
    pub cafile: Option<String>,
    pub capath: Option<String>,
    pub certfile: Option<String>,
    pub keyfile: Option<String>,
    pub alpn: Option<String>,
    /// Skip the host name check of the remote certificate.
    pub insecure: bool,
    pub version: Option<String>,
}

/// A bridge: a name, at least one address and at least one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub name: String,
    /// The `connection` line.
    pub origin: Option<Origin>,
    pub addresses: Vec<BridgeAddress>,
    pub topics: Vec<BridgeTopic>,
    pub protocol_version: BridgeProtocol,
    /// `None`: `<hostname>.<name>`, known only where the bridge runs.
    pub remote_clientid: Option<String>,
    /// `None`: `local.<remote client id>`.
    pub local_clientid: Option<String>,
    pub remote_username: Option<String>,
    pub remote_password: Option<Secret>,
    pub local_username: Option<String>,
    pub local_password: Option<Secret>,
    pub cleansession: bool,
    /// `None`: the same as `cleansession`.
    pub local_cleansession: Option<bool>,
    /// Seconds; at least 5.
    pub keepalive_interval: u16,
    pub restart_timeout: RestartTimeout,
    pub start_type: StartType,
    /// Seconds a lazy bridge stays up without traffic.
    pub idle_timeout: u32,
    /// Queued messages that start a lazy bridge.
    pub threshold: u32,
    pub try_private: bool,
    pub notifications: bool,
    pub notifications_local_only: bool,
    pub notification_topic: Option<String>,
    pub round_robin: bool,
    pub attempt_unsubscribe: bool,
    pub outgoing_retain: bool,
    /// Largest packet accepted from the remote broker; 0 = no limit.
    pub max_packet_size: u32,
    pub bind_address: Option<String>,
    pub tls: BridgeTls,
}

impl Bridge {
    /// The TLS options a bridge cannot use as given: TLS is on only with a CA file or path,
    /// so any other TLS option without one would be silently ignored.
    pub fn check_tls(&self) -> Result<(), String> {
        let t = &self.tls;
        let on = t.cafile.is_some() || t.capath.is_some();
        if !on
            && (t.certfile.is_some()
                || t.keyfile.is_some()
                || t.insecure
                || t.version.is_some()
                || t.alpn.is_some())
        {
            return Err(format!(
                "bridge {}: TLS options need bridge_cafile or bridge_capath",
                self.name
            ));
        }
        if t.certfile.is_some() != t.keyfile.is_some() {
            return Err(format!(
                "bridge {}: bridge_certfile and bridge_keyfile go together",
                self.name
            ));
        }
        if on && cfg!(not(feature = "tls")) {
            return Err(format!(
                "bridge {}: this minibroker was built without TLS support (the `tls` feature)",
                self.name
            ));
        }
        Ok(())
    }

    /// A bridge named `name` with mosquitto's defaults and nothing to connect to yet.
    pub fn new(name: impl Into<String>) -> Bridge {
        Bridge {
            name: name.into(),
            origin: None,
            addresses: Vec::new(),
            topics: Vec::new(),
            protocol_version: BridgeProtocol::V311,
            remote_clientid: None,
            local_clientid: None,
            remote_username: None,
            remote_password: None,
            local_username: None,
            local_password: None,
            cleansession: false,
            local_cleansession: None,
            keepalive_interval: 60,
            restart_timeout: RestartTimeout::Backoff { base: 5, cap: 30 },
            start_type: StartType::Automatic,
            idle_timeout: 60,
            threshold: 10,
            try_private: true,
            notifications: true,
            notifications_local_only: false,
            notification_topic: None,
            round_robin: false,
            attempt_unsubscribe: true,
            outgoing_retain: true,
            max_packet_size: 0,
            bind_address: None,
            tls: BridgeTls::default(),
        }
    }
}
