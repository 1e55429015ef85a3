//! The MQTT wire format for versions 3.1, 3.1.1 and 5.0: packet types, decoding and encoding.
//!
//! This module is pure: bytes in, packets out, and packets to bytes. It knows nothing of sockets,
//! sessions or time, which is what lets the fuzz targets and the router's tests drive it directly.
//! One set of types serves every version; MQTT 5 adds properties and reason codes to the same
//! structs, and the version a connection speaks is passed to the decoder and encoder.
//!
//! - `packet.rs`, `properties.rs`: the types.
//! - `decode.rs` (with `decode_connect.rs`): [`decode_packet`], frame, bound, then parse.
//! - `encode.rs`: [`encode`], and the delivery hot path [`encode_publish`] / [`publish_len`].
//! - `fit.rs`: [`encode_within`], a packet shortened to the receiver's maximum packet size.
//! - `properties_codec.rs`: MQTT 5 properties on the wire, and which packet may carry which.
//! - `reader.rs`, `writer.rs`: the MQTT data types, read from a bounded body and written out.
//! - `error.rs`: [`DecodeError`], one variant per rule of the specification.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod decode;
mod decode_connect;
mod encode;
mod error;
mod fit;
mod packet;
mod properties;
mod properties_codec;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use decode::decode_packet;
pub use encode::{
    PublishHeader, encode, encode_publish, encode_publish_with, publish_len, publish_len_with,
};
pub use error::DecodeError;
pub use fit::{Fit, encode_within};
pub use packet::*;
pub use properties::{Properties, PropertyValues};
pub use properties_codec::PublishOverrides;

/// The properties of a stored message or will, in their MQTT 5 wire form (length prefix and
/// all), for the persistence store: reusing the codec keeps one definition of each property.
pub fn encode_message_properties(properties: &Properties, out: &mut Vec<u8>) {
    properties_codec::encode_properties(properties, out);
}

/// Reads what [`encode_message_properties`] wrote; the whole of `bytes` must be the block.
pub fn decode_message_properties(bytes: &[u8]) -> Result<Properties, DecodeError> {
    let mut reader = reader::Reader::new(bytes, "stored properties");
    let properties =
        properties_codec::decode_properties(&mut reader, properties_codec::PropertyContext::Will)?;
    if reader.is_empty() {
        Ok(properties)
    } else {
        Err(DecodeError::TrailingBytes {
            packet: "stored properties",
        })
    }
}

/// The MQTT 5 options byte of a subscription, as the persistence store keeps it.
pub fn subscription_options_byte(options: SubscriptionOptions) -> u8 {
    encode::options_byte(options, ProtocolVersion::V5)
}

/// Reads what [`subscription_options_byte`] wrote.
pub fn subscription_options_from_byte(byte: u8) -> Result<SubscriptionOptions, DecodeError> {
    decode::decode_subscription_options(byte, ProtocolVersion::V5)
}
