//! Arbitrary bytes as packets on a connection of every protocol version.
//! The body is [`minibroker::fuzzing::decode`], which `cargo test` replays on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minibroker::fuzzing::decode(data));
