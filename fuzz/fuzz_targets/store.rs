//! Arbitrary bytes as a persistence store file, read and replayed as the broker does at start.
//! The body is [`minibroker::fuzzing::store`], which `cargo test` replays on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minibroker::fuzzing::store(data));
