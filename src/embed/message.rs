//! The messages the host program sends and receives through a [`BrokerHandle`](super::BrokerHandle).

use std::sync::Arc;

use crate::protocol::{Properties, QoS, RetainHandling};

/// A message the host program publishes.
///
/// ```
/// use minibroker::embed::Publication;
/// use minibroker::protocol::QoS;
///
/// let reading = Publication::new("Erdgeschoss/Wohnzimmer/Temp", "21.5")
///     .qos(QoS::AtLeastOnce)
///     .retain(true);
/// assert_eq!(reading.topic(), "Erdgeschoss/Wohnzimmer/Temp");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub(crate) topic: String,
    pub(crate) payload: Arc<[u8]>,
    pub(crate) qos: QoS,
    pub(crate) retain: bool,
    pub(crate) properties: Properties,
}

impl Publication {
    /// A QoS 0 message, not retained, without properties.
    pub fn new(topic: impl Into<String>, payload: impl AsRef<[u8]>) -> Publication {
        Publication {
            topic: topic.into(),
            payload: Arc::from(payload.as_ref()),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: Properties::default(),
        }
    }

    /// The quality of service subscribers get it at, at most (each gets the lower of this and
    /// what it subscribed with).
    pub fn qos(mut self, qos: QoS) -> Publication {
        self.qos = qos;
        self
    }

    /// Kept as the topic's retained message (an empty payload clears it).
    pub fn retain(mut self, retain: bool) -> Publication {
        self.retain = retain;
        self
    }

    /// MQTT 5 properties: message expiry, content type, response topic, correlation data,
    /// payload format and user properties pass on to subscribers; a topic alias and
    /// subscription identifiers, which belong to one connection, are dropped.
    pub fn properties(mut self, properties: Properties) -> Publication {
        self.properties = properties;
        self
    }

    /// The topic it goes to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// What it carries.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// A message delivered to one of the host program's subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The topic it was published to.
    pub topic: Arc<str>,
    /// What it carries, shared with every other receiver of the message.
    pub payload: Arc<[u8]>,
    /// The QoS it was delivered at: the lower of the publication's and the subscription's.
    pub qos: QoS,
    /// A retained message sent because the subscription is new (or, with
    /// [`SubscribeOptions::retain_as_published`], a message published with the flag).
    pub retain: bool,
    /// Sent again after an interruption (MQTT's DUP flag); never set for the host's own
    /// subscriptions today, which are not interrupted while the broker runs.
    pub duplicate: bool,
    /// The MQTT 5 properties it was published with (message expiry counted down).
    pub properties: Properties,
}

/// How the host program subscribes: the MQTT 5 subscription options.
///
/// ```
/// use minibroker::embed::SubscribeOptions;
/// use minibroker::protocol::QoS;
///
/// let options = SubscribeOptions::new(QoS::AtLeastOnce).capacity(100);
/// assert_eq!(options.qos, QoS::AtLeastOnce);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeOptions {
    /// The highest QoS to receive at.
    pub qos: QoS,
    /// Keep the RETAIN flag of messages published with it (otherwise only the retained
    /// messages sent for a new subscription carry it).
    pub retain_as_published: bool,
    /// When to receive the retained messages that match.
    pub retain_handling: RetainHandling,
    /// Messages held for the host before the broker keeps further ones back: at most this
    /// many wait in [`Subscription`](super::Subscription); between 1 and 65,535.
    pub capacity: usize,
}

/// Messages a subscription holds for the host by default.
pub const DEFAULT_CAPACITY: usize = 1024;

impl SubscribeOptions {
    /// At most `qos`, retained messages sent at subscribe time, the default capacity.
    pub fn new(qos: QoS) -> SubscribeOptions {
        SubscribeOptions {
            qos,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// Sets [`SubscribeOptions::capacity`], kept between 1 and 65,535.
    pub fn capacity(mut self, capacity: usize) -> SubscribeOptions {
        self.capacity = capacity.clamp(1, usize::from(u16::MAX));
        self
    }

    /// Sets [`SubscribeOptions::retain_as_published`].
    pub fn retain_as_published(mut self, on: bool) -> SubscribeOptions {
        self.retain_as_published = on;
        self
    }

    /// Sets [`SubscribeOptions::retain_handling`].
    pub fn retain_handling(mut self, handling: RetainHandling) -> SubscribeOptions {
        self.retain_handling = handling;
        self
    }
}
