//! The MQTT wire format for versions 3.1, 3.1.1 and 5.0: packet types, decoding and encoding.
//!
//! This module is pure: bytes in, packets out, and packets to bytes. It knows nothing of sockets,
//! sessions or time, which is what lets the fuzz targets and the router's tests drive it directly.
//! One set of types serves every version; MQTT 5 adds properties and reason codes to the same
//! structs, and the version a connection speaks is passed to the decoder and encoder.

mod packet;
mod properties;

pub use packet::*;
pub use properties::Properties;
