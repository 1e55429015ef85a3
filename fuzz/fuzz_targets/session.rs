//! Client operations driven through the router, invariants checked at every step.
//! The body is [`minibroker::fuzzing::session`], which `cargo test` replays on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minibroker::fuzzing::session(data));
