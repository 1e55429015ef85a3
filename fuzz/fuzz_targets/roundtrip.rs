//! Structured packets survive encode, decode and re-encode.
//! The body is [`minibroker::fuzzing::roundtrip`], which `cargo test` replays on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minibroker::fuzzing::roundtrip(data));
