//! Why a CONNECT is refused, and the one mapping from a refusal to the codes CONNACK carries.

use crate::protocol::{ConnectReturnCode, ReasonCode};

/// Why a CONNECT is refused. [`Refusal::codes`] is the one place that turns a refusal into the
/// codes CONNACK carries (3.x return code, MQTT 5 reason code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// [MQTT-3.1.2-2] unknown protocol name or level.
    UnsupportedVersion,
    /// [MQTT-3.1.3-8] empty client id without clean session; MQTT 3.1 ids of 1 to 23 characters;
    /// an id of the host program's reserved form (`$host/…`).
    IdentifierRejected,
    /// MQTT 5 enhanced authentication with a method the broker does not support
    /// [MQTT-4.12.0-1].
    BadAuthenticationMethod,
    /// A 3.x keepalive above the configured maximum (or 0 when there is one).
    KeepAliveTooLong,
    /// The login failed, or the client id is not allowed (`clientid_prefixes`,
    /// `use_username_as_clientid` without a username); the text says why, for the log.
    /// CONNACK 5 / 0x87 as in mosquitto, never 4 / 0x86: see `authenticate`.
    NotAuthorized(&'static str),
    /// [MQTT-3.2.2-12] a will QoS above the listener's maximum QoS.
    QosNotSupported,
    /// [MQTT-3.2.2-13] a retained will, and retained messages are not available.
    RetainNotSupported,
    /// A will payload larger than `message_size_limit`.
    WillTooLarge,
    /// The host program's authenticate hook said no, with this MQTT 5 reason code.
    ByHost(ReasonCode),
    /// The connection came in over `max_connections` or `max_connections_total`.
    TooManyConnections,
    /// The broker is at its `memory_limit`.
    OutOfMemory,
}

impl Refusal {
    pub fn codes(self) -> (ConnectReturnCode, ReasonCode) {
        match self {
            Refusal::UnsupportedVersion => (
                ConnectReturnCode::UnacceptableProtocolVersion,
                ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            ),
            Refusal::IdentifierRejected | Refusal::KeepAliveTooLong => (
                ConnectReturnCode::IdentifierRejected,
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
            ),
            Refusal::BadAuthenticationMethod => (
                ConnectReturnCode::NotAuthorized,
                ReasonCode::BAD_AUTHENTICATION_METHOD,
            ),
            Refusal::NotAuthorized(_) => {
                (ConnectReturnCode::NotAuthorized, ReasonCode::NOT_AUTHORIZED)
            }
            // 3.x gets no CONNACK for these two (`answers_3x`); the code is never sent.
            Refusal::QosNotSupported => (
                ConnectReturnCode::NotAuthorized,
                ReasonCode::QOS_NOT_SUPPORTED,
            ),
            Refusal::RetainNotSupported => (
                ConnectReturnCode::NotAuthorized,
                ReasonCode::RETAIN_NOT_SUPPORTED,
            ),
            Refusal::WillTooLarge => (
                ConnectReturnCode::NotAuthorized,
                ReasonCode::PACKET_TOO_LARGE,
            ),
            Refusal::TooManyConnections | Refusal::OutOfMemory => (
                ConnectReturnCode::ServerUnavailable,
                ReasonCode::QUOTA_EXCEEDED,
            ),
            // The nearest 3.x return code; a code below 0x80 would read as success.
            Refusal::ByHost(reason) => match reason {
                ReasonCode::BAD_USER_NAME_OR_PASSWORD => (
                    ConnectReturnCode::BadUserNameOrPassword,
                    ReasonCode::BAD_USER_NAME_OR_PASSWORD,
                ),
                ReasonCode::SERVER_UNAVAILABLE | ReasonCode::SERVER_BUSY => {
                    (ConnectReturnCode::ServerUnavailable, reason)
                }
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID => {
                    (ConnectReturnCode::IdentifierRejected, reason)
                }
                reason if reason.0 >= 0x80 => (ConnectReturnCode::NotAuthorized, reason),
                _ => (ConnectReturnCode::NotAuthorized, ReasonCode::NOT_AUTHORIZED),
            },
        }
    }

    /// Whether a 3.x client is answered with a CONNACK. It is not for a will QoS or RETAIN
    /// the broker does not support: 3.x has no code for either, and mosquitto closes without
    /// a CONNACK rather than send a code that means something else.
    pub(super) fn answers_3x(self) -> bool {
        !matches!(self, Refusal::QosNotSupported | Refusal::RetainNotSupported)
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            Refusal::UnsupportedVersion => "unsupported protocol version",
            Refusal::IdentifierRejected => "client identifier rejected",
            Refusal::BadAuthenticationMethod => "unsupported authentication method",
            Refusal::KeepAliveTooLong => "keepalive above the configured maximum",
            Refusal::NotAuthorized(why) => why,
            Refusal::QosNotSupported => "will QoS above the maximum QoS of this listener",
            Refusal::RetainNotSupported => "retained will, and retained messages are not available",
            Refusal::WillTooLarge => "will payload larger than message_size_limit",
            Refusal::ByHost(_) => "refused by the host program",
            Refusal::TooManyConnections => "max_connections exceeded",
            Refusal::OutOfMemory => "memory_limit reached",
        }
    }
}
