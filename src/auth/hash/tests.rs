//! Tests for the hash forms: the reference vectors, the encoding round trip, each way a field
//! can be malformed, and (ignored by default) what a verification costs.

use super::*;

/// From mosquitto's test/broker/09-pwfile-parse-invalid.py; the password is `test`.
const SHA512_VECTOR: &str = "$6$njERlZMi/7DzNB9E$iiavfuXvUm8iyDZArTy7smTxh07GXXOrOsqxfW6gkOYVXHGk+W+i/8d3xDxrMwEPygEBhoA8A/gjQC0N2M4Lkw==";

/// Password `test`, salt bytes 00..0b, 101 iterations (MOSQUITTO-COMPAT.md section 4).
const PBKDF2_VECTOR: &str = "$7$101$AAECAwQFBgcICQoL$mgBlssWhuKbbsDyLVPe9d97XFx3ypLOHAsl3u+r3nEjPBdlHNVKLU0zo8aBhREGoXwJ+YU68Mh5/iP2FvHGLWg==";

fn parse(field: &str) -> PasswordHash {
    match PasswordHash::parse(field) {
        Ok(hash) => hash,
        Err(error) => panic!("{field:?} should parse: {error}"),
    }
}

fn iterations(n: u32) -> HashKind {
    HashKind::Pbkdf2 {
        iterations: NonZeroU32::new(n).unwrap(),
    }
}

#[test]
fn sha512_vector_verifies() {
    let hash = parse(SHA512_VECTOR);
    assert_eq!(hash.kind(), HashKind::Sha512);
    assert!(hash.verify(b"test"));
    assert!(!hash.verify(b"Test"));
    assert!(!hash.verify(b""));
}

#[test]
fn pbkdf2_vector_verifies() {
    let hash = parse(PBKDF2_VECTOR);
    assert_eq!(hash.kind(), iterations(101));
    assert_eq!(hash.kind(), HashKind::DEFAULT);
    assert!(hash.verify(b"test"));
    assert!(!hash.verify(b"test "));
}

#[test]
fn pbkdf2_vector_is_recomputed_from_its_inputs() {
    let salt: [u8; SALT_LEN] = std::array::from_fn(|i| i as u8);
    let hash = PasswordHash::compute(HashKind::DEFAULT, b"test", salt);
    assert_eq!(hash.to_string(), PBKDF2_VECTOR);
}

#[test]
fn display_round_trips_both_forms() {
    for field in [SHA512_VECTOR, PBKDF2_VECTOR] {
        assert_eq!(parse(field).to_string(), field);
    }
    let computed = PasswordHash::compute(HashKind::Sha512, b"pw", [7; SALT_LEN]);
    assert_eq!(parse(&computed.to_string()), computed);
    assert!(computed.verify(b"pw"));
}

#[test]
fn malformed_fields_are_refused_for_the_right_reason() {
    let salt = "AAECAwQFBgcICQoL";
    let hash =
        "mgBlssWhuKbbsDyLVPe9d97XFx3ypLOHAsl3u+r3nEjPBdlHNVKLU0zo8aBhREGoXwJ+YU68Mh5/iP2FvHGLWg==";
    let cases: Vec<(String, HashError)> = vec![
        ("test".into(), HashError::UnknownForm),
        ("".into(), HashError::UnknownForm),
        ("$5$abc$def".into(), HashError::UnknownForm),
        ("$6$".into(), HashError::MissingPart),
        (format!("$6${salt}"), HashError::MissingPart),
        (format!("$7${salt}${hash}"), HashError::Iterations),
        ("$7$101".into(), HashError::MissingPart),
        (format!("$7$0${salt}${hash}"), HashError::Iterations),
        (format!("$7$+5${salt}${hash}"), HashError::Iterations),
        (format!("$7$-5${salt}${hash}"), HashError::Iterations),
        (
            format!("$7$4294967296${salt}${hash}"),
            HashError::Iterations,
        ),
        (format!("$7$${salt}${hash}"), HashError::Iterations),
        (format!("$6${salt}${hash}$"), HashError::ExtraPart),
        (format!("$6${salt}${hash}$x"), HashError::ExtraPart),
        (format!("$6$!!!!${hash}"), HashError::SaltEncoding),
        (format!("$6$AAECAwQFBgcICQ${hash}"), HashError::SaltEncoding),
        (
            format!("$6$AAECAwQFBgcICQo=${hash}"),
            HashError::SaltLength(11),
        ),
        (format!("$6${salt}$AAAA"), HashError::HashLength(3)),
        (
            format!("$6${salt}${}", hash.trim_end_matches('=')),
            HashError::HashEncoding,
        ),
        (format!("$6${salt}$"), HashError::HashLength(0)),
    ];
    for (field, expected) in cases {
        assert_eq!(
            PasswordHash::parse(&field).err(),
            Some(expected),
            "{field:?}"
        );
    }
}

#[test]
fn errors_and_debug_never_show_the_field() {
    let hash = parse(SHA512_VECTOR);
    let debug = format!("{hash:?}");
    assert!(!debug.contains("njERlZMi"), "{debug}");
    for error in [
        HashError::UnknownForm,
        HashError::SaltLength(3),
        HashError::Iterations,
    ] {
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn the_iteration_count_is_what_the_field_says() {
    let hash = PasswordHash::compute(iterations(7), b"pw", [1; SALT_LEN]);
    assert!(hash.to_string().starts_with("$7$7$"));
    assert_eq!(hash.kind().iterations(), 7);
    assert_eq!(HashKind::Sha512.iterations(), 1);
    assert!(parse(&hash.to_string()).verify(b"pw"));
    let other = PasswordHash::compute(iterations(8), b"pw", [1; SALT_LEN]);
    assert_ne!(hash, other);
}

/// What one verification costs, so the ceiling in `password_file` rests on a measurement.
/// Run it optimised: `cargo test --release --lib verification_cost -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run with --release --ignored --nocapture"]
fn verification_cost() {
    use std::time::Instant;
    for kind in [
        HashKind::Sha512,
        iterations(101),
        iterations(1_000),
        iterations(10_000),
        iterations(100_000),
        iterations(1_000_000),
    ] {
        let hash = PasswordHash::compute(kind, b"password", [3; SALT_LEN]);
        let rounds = (200_000 / kind.iterations()).clamp(3, 2_000);
        let start = Instant::now();
        for _ in 0..rounds {
            assert!(hash.verify(std::hint::black_box(b"password")));
        }
        let each = start.elapsed() / rounds;
        println!("{kind:?}: {each:?} per verification ({rounds} rounds)");
    }
}
