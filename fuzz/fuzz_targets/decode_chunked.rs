//! A byte stream split where the input says must decode as it does whole.
//! The body is [`minibroker::fuzzing::decode_chunked`], which `cargo test` replays on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minibroker::fuzzing::decode_chunked(data));
