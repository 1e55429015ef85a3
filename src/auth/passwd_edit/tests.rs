//! Tests for the password file edits: text in, text out, with fixed salts so results are exact.

use super::*;
use crate::auth::hash::{HashKind, SALT_LEN};

fn hash(password: &str) -> PasswordHash {
    PasswordHash::compute(HashKind::Sha512, password.as_bytes(), [5; SALT_LEN])
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn create_writes_one_entry() {
    assert_eq!(text(create("u", &hash("p"))), format!("u:{}\n", hash("p")));
}

#[test]
fn set_user_replaces_in_place_and_keeps_everything_else() {
    let old = format!(
        "# users\na:{}\n\nb:{}\r\nc:{}",
        hash("1"),
        hash("2"),
        hash("3")
    );
    let new = text(set_user(old.as_bytes(), "b", &hash("new")).unwrap());
    assert_eq!(
        new,
        format!(
            "# users\na:{}\n\nb:{}\nc:{}\n",
            hash("1"),
            hash("new"),
            hash("3")
        )
    );
}

#[test]
fn set_user_appends_a_new_user_after_a_last_line_without_newline() {
    let old = format!("a:{}", hash("1"));
    let new = text(set_user(old.as_bytes(), "z", &hash("2")).unwrap());
    assert_eq!(new, format!("a:{}\nz:{}\n", hash("1"), hash("2")));
    let new = text(set_user(b"", "z", &hash("2")).unwrap());
    assert_eq!(new, format!("z:{}\n", hash("2")));
}

#[test]
fn set_user_leaves_one_entry_for_a_duplicated_user() {
    let old = format!("a:{}\nb:{}\n a :{}\n", hash("1"), hash("2"), hash("3"));
    let new = text(set_user(old.as_bytes(), "a", &hash("4")).unwrap());
    assert_eq!(new, format!("a:{}\nb:{}\n", hash("4"), hash("2")));
}

#[test]
fn delete_user_removes_every_entry_of_that_user() {
    let old = format!("a:{}\nb:{}\na:{}\n", hash("1"), hash("2"), hash("3"));
    let new = text(delete_user(old.as_bytes(), "a").unwrap());
    assert_eq!(new, format!("b:{}\n", hash("2")));
    assert_eq!(
        delete_user(old.as_bytes(), "zed"),
        Err(EditError::UserNotFound("zed".to_owned()))
    );
    assert_eq!(text(delete_user(new.as_bytes(), "b").unwrap()), "");
}

#[test]
fn convert_hashes_plain_text_and_leaves_hashes_alone() {
    let kept = format!("h:{}", hash("already"));
    let old = format!("# plain\n p1 : secret \n{kept}\np2:pw:rest\n");
    let mut seen = Vec::new();
    let (new, count) = convert(old.as_bytes(), |password| {
        seen.push(String::from_utf8(password.to_vec()).unwrap());
        Ok::<_, EditError>(hash(&format!("H{}", seen.len())))
    })
    .unwrap();
    assert_eq!(seen, ["secret", "pw"]);
    assert_eq!(count, 2);
    assert_eq!(
        text(new),
        format!("# plain\np1:{}\n{kept}\np2:{}\n", hash("H1"), hash("H2"))
    );
}

#[test]
fn convert_twice_changes_nothing_the_second_time() {
    let once = convert(b"u:secret\n", |p| {
        Ok::<_, EditError>(hash(&String::from_utf8_lossy(p)))
    });
    let (once, _) = once.unwrap();
    let (twice, count) = convert(&once, |_| -> Result<PasswordHash, EditError> {
        panic!("nothing is left to hash")
    })
    .unwrap();
    assert_eq!((twice, count), (once, 0));
}

#[test]
fn convert_passes_on_a_hashing_failure() {
    let result = convert(b"u:secret\n", |_| Err(EditError::PasswordEmpty));
    assert_eq!(result, Err(EditError::PasswordEmpty));
}

#[test]
fn corrupt_lines_stop_every_edit_with_their_line_number() {
    for (old, line) in [
        ("a:x\nno colon\n", 2),
        (":x\n", 1),
        ("   :x\n", 1),
        ("a:\n", 1),
        ("a:  :x\n", 1),
    ] {
        let corrupt = Err(EditError::Corrupt { line });
        let set = set_user(old.as_bytes(), "b", &hash("p"));
        assert_eq!(set.map(|_| ()), corrupt, "{old:?}");
        assert_eq!(
            delete_user(old.as_bytes(), "a").map(|_| ()),
            corrupt,
            "{old:?}"
        );
        assert_eq!(check(old.as_bytes()), corrupt, "{old:?}");
        let converted = convert(old.as_bytes(), |_| Ok::<_, EditError>(hash("p")));
        assert_eq!(converted.map(|_| ()), corrupt, "{old:?}");
    }
    assert_eq!(check(b"# only a comment\n\n  \n"), Ok(()));
}

#[test]
fn usernames_are_validated_as_mosquitto_passwd_does() {
    assert_eq!(validate_username("alice"), Ok(()));
    assert_eq!(validate_username("ünïcode name"), Ok(()));
    assert_eq!(validate_username(""), Err(EditError::UsernameEmpty));
    assert_eq!(validate_username("a:b"), Err(EditError::UsernameColon));
    assert_eq!(validate_username("a\nb"), Err(EditError::UsernameControl));
    assert_eq!(
        validate_username("a\u{7f}"),
        Err(EditError::UsernameControl)
    );
    assert_eq!(validate_username(&"x".repeat(MAX_LEN)), Ok(()));
    assert_eq!(
        validate_username(&"x".repeat(MAX_LEN + 1)),
        Err(EditError::UsernameTooLong)
    );
}

#[test]
fn passwords_must_be_non_empty_and_fit_an_mqtt_string() {
    assert_eq!(validate_password(b"p"), Ok(()));
    assert_eq!(validate_password(b""), Err(EditError::PasswordEmpty));
    assert_eq!(
        validate_password(&vec![b'x'; MAX_LEN + 1]),
        Err(EditError::PasswordTooLong)
    );
}
