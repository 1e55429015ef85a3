//! The frame decoder against client frames built here by hand: every split point, several MQTT
//! packets in one frame, one packet across frames, control frames between fragments, and the
//! frames RFC 6455 and MQTT make a server refuse.

use super::*;

const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// A masked client frame: FIN and opcode, then the length in its shortest form (or `wide`
/// forms it in 64 bits), the key and the masked payload (RFC 6455 section 5.2).
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, k)| b ^ k));
    out
}

fn binary(payload: &[u8]) -> Vec<u8> {
    frame(true, OP_BINARY, payload)
}

/// Decodes `input` given in pieces cut at `cuts`; returns the MQTT bytes and the controls.
fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, Vec<Control>), FrameError> {
    decode_with(Decoder::default(), input, cuts)
}

fn decode_with(
    mut decoder: Decoder,
    input: &[u8],
    cuts: &[usize],
) -> Result<(Vec<u8>, Vec<Control>), FrameError> {
    let mut data = Vec::new();
    let mut controls = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain([input.len()].iter()) {
        let mut piece = input[start..end].to_vec();
        let n = decoder.decode(&mut piece, &mut controls)?;
        data.extend_from_slice(&piece[..n]);
        start = end;
    }
    Ok((data, controls))
}

fn decode_all(input: &[u8]) -> Result<(Vec<u8>, Vec<Control>), FrameError> {
    decode_in_pieces(input, &[])
}

/// A PINGREQ and a PUBLISH (topic "a/b", payload "hi"), as the MQTT stream.
const PINGREQ: [u8; 2] = [0xC0, 0x00];
const PUBLISH: [u8; 9] = [0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i'];

fn stream() -> Vec<u8> {
    let mut s = PINGREQ.to_vec();
    s.extend_from_slice(&PUBLISH);
    s.extend_from_slice(&PINGREQ);
    s
}

#[test]
fn a_frame_split_at_every_byte_decodes_the_same() {
    // Short, 16-bit and 64-bit lengths: every header form is split everywhere too.
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    for payload in [stream(), vec![7; 300], big.clone()] {
        let input = binary(&payload);
        let step = if input.len() > 1000 { 997 } else { 1 };
        for cut in (1..input.len()).step_by(step).chain(1..20) {
            let (data, controls) = decode_in_pieces(&input, &[cut]).expect("valid");
            assert_eq!(data, payload, "split at {cut}");
            assert!(controls.is_empty());
        }
    }
    // A 64-bit length for a small payload is allowed too.
    let mut wide = vec![0x82, 0x80 | 127];
    wide.extend_from_slice(&3u64.to_be_bytes());
    wide.extend_from_slice(&MASK);
    wide.extend([1u8, 2, 3].iter().zip(MASK).map(|(b, k)| b ^ k));
    assert_eq!(decode_all(&wide).unwrap().0, [1, 2, 3]);
}

#[test]
fn every_split_of_a_frame_sequence_in_one_byte_pieces() {
    // [MQTT-6.0.0-2]: frames and packets need not line up.
    let s = stream();
    let mut input = binary(&s[..3]);
    input.extend(frame(true, OP_PING, b"p"));
    input.extend(binary(&s[3..]));
    let cuts: Vec<usize> = (1..input.len()).collect();
    let (data, controls) = decode_in_pieces(&input, &cuts).expect("valid");
    assert_eq!(data, s);
    assert_eq!(controls, [Control::Ping(b"p".to_vec())]);
    for cut in 1..input.len() {
        for second in cut + 1..input.len() {
            let (data, _) = decode_in_pieces(&input, &[cut, second]).expect("valid");
            assert_eq!(data, s, "cuts at {cut} and {second}");
        }
    }
}

#[test]
fn several_packets_in_one_frame() {
    let (data, _) = decode_all(&binary(&stream())).expect("valid");
    assert_eq!(data, stream());
}

#[test]
fn one_packet_across_frames_and_fragments() {
    // A PUBLISH in three frames of one fragmented message (section 5.4), then one whole frame.
    let mut input = frame(false, OP_BINARY, &PUBLISH[..1]);
    input.extend(frame(false, OP_CONTINUATION, &PUBLISH[1..5]));
    input.extend(frame(true, OP_CONTINUATION, &PUBLISH[5..]));
    input.extend(binary(&PINGREQ));
    let (data, controls) = decode_all(&input).expect("valid");
    assert_eq!(data, [&PUBLISH[..], &PINGREQ[..]].concat());
    assert!(controls.is_empty());
}

#[test]
fn control_frames_between_fragments_are_handled_on_the_way() {
    // Section 5.4: control frames may be injected in the middle of a fragmented message.
    let mut input = frame(false, OP_BINARY, &PUBLISH[..4]);
    input.extend(frame(true, OP_PING, b"are you there"));
    input.extend(frame(true, OP_PONG, b""));
    input.extend(frame(true, OP_CONTINUATION, &PUBLISH[4..]));
    let (data, controls) = decode_all(&input).expect("valid");
    assert_eq!(data, PUBLISH);
    assert_eq!(
        controls,
        [Control::Ping(b"are you there".to_vec()), Control::Pong]
    );
}

#[test]
fn empty_frames_carry_nothing() {
    let mut input = binary(b"");
    input.extend(frame(false, OP_BINARY, b""));
    input.extend(frame(true, OP_CONTINUATION, &PINGREQ));
    assert_eq!(decode_all(&input).unwrap().0, PINGREQ);
}

#[test]
fn a_close_frame_ends_decoding() {
    // Section 5.5.1: after a close frame the endpoint sends no more data frames.
    let mut close_body = 1000u16.to_be_bytes().to_vec();
    close_body.extend_from_slice(b"bye");
    let mut input = binary(&PINGREQ);
    input.extend(frame(true, OP_CLOSE, &close_body));
    input.extend(binary(&PUBLISH));
    let mut decoder = Decoder::default();
    let mut controls = Vec::new();
    let n = decoder.decode(&mut input, &mut controls).expect("valid");
    assert_eq!(n, 2);
    assert_eq!(controls, [Control::Close(Some(1000))]);
    assert!(decoder.closed());
    assert_eq!(
        decode_all(&frame(true, OP_CLOSE, b"")).unwrap().1,
        [Control::Close(None)]
    );
    assert_eq!(
        decode_all(&frame(true, OP_CLOSE, b"x")),
        Err(FrameError::CloseBodyTooShort)
    );
}

#[test]
fn unmasked_frames_are_refused() {
    // Section 5.1: "a server MUST close the connection upon receiving a frame that is not
    // masked".
    let unmasked = [0x82, 0x02, 0xC0, 0x00];
    assert_eq!(decode_all(&unmasked), Err(FrameError::Unmasked));
}

#[test]
fn oversize_and_malformed_frames_are_refused() {
    let cases: Vec<(Vec<u8>, FrameError)> = vec![
        // Section 5.5: control frames carry at most 125 bytes.
        (
            frame(true, OP_PING, &[0; 126]),
            FrameError::ControlTooLong(126),
        ),
        // Section 5.2: the most significant bit of a 64-bit length must be 0.
        (
            [&[0x82, 0xFF][..], &(1u64 << 63).to_be_bytes(), &MASK].concat(),
            FrameError::LengthTooLarge,
        ),
        // Section 5.5: control frames must not be fragmented.
        (frame(false, OP_PING, b""), FrameError::FragmentedControl),
        // Section 5.2: reserved bits without a negotiated extension.
        ([0xC2, 0x80, 1, 2, 3, 4].to_vec(), FrameError::ReservedBits),
        (frame(true, 0x3, b""), FrameError::ReservedOpcode(3)),
        (frame(true, 0xB, b""), FrameError::ReservedOpcode(0xB)),
        // [MQTT-6.0.0-1]: MQTT is carried in binary frames only.
        (frame(true, OP_TEXT, b"{}"), FrameError::TextFrame),
        // Section 5.4: continuation with nothing to continue, and a new message too early.
        (
            frame(true, OP_CONTINUATION, b"x"),
            FrameError::UnexpectedContinuation,
        ),
        (
            [frame(false, OP_BINARY, b"x"), binary(b"y")].concat(),
            FrameError::UnfinishedMessage,
        ),
    ];
    for (input, error) in cases {
        assert_eq!(decode_all(&input), Err(error), "{input:02x?}");
        // Found as soon as the header is complete, whatever follows.
        assert_eq!(
            decode_in_pieces(&input, &[1]).map(|_| ()),
            Err(error),
            "in pieces: {input:02x?}"
        );
    }
}

#[test]
fn a_control_frame_of_125_bytes_is_accepted() {
    let payload = [9u8; MAX_CONTROL_PAYLOAD];
    let (_, controls) = decode_all(&frame(true, OP_PING, &payload)).expect("valid");
    assert_eq!(controls, [Control::Ping(payload.to_vec())]);
}

#[test]
fn server_frames_are_unmasked_with_the_shortest_length() {
    let mut out = Vec::new();
    encode_binary_header(2, &mut out);
    assert_eq!(out, [0x82, 0x02]);
    out.clear();
    encode_binary_header(300, &mut out);
    assert_eq!(out, [0x82, 126, 0x01, 0x2C]);
    out.clear();
    encode_binary_header(70_000, &mut out);
    assert_eq!(out, [0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]);
    assert!(out.len() <= MAX_SERVER_HEADER);
    out.clear();
    encode_pong(b"abc", &mut out);
    assert_eq!(out, [0x8A, 3, b'a', b'b', b'c']);
    out.clear();
    encode_close(CLOSE_PROTOCOL_ERROR, &mut out);
    assert_eq!(out, [0x88, 2, 0x03, 0xEA]);
}

/// The largest packet the bounded decoder below is told about, and the message bound it gives.
const MAX_PACKET: u32 = 100;
const MAX_MESSAGE: u64 = MAX_PACKET as u64 + MESSAGE_MARGIN;

fn bounded() -> Decoder {
    let mut decoder = Decoder::default();
    decoder.set_max_packet_size(MAX_PACKET);
    decoder
}

/// A header alone announcing a binary frame of `len` bytes, in the 64-bit length form.
fn announcing(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    [
        &[(u8::from(fin) << 7) | opcode, 0x80 | 127][..],
        &len.to_be_bytes(),
        &MASK,
    ]
    .concat()
}

#[test]
fn a_message_above_the_maximum_packet_size_is_refused_from_its_header_with_1009() {
    // Section 7.4.1: 1009 "indicates that an endpoint is terminating the connection because
    // it has received a message that is too big for it to process".
    let too_big = FrameError::MessageTooBig {
        len: MAX_MESSAGE + 1,
        max: MAX_MESSAGE,
    };
    assert_eq!(too_big.close_code(), CLOSE_MESSAGE_TOO_BIG);
    // Refused on the header, before any of the payload is there, in every split of it.
    let header = announcing(true, OP_BINARY, MAX_MESSAGE + 1);
    for cut in 1..header.len() {
        assert_eq!(
            decode_with(bounded(), &header, &[cut]),
            Err(too_big),
            "cut at {cut}"
        );
    }
    let huge = announcing(true, OP_BINARY, 1 << 40);
    assert_eq!(
        decode_with(bounded(), &huge, &[]),
        Err(FrameError::MessageTooBig {
            len: 1 << 40,
            max: MAX_MESSAGE
        })
    );
    // A decoder never told the limit waits for that payload.
    assert_eq!(decode_all(&huge), Ok((Vec::new(), Vec::new())));
}

#[test]
fn a_message_of_exactly_the_bound_passes_and_each_message_counts_afresh() {
    let payload = vec![7u8; usize::try_from(MAX_MESSAGE).unwrap()];
    let mut input = binary(&payload);
    input.extend(binary(&payload));
    let (data, _) = decode_with(bounded(), &input, &[]).expect("two messages at the bound");
    assert_eq!(data.len(), payload.len() * 2);
}

#[test]
fn a_fragmented_message_is_bounded_by_its_total() {
    let half = usize::try_from(MAX_MESSAGE / 2).unwrap();
    // Two fragments of half the bound each, then a third byte too many.
    let mut input = frame(false, OP_BINARY, &vec![1; half]);
    input.extend(frame(false, OP_CONTINUATION, &vec![2; half]));
    let fitting = decode_with(bounded(), &input, &[]).expect("within the bound");
    assert_eq!(fitting.0.len(), 2 * half);
    input.extend(announcing(
        true,
        OP_CONTINUATION,
        MAX_MESSAGE + 1 - 2 * half as u64,
    ));
    assert_eq!(
        decode_with(bounded(), &input, &[]),
        Err(FrameError::MessageTooBig {
            len: MAX_MESSAGE + 1,
            max: MAX_MESSAGE
        })
    );
    // Control frames between the fragments do not count.
    let mut input = frame(false, OP_BINARY, &vec![1; half]);
    input.extend(frame(true, OP_PING, &[0; MAX_CONTROL_PAYLOAD]));
    input.extend(frame(true, OP_CONTINUATION, &vec![2; half]));
    assert!(decode_with(bounded(), &input, &[]).is_ok());
}
