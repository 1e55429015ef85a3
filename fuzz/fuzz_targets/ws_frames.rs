//! WebSocket client bytes through the handshake parser and the frame decoder, split where the
//! input says; the body is [`minibroker::fuzzing::ws_frames`], which `cargo test` can replay.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minibroker::fuzzing::ws_frames(data));
