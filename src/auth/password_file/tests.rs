//! Tests for the password file: the line rules of mosquitto's parser one by one, the warnings
//! (which must never carry a password), and the login check.

use super::*;

const SHA512_TEST: &str = "$6$njERlZMi/7DzNB9E$iiavfuXvUm8iyDZArTy7smTxh07GXXOrOsqxfW6gkOYVXHGk+W+i/8d3xDxrMwEPygEBhoA8A/gjQC0N2M4Lkw==";
const PBKDF2_TEST: &str = "$7$101$AAECAwQFBgcICQoL$mgBlssWhuKbbsDyLVPe9d97XFx3ypLOHAsl3u+r3nEjPBdlHNVKLU0zo8aBhREGoXwJ+YU68Mh5/iP2FvHGLWg==";

fn parse(text: &str) -> ParsedPasswordFile {
    PasswordFile::parse(text.as_bytes(), "pw", PasswordLimits::default())
}

fn problems(parsed: &ParsedPasswordFile) -> Vec<(usize, &str, PasswordProblem)> {
    let warnings = parsed.warnings.iter();
    warnings
        .map(|w| (w.line, w.user.as_str(), w.problem))
        .collect()
}

#[test]
fn both_reference_vectors_log_in() {
    let parsed = parse(&format!("six:{SHA512_TEST}\nseven:{PBKDF2_TEST}\n"));
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let file = parsed.file;
    assert_eq!(file.len(), 2);
    assert!(file.check("six", Some(b"test")));
    assert!(file.check("seven", Some(b"test")));
    assert!(!file.check("six", Some(b"wrong")));
    assert!(!file.check("seven", Some(b"tes")));
    assert!(!file.check("nobody", Some(b"test")));
}

#[test]
fn a_zero_length_password_counts_as_none() {
    let file = parse(&format!("u:{PBKDF2_TEST}")).file;
    assert!(!file.check("u", Some(b"")));
    assert!(!file.check("u", None));
    assert!(!file.check("nobody", None));
}

#[test]
fn comments_and_lines_without_a_colon_are_skipped() {
    let text =
        format!("# comment:{PBKDF2_TEST}\n\n   \nno colon here\n#u:{PBKDF2_TEST}\nu:{PBKDF2_TEST}");
    let parsed = parse(&text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.file.len(), 1);
    assert!(parsed.file.contains_user("u"));
    assert!(!parsed.file.contains_user("#u"));
}

#[test]
fn an_indented_hash_sign_is_a_user_name() {
    // Only a `#` in the first byte makes a comment; mosquitto reads ` #u` as the user `#u`.
    let parsed = parse(&format!(" #u:{PBKDF2_TEST}\n"));
    assert!(parsed.file.contains_user("#u"));
}

#[test]
fn user_and_hash_are_trimmed_and_the_hash_ends_at_the_next_colon() {
    let text = format!(" \tu v \t:  {PBKDF2_TEST}\t \r\nw:{SHA512_TEST}:ignored:too\r\n");
    let parsed = parse(&text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert!(parsed.file.check("u v", Some(b"test")));
    assert!(parsed.file.check("w", Some(b"test")));
}

#[test]
fn the_later_of_two_entries_wins_with_a_warning() {
    let other = PasswordHash::compute(HashKind::Sha512, b"other", [9; SALT_LEN]);
    let parsed = parse(&format!("u:{PBKDF2_TEST}\nv:{other}\nu:{other}\n"));
    assert_eq!(
        problems(&parsed),
        [(3, "u", PasswordProblem::Duplicate { first_line: 1 })]
    );
    assert!(parsed.file.check("u", Some(b"other")));
    assert!(!parsed.file.check("u", Some(b"test")));
}

#[test]
fn invalid_entries_are_dropped_and_named_without_their_field() {
    let text = format!(
        "plain:hunter2\nempty:\n:{PBKDF2_TEST}\n   :{PBKDF2_TEST}\nshort:$6$AAAA$AAAA\n\
         ok:{PBKDF2_TEST}\nbad$7:$7$x$AAECAwQFBgcICQoL$AAAA\n"
    );
    let parsed = parse(&text);
    assert_eq!(
        problems(&parsed),
        [
            (
                1,
                "plain",
                PasswordProblem::InvalidHash(HashError::UnknownForm)
            ),
            (
                2,
                "empty",
                PasswordProblem::InvalidHash(HashError::UnknownForm)
            ),
            (3, "", PasswordProblem::EmptyUser),
            (4, "", PasswordProblem::EmptyUser),
            (
                5,
                "short",
                PasswordProblem::InvalidHash(HashError::SaltLength(3))
            ),
            (
                7,
                "bad$7",
                PasswordProblem::InvalidHash(HashError::Iterations)
            ),
        ]
    );
    assert_eq!(parsed.file.len(), 1);
    assert!(!parsed.file.check("plain", Some(b"hunter2")));
    for warning in &parsed.warnings {
        let text = warning.to_string();
        assert!(
            text.starts_with(&format!("pw:{}: user ", warning.line)),
            "{text}"
        );
        assert!(
            !text.contains("hunter2") && !text.contains("AAAA"),
            "{text}"
        );
    }
}

#[test]
fn bytes_that_are_not_utf8_are_tolerated_where_the_format_does_not_look() {
    let mut text = b"# \xff\xfe comment\n\xffx:".to_vec();
    text.extend_from_slice(PBKDF2_TEST.as_bytes());
    text.extend_from_slice(b"\nbin:\xff\xfe\nu:");
    text.extend_from_slice(PBKDF2_TEST.as_bytes());
    let parsed = PasswordFile::parse(&text, "pw", PasswordLimits::default());
    assert_eq!(
        problems(&parsed),
        [
            (2, "\u{fffd}x", PasswordProblem::UserNotUtf8),
            (
                3,
                "bin",
                PasswordProblem::InvalidHash(HashError::UnknownForm)
            ),
        ]
    );
    assert!(parsed.file.check("u", Some(b"test")));
}

#[test]
fn entries_above_the_iteration_ceiling_are_dropped() {
    let limits = PasswordLimits {
        max_iterations: 100,
    };
    let parsed = PasswordFile::parse(format!("u:{PBKDF2_TEST}").as_bytes(), "pw", limits);
    assert_eq!(
        problems(&parsed),
        [(
            1,
            "u",
            PasswordProblem::TooManyIterations {
                iterations: 101,
                max: 100
            }
        )]
    );
    assert!(parsed.file.is_empty());
    let limits = PasswordLimits {
        max_iterations: 101,
    };
    let parsed = PasswordFile::parse(format!("u:{PBKDF2_TEST}").as_bytes(), "pw", limits);
    assert!(parsed.warnings.is_empty());
    assert_eq!(
        PasswordLimits::default().max_iterations,
        DEFAULT_MAX_ITERATIONS
    );
}

#[test]
fn a_warning_escapes_control_characters_in_the_user_name() {
    let parsed = parse("evil\u{1b}[2J\n x:plain\n");
    // The first line has no colon; the second names ` x`, trimmed.
    assert_eq!(parsed.warnings.len(), 1);
    let parsed = parse("a\u{1b}b:plain\n");
    let text = parsed.warnings[0].to_string();
    assert!(text.contains(r#"user "a\u{1b}b""#), "{text}");
}

#[test]
fn an_empty_file_has_no_users() {
    let parsed = parse("");
    assert!(parsed.file.is_empty() && parsed.warnings.is_empty());
    assert!(!parsed.file.check("u", Some(b"x")));
}
