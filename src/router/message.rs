//! An application message as the broker stores and forwards it.

use std::sync::Arc;

use crate::protocol::{Properties, Publish, QoS, Will};

/// One published message. Shared by reference count between the retained store, every queue it
/// waits in and every in-flight window holding it, so fan-out to N subscribers copies no payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: Arc<str>,
    pub payload: Arc<[u8]>,
    /// The QoS it was published with; each delivery uses the lower of this and the granted QoS.
    pub qos: QoS,
    /// The RETAIN flag as published.
    pub retain: bool,
    pub properties: Properties,
}

impl Message {
    pub fn from_publish(publish: Publish) -> Message {
        Message {
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            properties: publish.properties,
        }
    }

    /// The message a will becomes when it is published [MQTT-3.1.2-8].
    pub fn from_will(will: Will) -> Message {
        Message {
            topic: will.topic,
            payload: will.payload,
            qos: will.qos,
            retain: will.retain,
            properties: will.properties,
        }
    }
}
