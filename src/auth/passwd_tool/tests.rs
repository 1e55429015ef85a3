//! Tests for `minibroker passwd`'s command line; the file handling is exercised end to end by
//! tests/passwd.rs.

use super::*;
use std::num::NonZeroU32;

fn parse(args: &[&str]) -> Result<Request, PasswdError> {
    parse_args(args.iter().map(OsString::from))
}

fn options(args: &[&str]) -> Options {
    match parse(args) {
        Ok(Request::Run(options)) => options,
        other => panic!("{args:?} should run: {other:?}"),
    }
}

fn usage_error(args: &[&str]) -> String {
    match parse(args) {
        Err(PasswdError::Usage(message)) => message,
        other => panic!("{args:?} should be a usage error: {other:?}"),
    }
}

fn iterations(n: u32) -> HashKind {
    HashKind::Pbkdf2 {
        iterations: NonZeroU32::new(n).unwrap(),
    }
}

#[test]
fn every_mode_reads_its_arguments() {
    let user = || "u".to_owned();
    let cases: &[(&[&str], Action)] = &[
        (
            &["f", "u"],
            Action::Set {
                user: user(),
                password: None,
            },
        ),
        (
            &["-b", "f", "u", "p"],
            Action::Set {
                user: user(),
                password: Some(b"p".to_vec()),
            },
        ),
        (
            &["-c", "f", "u"],
            Action::Create {
                user: user(),
                password: None,
            },
        ),
        (
            &["-c", "-b", "f", "u", "p"],
            Action::Create {
                user: user(),
                password: Some(b"p".to_vec()),
            },
        ),
        (&["-D", "f", "u"], Action::Delete { user: user() }),
        (&["-U", "f"], Action::Convert),
    ];
    for (args, action) in cases {
        let options = options(args);
        assert_eq!(&options.action, action, "{args:?}");
        assert_eq!(options.file, PathBuf::from("f"));
        assert_eq!(options.kind, HashKind::DEFAULT);
    }
}

#[test]
fn hash_options() {
    assert_eq!(options(&["-H", "sha512", "f", "u"]).kind, HashKind::Sha512);
    assert_eq!(
        options(&["-H", "sha512-pbkdf2", "f", "u"]).kind,
        HashKind::DEFAULT
    );
    assert_eq!(options(&["-I", "5000", "f", "u"]).kind, iterations(5000));
    assert_eq!(options(&["-I", "7", "-U", "f"]).kind, iterations(7));
    assert!(usage_error(&["-H", "md5", "f", "u"]).contains("unknown hash type"));
    assert!(usage_error(&["-I", "0", "f", "u"]).contains("above 0"));
    assert!(usage_error(&["-I", "many", "f", "u"]).contains("above 0"));
    assert!(usage_error(&["f", "u", "-I"]).contains("expected 2"));
    assert!(usage_error(&["-I"]).contains("need a value"));
}

#[test]
fn conflicting_options_and_wrong_counts_are_usage_errors() {
    assert!(usage_error(&["-c", "-D", "f", "u"]).contains("-c and -D"));
    assert!(usage_error(&["-c", "-U", "f"]).contains("-c and -U"));
    assert!(usage_error(&["-D", "-U", "f"]).contains("-D and -U"));
    assert!(usage_error(&["-b", "-D", "f", "u"]).contains("-b and -D"));
    assert!(usage_error(&[]).contains("expected 2"));
    assert!(usage_error(&["f"]).contains("expected 2"));
    assert!(usage_error(&["f", "u", "extra"]).contains("expected 2"));
    assert!(usage_error(&["-b", "f", "u"]).contains("expected 3"));
    assert!(usage_error(&["-U", "f", "u"]).contains("expected 1"));
}

#[test]
fn options_end_at_the_first_other_word() {
    // As in mosquitto_passwd: `-b` after the file is the username.
    let options = options(&["f", "-b"]);
    assert_eq!(
        options.action,
        Action::Set {
            user: "-b".to_owned(),
            password: None
        }
    );
}

#[test]
fn usernames_are_checked_before_anything_is_read() {
    let error = parse(&["f", "a:b"]).unwrap_err();
    assert!(
        matches!(error, PasswdError::Edit(EditError::UsernameColon)),
        "{error:?}"
    );
    assert!(matches!(parse(&["-h"]), Ok(Request::Help)));
}
