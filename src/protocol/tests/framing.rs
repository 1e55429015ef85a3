//! Framing: the remaining length, the maximum packet size, and packets back to back.

use super::*;
use crate::protocol::writer::{put_str, put_varint, str_len, varint_len};
use crate::protocol::{DecodeError, PublishHeader, encode_publish};

const V3: ProtocolVersion = ProtocolVersion::V3_1_1;

#[test]
fn oversize_length_is_refused_from_the_header_alone() {
    // PUBLISH announcing 268,435,455 bytes, and nothing behind it.
    let header = [0x30, 0xFF, 0xFF, 0xFF, 0x7F];
    let too_large = DecodeError::PacketTooLarge {
        size: 268_435_460,
        max: MAX,
    };
    assert_eq!(decode_packet(&header, V3, MAX), Err(too_large));
    // Until the last length byte has arrived the size is unknown: partial.
    assert_eq!(decode_packet(&header[..4], V3, MAX), Ok(None));
    // Even a maximum of u32::MAX refuses nothing valid and waits for the body.
    assert_eq!(decode_packet(&header, V3, u32::MAX), Ok(None));
}

#[test]
fn five_byte_remaining_length_is_malformed() {
    let header = [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
    let error = Err(DecodeError::InvalidVariableByteInteger);
    assert_eq!(decode_packet(&header, V3, u32::MAX), error);
    assert_eq!(decode_packet(&header[..5], V3, u32::MAX), error);
    assert_eq!(
        decode_packet(&[0xC0, 0x80, 0x80, 0x80, 0x80], V3, MAX),
        error
    );
}

#[test]
fn max_packet_size_counts_the_whole_packet() {
    let mut bytes = Vec::new();
    encode(
        &Packet::Publish(publish(QoS::AtLeastOnce, "a/b", &[7; 300])),
        V3,
        &mut bytes,
    );
    let size = bytes.len() as u32;
    assert_eq!(size, 1 + 2 + 5 + 2 + 300);
    assert!(matches!(decode_packet(&bytes, V3, size), Ok(Some((_, n))) if n == bytes.len()));
    let error = DecodeError::PacketTooLarge {
        size,
        max: size - 1,
    };
    // Refused with only the fixed header present.
    assert_eq!(decode_packet(&bytes[..3], V3, size - 1), Err(error.clone()));
    assert_eq!(decode_packet(&bytes, V3, size - 1), Err(error));
    assert_eq!(
        decode_packet(&[0xC0, 0], V3, 1),
        Err(DecodeError::PacketTooLarge { size: 2, max: 1 })
    );
}

#[test]
fn packets_back_to_back_decode_one_at_a_time() {
    let first = Packet::Publish(publish(QoS::ExactlyOnce, "x", b"one"));
    let second = Packet::PingReq;
    let third = Packet::Publish(publish(QoS::AtMostOnce, "y", b""));
    let mut buf = Vec::new();
    for p in [&first, &second, &third] {
        encode(p, V3, &mut buf);
    }
    let mut offset = 0;
    for expected in [first, second, third] {
        let (packet, used) = decode_packet(&buf[offset..], V3, MAX).unwrap().unwrap();
        assert_eq!(packet, expected);
        offset += used;
    }
    assert_eq!(offset, buf.len());
    assert_eq!(decode_packet(&buf[offset..], V3, MAX), Ok(None));
    // A second packet that is still partial does not disturb the first.
    let (_, used) = decode_packet(&buf[..buf.len() - 1], V3, MAX)
        .unwrap()
        .unwrap();
    assert_eq!(used, 10);
}

#[test]
fn remaining_length_boundaries() {
    for (value, len) in [
        (0, 1),
        (127, 1),
        (128, 2),
        (16_383, 2),
        (16_384, 3),
        (2_097_151, 3),
        (2_097_152, 4),
        (268_435_455, 4),
    ] {
        let mut out = Vec::new();
        put_varint(&mut out, value);
        assert_eq!(out.len(), len, "{value}");
        assert_eq!(varint_len(value), len);
        let decoded = crate::protocol::reader::decode_varint(&out)
            .unwrap()
            .unwrap();
        assert_eq!(decoded, (value as u32, len));
    }
}

#[test]
fn encode_publish_matches_publish_len_and_appends() {
    let props = publish_properties();
    for version in ALL {
        for (qos, id_) in [(QoS::AtMostOnce, None), (QoS::AtLeastOnce, Some(id(5)))] {
            let mut out = b"earlier".to_vec();
            let header = PublishHeader {
                dup: true,
                qos,
                retain: true,
                packet_id: id_,
            };
            encode_publish(&mut out, version, header, "t/x", &props, b"data");
            assert_eq!(&out[..7], b"earlier");
            let len = publish_len(version, "t/x", &props, 4, id_.is_some());
            assert_eq!(out.len() - 7, len);
            let Packet::Publish(p) = decode_one(&out[7..], version) else {
                panic!("not a PUBLISH");
            };
            // DUP is only ever written with QoS 1 and 2.
            assert_eq!(p.dup, qos != QoS::AtMostOnce);
            assert!(p.retain);
            assert_eq!(p.packet_id, id_);
            assert_eq!(p.properties.is_empty(), !version.is_v5());
        }
    }
}

#[test]
fn overlong_strings_are_cut_at_a_character_boundary() {
    // 'é' is two bytes: 40,000 of them are 80,000 bytes, over the 65,535 a length can say.
    let long: String = "é".repeat(40_000);
    let mut out = Vec::new();
    put_str(&mut out, &long);
    assert_eq!(out.len(), str_len(&long));
    assert_eq!(out.len(), 2 + 65_534);
    assert_eq!(&out[..2], &[0xFF, 0xFE]);
    assert!(std::str::from_utf8(&out[2..]).is_ok());
}
