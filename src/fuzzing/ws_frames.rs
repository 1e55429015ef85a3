//! The `ws_frames` fuzz target's body: client bytes through the WebSocket handshake parser and
//! the frame decoder (its message bound on), whole and in pieces of sizes the input chooses,
//! which must agree.

use crate::ws::{Control, Decoder, FrameError, parse_request};

/// The maximum packet size the decoder is told, in bytes.
const MAX_PACKET_SIZE: u32 = 1024;

/// Decodes `input` in pieces of `size` bytes (all at once for 0): the MQTT bytes, the
/// controls, and the error that stopped it, if one did.
fn decode_in_pieces(input: &[u8], size: usize) -> (Vec<u8>, Vec<Control>, Option<FrameError>) {
    let mut decoder = Decoder::default();
    // A small maximum packet size, so that headers announcing more than it allows (plus the
    // margin) are refused within the few KiB of a fuzz input.
    decoder.set_max_packet_size(MAX_PACKET_SIZE);
    let (mut data, mut controls) = (Vec::new(), Vec::new());
    let size = if size == 0 { input.len().max(1) } else { size };
    for piece in input.chunks(size) {
        let mut buf = piece.to_vec();
        match decoder.decode(&mut buf, &mut controls) {
            Ok(n) => data.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) => return (data, controls, Some(e)),
        }
    }
    (data, controls, None)
}

/// The first byte picks the piece size; the rest is the client's bytes. Panics (which the
/// fuzzer reports) if the pieces decode differently from the whole.
pub fn ws_frames(input: &[u8]) {
    let Some((&size, bytes)) = input.split_first() else {
        return;
    };
    let _ = parse_request(bytes, 4096);
    let whole = decode_in_pieces(bytes, 0);
    let pieces = decode_in_pieces(bytes, usize::from(size));
    // A decode that fails drops that call's bytes (the connection closes), so after an error
    // only the error itself must agree.
    if whole.2.is_some() {
        assert_eq!(whole.2, pieces.2, "failed differently in pieces of {size}");
    } else {
        assert_eq!(whole, pieces, "decoded differently in pieces of {size}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_body_accepts_frames_requests_and_garbage() {
        // A masked binary frame carrying PINGREQ, a ping, and a text frame, in pieces of 1 and 3.
        let frames = [
            0x82, 0x82, 1, 2, 3, 4, 0xC1, 0x02, 0x89, 0x80, 9, 9, 9, 9, 0x81, 0x80, 0, 0, 0, 0,
        ];
        for size in [0u8, 1, 3] {
            let mut input = vec![size];
            input.extend_from_slice(&frames);
            super::ws_frames(&input);
        }
        super::ws_frames(b"\x05GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        super::ws_frames(&[]);
    }

    /// The seeds reach the paths they are named for: the request is an upgrade, the frames
    /// decode whole with their controls, the 1 TiB header meets the message bound.
    #[test]
    fn the_seeds_reach_what_they_are_named_for() {
        use crate::ws::{Control, FrameError, Parsed, Request, parse_request};
        let seed = |name: &str| {
            crate::fuzzing::seeds::all()
                .into_iter()
                .find(|s| s.target == "ws_frames" && s.name == name)
                .map(|s| s.bytes[1..].to_vec())
                .unwrap()
        };
        let request = seed("handshake");
        assert!(matches!(
            parse_request(&request, 4096),
            Ok(Some(Parsed { request: Request::Upgrade(_), len })) if len == request.len()
        ));
        let (data, controls, error) = super::decode_in_pieces(&seed("frames"), 0);
        assert_eq!(error, None);
        assert!(data.len() > 100);
        assert_eq!(
            controls,
            [
                Control::Ping(b"ping".to_vec()),
                Control::Pong,
                Control::Close(Some(1000))
            ]
        );
        let (_, _, error) = super::decode_in_pieces(&seed("frame-announcing-1-tib"), 0);
        assert!(matches!(error, Some(FrameError::MessageTooBig { .. })));
    }
}
