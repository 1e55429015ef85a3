//! MQTT over WebSockets without I/O: the opening handshake ([`handshake`]), the framing
//! ([`frame`]) and the mapping of a GET request to a file under `http_dir` ([`http`]). The
//! transport in `net` feeds them bytes from the socket and writes what they produce, so the
//! reactor and the router never see a WebSocket.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod frame;
pub mod handshake;
pub mod http;

pub use frame::{Control, Decoder, FrameError};
pub use handshake::{HttpError, Parsed, Request, Upgrade, parse_request};
