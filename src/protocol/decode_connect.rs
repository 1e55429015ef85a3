//! Decoding CONNECT and CONNACK, the two packets whose layout depends most on the version.
//!
//! Also the one correspondence between 3.x CONNACK return codes and 5.0 reason codes, so a
//! `ConnAck` decoded from either version carries both fields consistently.

use std::sync::Arc;

use super::properties_codec::{PropertyContext, decode_properties, decode_properties_for};
use super::reader::Reader;
use super::{
    ConnAck, Connect, ConnectReturnCode, DecodeError, Properties, ProtocolVersion, QoS, ReasonCode,
    Will,
};

/// CONNECT (3.1). The version comes from the packet's own protocol name and level.
pub(crate) fn decode_connect(r: &mut Reader<'_>) -> Result<Connect, DecodeError> {
    // Read as bytes: a name that is not even UTF-8 is still just an unsupported protocol.
    let name = r.binary()?;
    let level = r.u8()?;
    let protocol = match (name, level) {
        (b"MQIsdp", 3) => ProtocolVersion::V3_1,
        (b"MQTT", 4) => ProtocolVersion::V3_1_1,
        (b"MQTT", 5) => ProtocolVersion::V5,
        _ => return Err(DecodeError::UnsupportedProtocolVersion { level }),
    };
    let flags = r.u8()?;
    if flags & 0b0000_0001 != 0 {
        return Err(DecodeError::ConnectReservedFlag);
    }
    let will_flag = flags & 0b0000_0100 != 0;
    let will_qos_bits = (flags >> 3) & 0b11;
    let will_retain = flags & 0b0010_0000 != 0;
    let password_flag = flags & 0b0100_0000 != 0;
    let username_flag = flags & 0b1000_0000 != 0;
    if !will_flag && (will_qos_bits != 0 || will_retain) {
        return Err(DecodeError::WillFlagsWithoutWill);
    }
    let will_qos = QoS::from_bits(will_qos_bits).ok_or(DecodeError::InvalidWillQoS)?;
    if !protocol.is_v5() && password_flag && !username_flag {
        return Err(DecodeError::PasswordWithoutUserName);
    }
    let keep_alive = r.u16()?;
    let properties = decode_properties_for(r, protocol, PropertyContext::Connect)?;
    let client_id = r.utf8()?.to_owned();
    let will = match will_flag {
        true => Some(decode_will(r, protocol, will_qos, will_retain)?),
        false => None,
    };
    let username = match username_flag {
        true => Some(r.utf8()?.to_owned()),
        false => None,
    };
    let password = match password_flag {
        true => Some(r.binary()?.to_vec()),
        false => None,
    };
    Ok(Connect {
        protocol,
        clean_start: flags & 0b0000_0010 != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
        properties,
    })
}

/// The will properties (5.0), topic and message of a CONNECT payload.
fn decode_will(
    r: &mut Reader<'_>,
    protocol: ProtocolVersion,
    qos: QoS,
    retain: bool,
) -> Result<Will, DecodeError> {
    let properties = decode_properties_for(r, protocol, PropertyContext::Will)?;
    let topic = r.topic_name()?;
    // [MQTT-4.7.3-1] A will has no topic alias to stand in for an empty topic.
    if topic.is_empty() {
        return Err(DecodeError::EmptyTopicName);
    }
    Ok(Will {
        topic: Arc::from(topic),
        payload: Arc::from(r.binary()?),
        qos,
        retain,
        properties,
    })
}

/// CONNACK (3.2): acknowledge flags, then a 3.x return code or a 5.0 reason code and properties.
pub(crate) fn decode_connack(
    r: &mut Reader<'_>,
    version: ProtocolVersion,
) -> Result<ConnAck, DecodeError> {
    let flags = r.u8()?;
    if flags & 0b1111_1110 != 0 {
        return Err(DecodeError::ConnAckReservedFlags);
    }
    let code = r.u8()?;
    let (return_code, reason, properties) = if version.is_v5() {
        let reason = ReasonCode(code);
        let properties = decode_properties(r, PropertyContext::ConnAck)?;
        (return_code_for(reason), reason, properties)
    } else {
        let return_code = return_code_from_byte(code)?;
        (return_code, reason_for(return_code), Properties::default())
    };
    Ok(ConnAck {
        session_present: flags & 1 != 0,
        return_code,
        reason,
        properties,
    })
}

/// [MQTT-3.2.2-3] The 3.x return codes 0 to 5; the rest are reserved.
fn return_code_from_byte(code: u8) -> Result<ConnectReturnCode, DecodeError> {
    Ok(match code {
        0 => ConnectReturnCode::Accepted,
        1 => ConnectReturnCode::UnacceptableProtocolVersion,
        2 => ConnectReturnCode::IdentifierRejected,
        3 => ConnectReturnCode::ServerUnavailable,
        4 => ConnectReturnCode::BadUserNameOrPassword,
        5 => ConnectReturnCode::NotAuthorized,
        _ => return Err(DecodeError::InvalidConnectReturnCode(code)),
    })
}

/// The 5.0 reason code with the meaning of a 3.x return code.
pub(crate) fn reason_for(code: ConnectReturnCode) -> ReasonCode {
    match code {
        ConnectReturnCode::Accepted => ReasonCode::SUCCESS,
        ConnectReturnCode::UnacceptableProtocolVersion => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
        ConnectReturnCode::IdentifierRejected => ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
        ConnectReturnCode::ServerUnavailable => ReasonCode::SERVER_UNAVAILABLE,
        ConnectReturnCode::BadUserNameOrPassword => ReasonCode::BAD_USER_NAME_OR_PASSWORD,
        ConnectReturnCode::NotAuthorized => ReasonCode::NOT_AUTHORIZED,
    }
}

/// The nearest 3.x return code for a 5.0 CONNACK reason code; failures without a 3.x
/// counterpart become "server unavailable".
pub(crate) fn return_code_for(reason: ReasonCode) -> ConnectReturnCode {
    match reason {
        ReasonCode::SUCCESS => ConnectReturnCode::Accepted,
        ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => ConnectReturnCode::UnacceptableProtocolVersion,
        ReasonCode::CLIENT_IDENTIFIER_NOT_VALID => ConnectReturnCode::IdentifierRejected,
        ReasonCode::BAD_USER_NAME_OR_PASSWORD => ConnectReturnCode::BadUserNameOrPassword,
        ReasonCode::NOT_AUTHORIZED | ReasonCode::BANNED | ReasonCode::BAD_AUTHENTICATION_METHOD => {
            ConnectReturnCode::NotAuthorized
        }
        _ => ConnectReturnCode::ServerUnavailable,
    }
}
