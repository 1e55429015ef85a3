//! [`BrokerBuilder`]: a broker for a host program, without filling every [`Config`] field.

use std::net::SocketAddr;
use std::path::Path;

use super::DEFAULT_COMMAND_CAPACITY;
use crate::broker::Broker;
use crate::conf::{self, ConfError};
use crate::config::{Config, ListenerConfig, TlsIdentity};
use crate::net::BindError;
use crate::protocol::QoS;
use crate::router::hooks::{ClientInfo, ConnectRequest, Event, Hooks, Verdict};

/// Builds a [`Broker`]: its configuration, and the host program's hooks.
///
/// It starts from [`Config::default`] without listeners: a broker that only the host program
/// talks to, in-process, until [`BrokerBuilder::listen`] adds one.
///
/// ```
/// use minibroker::BrokerBuilder;
/// use minibroker::router::hooks::Verdict;
/// use minibroker::protocol::ReasonCode;
///
/// let users = [("kitchen", "s3cret")];
/// let broker = BrokerBuilder::new()
///     .listen("127.0.0.1:0".parse()?)
///     .authenticate(move |request| {
///         let login = (request.client.username, request.password);
///         match users.iter().find(|(user, _)| Some(*user) == login.0) {
///             Some((_, password)) if login.1 == Some(password.as_bytes()) => Verdict::Allow,
///             _ => Verdict::Deny(ReasonCode::BAD_USER_NAME_OR_PASSWORD),
///         }
///     })
///     .build()?;
/// assert_eq!(broker.local_addrs().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BrokerBuilder {
    config: Config,
    hooks: Hooks,
    command_capacity: usize,
    allow_anonymous: Option<bool>,
}

impl Default for BrokerBuilder {
    fn default() -> Self {
        BrokerBuilder::new()
    }
}

impl BrokerBuilder {
    /// A builder for a broker without listeners, with the default settings and no hooks.
    pub fn new() -> BrokerBuilder {
        BrokerBuilder {
            config: Config {
                listeners: Vec::new(),
                ..Config::default()
            },
            hooks: Hooks::default(),
            command_capacity: DEFAULT_COMMAND_CAPACITY,
            allow_anonymous: None,
        }
    }

    /// Starts from a configuration made elsewhere; the hooks set so far stay.
    pub fn config(mut self, config: Config) -> BrokerBuilder {
        self.config = config;
        self
    }

    /// Starts from a mosquitto.conf file, read as the `minibroker -c` command reads it
    /// (includes, listeners, password and ACL files, bridges, persistence). With no listener
    /// in it, the broker listens on 1883 on the loopback addresses, as mosquitto does.
    pub fn config_file(self, path: impl AsRef<Path>) -> Result<BrokerBuilder, ConfError> {
        let loaded = conf::read_file(path.as_ref(), &[])?;
        Ok(self.config(loaded.config))
    }

    /// Changes any setting of the configuration.
    ///
    /// ```
    /// let builder = minibroker::BrokerBuilder::new().configure(|config| {
    ///     config.max_queued_messages = 10_000;
    ///     config.queue_qos0_offline = true;
    /// });
    /// ```
    pub fn configure(mut self, change: impl FnOnce(&mut Config)) -> BrokerBuilder {
        change(&mut self.config);
        self
    }

    /// Adds a plain MQTT listener (port 0: the system picks one; see
    /// [`Broker::local_addrs`]).
    pub fn listen(mut self, addr: SocketAddr) -> BrokerBuilder {
        self.config.listeners.push(ListenerConfig::plain(addr));
        self
    }

    /// Adds an MQTT-over-TLS listener with this certificate (one for every TLS listener).
    pub fn listen_tls(mut self, addr: SocketAddr, identity: TlsIdentity) -> BrokerBuilder {
        self.config.listeners.push(ListenerConfig::tls(addr));
        self.config.tls = Some(identity);
        self
    }

    /// Whether clients without a username may connect, on every listener (mosquitto's
    /// `allow_anonymous`, which is a listener setting; `true` unless set).
    pub fn allow_anonymous(mut self, on: bool) -> BrokerBuilder {
        self.allow_anonymous = Some(on);
        self
    }

    /// Requests (publications, subscriptions…) that may wait for the loop at once; beyond
    /// that [`BrokerHandle::publish`](super::BrokerHandle::publish) waits and
    /// [`BrokerHandle::try_publish`](super::BrokerHandle::try_publish) fails.
    pub fn command_capacity(mut self, capacity: usize) -> BrokerBuilder {
        self.command_capacity = capacity.max(1);
        self
    }

    /// Decides every CONNECT the password file (if any) has accepted: the user, password,
    /// client id, address and whether it came over TLS. A refusal's reason code goes to an
    /// MQTT 5 client; a 3.x client gets the nearest return code.
    pub fn authenticate(
        mut self,
        hook: impl FnMut(&ConnectRequest<'_>) -> Verdict + Send + 'static,
    ) -> BrokerBuilder {
        self.hooks.authenticate = Some(Box::new(hook));
        self
    }

    /// Decides every PUBLISH (and will) the ACL has allowed: the client, topic, QoS and
    /// retain flag. A refused QoS 1 or 2 publication is acknowledged with the reason code
    /// (MQTT 5) or acknowledged and dropped (3.x, as for an ACL refusal).
    pub fn authorize_publish(
        mut self,
        hook: impl FnMut(&ClientInfo<'_>, &str, QoS, bool) -> Verdict + Send + 'static,
    ) -> BrokerBuilder {
        self.hooks.publish = Some(Box::new(hook));
        self
    }

    /// Decides each topic filter of a SUBSCRIBE the ACL has allowed; a refusal is that
    /// filter's SUBACK failure code.
    pub fn authorize_subscribe(
        mut self,
        hook: impl FnMut(&ClientInfo<'_>, &str) -> Verdict + Send + 'static,
    ) -> BrokerBuilder {
        self.hooks.subscribe = Some(Box::new(hook));
        self
    }

    /// Decides each delivery to a network client: its client id, username and the topic;
    /// `false` skips that client for that message.
    pub fn authorize_delivery(
        mut self,
        hook: impl FnMut(&str, Option<&str>, &str) -> bool + Send + 'static,
    ) -> BrokerBuilder {
        self.hooks.deliver = Some(Box::new(hook));
        self
    }

    /// Sees connects, disconnects and every message accepted for routing.
    pub fn on_event(mut self, hook: impl FnMut(&Event<'_>) + Send + 'static) -> BrokerBuilder {
        self.hooks.observe = Some(Box::new(hook));
        self
    }

    /// Checks the configuration and binds the listeners (see [`Broker::bind`]).
    pub fn build(mut self) -> Result<Broker, BindError> {
        if let Some(on) = self.allow_anonymous {
            self.config.allow_anonymous = on;
            for listener in &mut self.config.listeners {
                listener.options.allow_anonymous = on;
            }
            for listener in &mut self.config.unix_listeners {
                listener.options.allow_anonymous = on;
            }
        }
        Broker::bind_with(self.config, self.hooks, self.command_capacity)
    }
}
