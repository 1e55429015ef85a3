//! Where a link came from: the listener it was accepted on, whose rules the router applies to
//! it (maximum QoS, mount point), and the peer's address for log lines.
//!
//! The reactor knows only which listener accepted a socket; it hands the router the listener's
//! position in [`Config::listener_options`], and the rules behind that position live here.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::link::Link;
use super::link::OverLimit;
use super::{LinkId, Router};
use crate::config::{Config, ListenerOptions};
use crate::protocol::{QoS, Will};

/// A listener, by its position in [`Config::listener_options`] (TCP listeners first, then
/// the Unix socket ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(usize);

impl ListenerId {
    pub fn new(index: usize) -> ListenerId {
        ListenerId(index)
    }

    pub fn index(self) -> usize {
        self.0
    }
}

/// Client ids of the host program's in-process links start with this; no network client may
/// use it, so none can take over a host link's session.
pub const HOST_CLIENT_PREFIX: &str = "$host/";

/// The other end of a link, as log lines name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Tcp(SocketAddr),
    /// A client of a Unix domain socket listener. Such clients have no address of their own
    /// (their end of the socket is unnamed), so the listener's path stands for them, as it
    /// does in mosquitto's log.
    Unix(Arc<Path>),
    /// A WebSocket client behind a trusted reverse proxy. Boxed, being rare: the other
    /// variants then fit beside a socket address's own tag, and every link's peer takes 32
    /// bytes rather than 40.
    Forwarded(Box<Forwarded>),
    /// The local side of one of the broker's own bridges, by the bridge's name.
    Bridge(Arc<str>),
    /// The host program's in-process client, of an embedded broker.
    Host,
}

/// A client behind a trusted reverse proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The address the proxy named in X-Forwarded-For.
    pub client: IpAddr,
    /// The proxy's own connection.
    pub proxy: SocketAddr,
}

impl Peer {
    /// The address failed logins are counted against. Clients of a Unix socket have none of
    /// their own and share one entry (the unspecified IPv6 address), which no TCP client has.
    pub fn ip(&self) -> IpAddr {
        match self {
            Peer::Tcp(addr) => addr.ip(),
            Peer::Forwarded(forwarded) => forwarded.client,
            Peer::Unix(_) | Peer::Bridge(_) | Peer::Host => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Peer {
        Peer::Tcp(addr)
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(addr) => write!(f, "{addr}"),
            Peer::Unix(path) => write!(f, "{}", path.display()),
            Peer::Forwarded(forwarded) => {
                write!(f, "{} (via {})", forwarded.client, forwarded.proxy)
            }
            Peer::Bridge(name) => write!(f, "bridge {name}"),
            Peer::Host => write!(f, "the host program"),
        }
    }
}

/// What one listener changes about the protocol for its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRules {
    /// The highest QoS the listener's clients may publish at and are granted.
    pub max_qos: QoS,
    /// Put in front of every topic and filter the client names, and taken off every topic
    /// it is sent (mosquitto's `mount_point`).
    pub mount_point: Option<Arc<str>>,
    /// Topic aliases an MQTT 5 client may set up (`max_topic_alias`), announced in CONNACK.
    pub topic_alias_maximum: u16,
}

impl ListenerRules {
    /// A link opened without a listener: the protocol as it is, with the configuration's
    /// topic alias maximum.
    pub fn without_listener(config: &Config) -> ListenerRules {
        ListenerRules {
            max_qos: QoS::ExactlyOnce,
            mount_point: None,
            topic_alias_maximum: config.topic_alias_maximum,
        }
    }

    fn from_options(options: &ListenerOptions, config: &Config) -> ListenerRules {
        ListenerRules {
            max_qos: QoS::from_bits(options.max_qos.min(2)).unwrap_or(QoS::ExactlyOnce),
            mount_point: options.mount_point.as_deref().map(Arc::from),
            topic_alias_maximum: options
                .max_topic_alias
                .unwrap_or(config.topic_alias_maximum),
        }
    }

    /// The rules of every listener of `config`, by [`ListenerId`].
    pub fn of(config: &Config) -> Vec<Arc<ListenerRules>> {
        config
            .listener_options()
            .map(|options| Arc::new(ListenerRules::from_options(options, config)))
            .collect()
    }

    /// The topic a client's PUBLISH or will goes to: its own topic under the mount point.
    pub fn mount(&self, topic: Arc<str>) -> Arc<str> {
        match &self.mount_point {
            Some(prefix) => format!("{prefix}{topic}").into(),
            None => topic,
        }
    }

    pub fn mount_will(&self, mut will: Will) -> Will {
        will.topic = self.mount(will.topic);
        will
    }

    /// The filter a client's SUBSCRIBE or UNSUBSCRIBE means. A shared subscription keeps its
    /// `$share/{ShareName}/` in front, and the mount point goes before the filter proper, so
    /// the group still shares and still sees only topics under the mount point.
    pub fn mount_filter(&self, filter: String) -> String {
        let Some(prefix) = &self.mount_point else {
            return filter;
        };
        match filter
            .strip_prefix("$share/")
            .map(|rest| rest.split_once('/'))
        {
            Some(Some((name, inner))) => format!("$share/{name}/{prefix}{inner}"),
            // Malformed: left for the shared subscription parser to refuse.
            Some(None) => filter,
            None => format!("{prefix}{filter}"),
        }
    }

    /// The topic a delivery is sent to this client with, the mount point taken off; `None` for
    /// a topic outside it (or the mount point alone), which is not sent. Only a session resumed
    /// through another listener can hold such a message: this listener's own subscriptions
    /// are all under its mount point. mosquitto skips such messages too.
    pub fn unmount<'t>(&self, topic: &'t str) -> Option<&'t str> {
        match &self.mount_point {
            Some(prefix) => topic
                .strip_prefix(&**prefix)
                .filter(|rest| !rest.is_empty()),
            None => Some(topic),
        }
    }
}

impl Router {
    /// A connection was accepted, by no listener of the configuration (an embedding program's
    /// own link): no listener rules apply to it. See [`Router::open_link_on`].
    pub fn open_link(&mut self, token: usize, peer: impl Into<Peer>, now: Instant) -> LinkId {
        let rules = Arc::clone(&self.no_listener);
        self.open(token, rules, peer.into(), now)
    }

    /// A connection was accepted on `listener`, whose rules (maximum QoS, mount point) apply
    /// to it; an id the configuration does not have gets none. `token` is the reactor's own
    /// key for it, handed back in [`Ready`](super::Ready). The link must send CONNECT within
    /// the configured connect timeout.
    pub fn open_link_on(
        &mut self,
        token: usize,
        listener: ListenerId,
        peer: impl Into<Peer>,
        now: Instant,
    ) -> LinkId {
        let rules = self
            .listener_rules
            .get(listener.index())
            .unwrap_or(&self.no_listener);
        let rules = Arc::clone(rules);
        self.open(token, rules, peer.into(), now)
    }

    /// The link came in over a connection limit: its CONNECT is refused with CONNACK 3
    /// (server unavailable) or, in MQTT 5, 0x97 (quota exceeded), so the client learns why
    /// instead of seeing the connection drop.
    pub fn refuse_connect_over_limit(&mut self, link: LinkId) {
        if let Some(key) = self.live(link)
            && let Some(link) = self.links.get_mut(key)
        {
            link.over_limit = Some(OverLimit::Connections);
        }
    }

    /// The reactor accepted `link` while the broker is at its `memory_limit`: its CONNECT is
    /// answered with a refusal, as one over `max_connections` is.
    pub fn refuse_connect_for_memory(&mut self, link: LinkId) {
        if let Some(key) = self.live(link)
            && let Some(link) = self.links.get_mut(key)
        {
            link.over_limit = Some(OverLimit::Memory);
        }
    }

    /// The link's peer as learnt after the accept (X-Forwarded-For from a trusted proxy),
    /// for the log lines and failed-login counting from now on.
    pub fn set_link_peer(&mut self, link: LinkId, peer: Peer) {
        if let Some(key) = self.live(link)
            && let Some(link) = self.links.get_mut(key)
        {
            link.peer = peer;
        }
    }

    fn open(
        &mut self,
        token: usize,
        rules: Arc<ListenerRules>,
        peer: Peer,
        now: Instant,
    ) -> LinkId {
        self.now = now;
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let mut link = Link::new(token, generation, peer, rules, now);
        link.budgeted = self.memory.budget.limit() > 0;
        let index = self.links.insert(link);
        let id = LinkId::new(index, generation);
        self.deadlines.push(now + self.config.connect_timeout, id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mounted(prefix: &str) -> ListenerRules {
        ListenerRules {
            mount_point: Some(prefix.into()),
            ..ListenerRules::without_listener(&Config::default())
        }
    }

    #[test]
    fn a_mount_point_goes_before_topics_and_filters_and_comes_off_deliveries() {
        let rules = mounted("site/");
        assert_eq!(&*rules.mount("a/b".into()), "site/a/b");
        assert_eq!(rules.mount_filter("a/#".into()), "site/a/#");
        assert_eq!(rules.mount_filter("#".into()), "site/#");
        // `$SYS` too: a client on a mount point sees only what is under it.
        assert_eq!(rules.mount_filter("$SYS/#".into()), "site/$SYS/#");
        assert_eq!(rules.unmount("site/a/b"), Some("a/b"));
        assert_eq!(rules.unmount("other/a"), None);
        assert_eq!(rules.unmount("site/"), None);
        assert_eq!(rules.unmount("site"), None);
    }

    #[test]
    fn a_shared_subscription_keeps_its_group_in_front() {
        let rules = mounted("site/");
        assert_eq!(
            rules.mount_filter("$share/g/a/+".into()),
            "$share/g/site/a/+"
        );
        // Malformed: left alone, so it is refused as a shared subscription, not taken for a
        // plain filter under the mount point.
        assert_eq!(rules.mount_filter("$share/g".into()), "$share/g");
    }

    #[test]
    fn without_a_mount_point_nothing_changes() {
        let rules = ListenerRules::without_listener(&Config::default());
        assert_eq!(&*rules.mount("a".into()), "a");
        assert_eq!(rules.mount_filter("$share/g/a".into()), "$share/g/a");
        assert_eq!(rules.unmount("a"), Some("a"));
    }

    #[test]
    fn max_qos_mount_point_and_topic_aliases_come_from_the_listener_options() {
        let options = ListenerOptions {
            max_qos: 1,
            mount_point: Some("m/".into()),
            max_topic_alias: Some(3),
            ..ListenerOptions::default()
        };
        let plain = crate::config::ListenerConfig::plain("127.0.0.1:0".parse().unwrap());
        let config = Config {
            listeners: vec![
                crate::config::ListenerConfig {
                    options,
                    ..plain.clone()
                },
                plain,
            ],
            topic_alias_maximum: 7,
            ..Config::default()
        };
        let rules = ListenerRules::of(&config);
        assert_eq!(rules[0].max_qos, QoS::AtLeastOnce);
        assert_eq!(rules[0].mount_point.as_deref(), Some("m/"));
        assert_eq!(rules[0].topic_alias_maximum, 3);
        // A listener without its own value takes the configuration's.
        assert_eq!(rules[1].topic_alias_maximum, 7);
        assert_eq!(
            ListenerRules::without_listener(&config).topic_alias_maximum,
            7
        );
    }
}
