//! MQTT 5 properties: one struct holding every property the specification defines (section 2.2.2.2).
//!
//! A single struct rather than one per packet keeps the router's code plain; the decoder enforces
//! which properties each packet may carry, and rejects duplicates of those that may appear once.
//!
//! Nearly every packet has no properties (all of MQTT 3, and most MQTT 5 acknowledgements and
//! deliveries), so packets carry a [`Properties`] handle that is a null pointer when empty
//! instead of the 300-odd bytes of [`PropertyValues`]: moving a packet through the decoder,
//! the router and the queues then copies eight bytes, not a page of empty fields.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// The values of every property one packet (or will) carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyValues {
    /// 0x01
    pub payload_format_indicator: Option<u8>,
    /// 0x02, seconds
    pub message_expiry_interval: Option<u32>,
    /// 0x03
    pub content_type: Option<String>,
    /// 0x08
    pub response_topic: Option<String>,
    /// 0x09
    pub correlation_data: Option<Vec<u8>>,
    /// 0x0B, variable byte integers 1..=268,435,455; PUBLISH may carry several.
    pub subscription_identifiers: Vec<u32>,
    /// 0x11, seconds
    pub session_expiry_interval: Option<u32>,
    /// 0x12
    pub assigned_client_identifier: Option<String>,
    /// 0x13, seconds
    pub server_keep_alive: Option<u16>,
    /// 0x15
    pub authentication_method: Option<String>,
    /// 0x16
    pub authentication_data: Option<Vec<u8>>,
    /// 0x17, 0 or 1
    pub request_problem_information: Option<u8>,
    /// 0x18, seconds
    pub will_delay_interval: Option<u32>,
    /// 0x19, 0 or 1
    pub request_response_information: Option<u8>,
    /// 0x1A
    pub response_information: Option<String>,
    /// 0x1C
    pub server_reference: Option<String>,
    /// 0x1F
    pub reason_string: Option<String>,
    /// 0x21, non-zero
    pub receive_maximum: Option<u16>,
    /// 0x22
    pub topic_alias_maximum: Option<u16>,
    /// 0x23, non-zero
    pub topic_alias: Option<u16>,
    /// 0x24, 0 or 1
    pub maximum_qos: Option<u8>,
    /// 0x25, 0 or 1
    pub retain_available: Option<u8>,
    /// 0x26, in the order sent [MQTT-3.3.2-18]
    pub user_properties: Vec<(String, String)>,
    /// 0x27, bytes, non-zero
    pub maximum_packet_size: Option<u32>,
    /// 0x28, 0 or 1
    pub wildcard_subscription_available: Option<u8>,
    /// 0x29, 0 or 1
    pub subscription_identifier_available: Option<u8>,
    /// 0x2A, 0 or 1
    pub shared_subscription_available: Option<u8>,
}

/// What an absent set of properties reads as.
static EMPTY: PropertyValues = PropertyValues {
    payload_format_indicator: None,
    message_expiry_interval: None,
    content_type: None,
    response_topic: None,
    correlation_data: None,
    subscription_identifiers: Vec::new(),
    session_expiry_interval: None,
    assigned_client_identifier: None,
    server_keep_alive: None,
    authentication_method: None,
    authentication_data: None,
    request_problem_information: None,
    will_delay_interval: None,
    request_response_information: None,
    response_information: None,
    server_reference: None,
    reason_string: None,
    receive_maximum: None,
    topic_alias_maximum: None,
    topic_alias: None,
    maximum_qos: None,
    retain_available: None,
    user_properties: Vec::new(),
    maximum_packet_size: None,
    wildcard_subscription_available: None,
    subscription_identifier_available: None,
    shared_subscription_available: None,
};

/// The properties of one packet (or of a will). Reads as [`PropertyValues`] through `Deref`;
/// the first write allocates.
#[derive(Clone, Default)]
pub struct Properties(Option<Box<PropertyValues>>);

impl Properties {
    pub fn is_empty(&self) -> bool {
        self.0.as_deref().is_none_or(|values| *values == EMPTY)
    }
}

impl Deref for Properties {
    type Target = PropertyValues;

    fn deref(&self) -> &PropertyValues {
        self.0.as_deref().unwrap_or(&EMPTY)
    }
}

impl DerefMut for Properties {
    fn deref_mut(&mut self) -> &mut PropertyValues {
        self.0.get_or_insert_with(Box::default)
    }
}

impl From<PropertyValues> for Properties {
    fn from(values: PropertyValues) -> Properties {
        if values == EMPTY {
            Properties(None)
        } else {
            Properties(Some(Box::new(values)))
        }
    }
}

/// Equal when the values are: an allocated but empty set equals an absent one.
impl PartialEq for Properties {
    fn eq(&self, other: &Properties) -> bool {
        **self == **other
    }
}

impl Eq for Properties {}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
