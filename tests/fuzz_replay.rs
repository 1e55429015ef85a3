//! Replays every fuzz input kept in the repository (the seed corpus, minimized regressions, and
//! any crash a local fuzzing run saved) through the library's target functions, on stable.
//!
//! `fuzz/corpus/<target>/`, `fuzz/regressions/<target>/` and `fuzz/artifacts/<target>/` are
//! read; the last is not committed, so a crash found locally fails `cargo test` until fixed.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};

use minibroker::fuzzing;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs `target` on every file kept for it; returns how many there were.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let mut count = 0;
    for kind in ["corpus", "regressions", "artifacts"] {
        let Ok(entries) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths.iter().filter(|p| p.is_file()) {
            let data = fs::read(path).unwrap();
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
                eprintln!("fuzz target {target} failed on {}", path.display());
                resume_unwind(panic);
            }
            count += 1;
        }
    }
    count
}

#[test]
fn decode() {
    assert!(replay("decode", fuzzing::decode) > 0, "no decode corpus");
}

#[test]
fn decode_chunked() {
    assert!(replay("decode_chunked", fuzzing::decode_chunked) > 0);
}

#[test]
fn roundtrip() {
    assert!(replay("roundtrip", fuzzing::roundtrip) > 0);
}

#[test]
fn store() {
    assert!(replay("store", fuzzing::store) > 0);
}

#[test]
fn session() {
    assert!(replay("session", fuzzing::session) > 0);
}

#[cfg(feature = "websockets")]
#[test]
fn ws_frames() {
    assert!(
        replay("ws_frames", fuzzing::ws_frames) > 0,
        "no ws_frames corpus"
    );
}

/// The library function behind each fuzz target.
fn target(name: &str) -> fn(&[u8]) {
    match name {
        "decode" => fuzzing::decode,
        "decode_chunked" => fuzzing::decode_chunked,
        "roundtrip" => fuzzing::roundtrip,
        "session" => fuzzing::session,
        "store" => fuzzing::store,
        #[cfg(feature = "websockets")]
        "ws_frames" => fuzzing::ws_frames,
        other => panic!("a seed for an unknown fuzz target {other}"),
    }
}

/// The sample packets behind the seeds survive a roundtrip themselves.
#[test]
fn sample_packets_roundtrip() {
    for version in fuzzing::VERSIONS {
        for (_, packet) in fuzzing::sample_packets(version) {
            fuzzing::check_roundtrip(&packet, version);
        }
    }
}

/// The seeds replay cleanly straight from the generator, before any corpus is written.
#[test]
fn seeds_pass() {
    let mut targets = std::collections::BTreeSet::new();
    for seed in fuzzing::seeds::all() {
        target(seed.target)(&seed.bytes);
        targets.insert(seed.target);
    }
    let mut expected = vec!["decode", "decode_chunked", "roundtrip", "session", "store"];
    if cfg!(feature = "websockets") {
        expected.push("ws_frames");
    }
    assert_eq!(targets.into_iter().collect::<Vec<_>>(), expected);
}

/// Writes the seed corpus: `cargo test --test fuzz_replay -- --ignored generate_seed_corpus`,
/// then `cargo fuzz cmin` each target (see `fuzz/README.md`).
#[test]
#[ignore = "writes fuzz/corpus"]
fn generate_seed_corpus() {
    for seed in fuzzing::seeds::all() {
        let dir = fuzz_dir().join("corpus").join(seed.target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(&seed.name), &seed.bytes).unwrap();
    }
}
