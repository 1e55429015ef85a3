//! A bridge's `topic` lines as routes between the two brokers: which filters to subscribe to on
//! each side, and how a topic is rewritten on its way across (mosquitto's bridge_topic.c rules).
//!
//! Prefixes are plain concatenation, no `/` is added: the local subscription is `L+P`, the
//! remote one `R+P`. Going out, `L` is stripped and `R` put in front; coming in, the reverse.
//! The first route that matches a topic wins.

use crate::config::{BridgeDirection, BridgeTopic};
use crate::protocol::QoS;
use crate::topic::TopicFilter;

/// One `topic` line, compiled.
#[derive(Debug, Clone)]
pub struct Route {
    pub direction: BridgeDirection,
    pub qos: QoS,
    local_prefix: String,
    remote_prefix: String,
    /// `L+P`: what the bridge subscribes to locally (for `out` and `both`).
    pub local_filter: TopicFilter,
    /// `R+P`: what the bridge subscribes to remotely (for `in` and `both`).
    pub remote_filter: TopicFilter,
}

impl Route {
    fn goes_out(&self) -> bool {
        matches!(self.direction, BridgeDirection::Out | BridgeDirection::Both)
    }

    fn comes_in(&self) -> bool {
        matches!(self.direction, BridgeDirection::In | BridgeDirection::Both)
    }
}

/// Every route of one bridge, in the order of its `topic` lines.
#[derive(Debug, Clone, Default)]
pub struct TopicMap {
    routes: Vec<Route>,
}

impl TopicMap {
    /// Compiles the `topic` lines; `None` for a line whose filters do not parse (the
    /// configuration reader refuses those, so this only guards a hand-built configuration).
    pub fn new(topics: &[BridgeTopic]) -> Option<TopicMap> {
        let routes = topics
            .iter()
            .map(|t| {
                let local_prefix = t.local_prefix.clone().unwrap_or_default();
                let remote_prefix = t.remote_prefix.clone().unwrap_or_default();
                Some(Route {
                    direction: t.direction,
                    qos: QoS::from_bits(t.qos)?,
                    local_filter: TopicFilter::parse(&format!("{local_prefix}{}", t.pattern))
                        .ok()?,
                    remote_filter: TopicFilter::parse(&format!("{remote_prefix}{}", t.pattern))
                        .ok()?,
                    local_prefix,
                    remote_prefix,
                })
            })
            .collect::<Option<Vec<Route>>>()?;
        Some(TopicMap { routes })
    }

    /// The local subscriptions: `L+P` of every `out` and `both` line, with its QoS.
    pub fn local_subscriptions(&self) -> impl Iterator<Item = (&TopicFilter, QoS)> {
        self.routes
            .iter()
            .filter(|r| r.goes_out())
            .map(|r| (&r.local_filter, r.qos))
    }

    /// The remote subscriptions: `R+P` of every `in` and `both` line, with its QoS.
    pub fn remote_subscriptions(&self) -> impl Iterator<Item = (&TopicFilter, QoS)> {
        self.routes
            .iter()
            .filter(|r| r.comes_in())
            .map(|r| (&r.remote_filter, r.qos))
    }

    /// The remote filters of the `out`-only lines (`R+P`): a remote session kept from a
    /// configuration that had them `in` or `both` may still hold them, and
    /// `bridge_attempt_unsubscribe` removes them on connect, as mosquitto does.
    pub fn remote_out_only(&self) -> impl Iterator<Item = &TopicFilter> {
        self.routes
            .iter()
            .filter(|r| r.direction == BridgeDirection::Out)
            .map(|r| &r.remote_filter)
    }

    /// The remote topic for a local one going out, with the route's QoS; `None` when no
    /// `out`/`both` line matches it, or the result would be empty.
    pub fn outgoing(&self, local: &str) -> Option<(String, QoS)> {
        let route = self
            .routes
            .iter()
            .find(|r| r.goes_out() && r.local_filter.matches(local))?;
        let rest = local.strip_prefix(route.local_prefix.as_str())?;
        Some((format!("{}{rest}", route.remote_prefix), route.qos)).filter(|(t, _)| !t.is_empty())
    }

    /// The local topic for a remote one coming in; `None` when no `in`/`both` line matches.
    pub fn incoming(&self, remote: &str) -> Option<(String, QoS)> {
        let route = self
            .routes
            .iter()
            .find(|r| r.comes_in() && r.remote_filter.matches(remote))?;
        let rest = remote.strip_prefix(route.remote_prefix.as_str())?;
        Some((format!("{}{rest}", route.local_prefix), route.qos)).filter(|(t, _)| !t.is_empty())
    }

    /// Whether a local topic also comes back in over this bridge after going out: only then
    /// can a 3.x remote without the bridge bit echo the bridge's own messages to it.
    pub fn may_echo(&self, remote: &str) -> bool {
        self.routes
            .iter()
            .any(|r| r.comes_in() && r.remote_filter.matches(remote))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(pattern: &str, direction: BridgeDirection, local: &str, remote: &str) -> BridgeTopic {
        let prefix = |p: &str| (!p.is_empty()).then(|| p.to_string());
        BridgeTopic {
            pattern: pattern.into(),
            direction,
            qos: 1,
            local_prefix: prefix(local),
            remote_prefix: prefix(remote),
        }
    }

    #[test]
    fn prefixes_are_swapped_by_plain_concatenation() {
        let map =
            TopicMap::new(&[topic("sensors/#", BridgeDirection::Both, "home/", "site1/")]).unwrap();
        let subs: Vec<&str> = map.local_subscriptions().map(|(f, _)| f.as_str()).collect();
        assert_eq!(subs, ["home/sensors/#"]);
        let subs: Vec<&str> = map
            .remote_subscriptions()
            .map(|(f, _)| f.as_str())
            .collect();
        assert_eq!(subs, ["site1/sensors/#"]);
        assert_eq!(
            map.outgoing("home/sensors/t"),
            Some(("site1/sensors/t".into(), QoS::AtLeastOnce))
        );
        assert_eq!(
            map.incoming("site1/sensors/t"),
            Some(("home/sensors/t".into(), QoS::AtLeastOnce))
        );
        assert_eq!(map.outgoing("sensors/t"), None);
        // No `/` is added: a prefix without one joins the pattern directly.
        let map = TopicMap::new(&[topic("x", BridgeDirection::Out, "a", "b")]).unwrap();
        assert_eq!(map.outgoing("ax").map(|o| o.0), Some("bx".into()));
    }

    #[test]
    fn directions_decide_which_side_subscribes() {
        let map = TopicMap::new(&[
            topic("o/#", BridgeDirection::Out, "", ""),
            topic("i/#", BridgeDirection::In, "", ""),
        ])
        .unwrap();
        assert_eq!(map.local_subscriptions().count(), 1);
        assert_eq!(map.remote_subscriptions().count(), 1);
        assert!(map.outgoing("i/x").is_none());
        assert!(map.incoming("o/x").is_none());
        assert!(map.incoming("i/x").is_some());
        assert!(map.may_echo("i/x") && !map.may_echo("o/x"));
    }

    #[test]
    fn an_empty_pattern_maps_one_topic_to_another() {
        let map =
            TopicMap::new(&[topic("", BridgeDirection::Both, "local/t", "remote/t")]).unwrap();
        assert_eq!(
            map.outgoing("local/t").map(|o| o.0),
            Some("remote/t".into())
        );
        assert_eq!(
            map.incoming("remote/t").map(|o| o.0),
            Some("local/t".into())
        );
        assert_eq!(map.outgoing("local/t/x"), None);
    }

    #[test]
    fn the_first_matching_line_wins() {
        let map = TopicMap::new(&[
            topic("a/#", BridgeDirection::Out, "", "first/"),
            topic("a/b", BridgeDirection::Out, "", "second/"),
        ])
        .unwrap();
        assert_eq!(map.outgoing("a/b").map(|o| o.0), Some("first/a/b".into()));
    }
}
