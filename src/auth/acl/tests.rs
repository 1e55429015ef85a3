//! Tests for the ACL file's syntax: what each kind of line becomes, and every fatal line with
//! its line number.

use super::*;
use crate::auth::acl_check::{Access, ClientIdentity};

fn parse(text: &str) -> AclFile {
    match AclFile::parse(text.as_bytes(), "acl") {
        Ok(file) => file,
        Err(error) => panic!("{text:?} should parse: {error}"),
    }
}

fn error(text: &str) -> (usize, AclErrorKind) {
    match AclFile::parse(text.as_bytes(), "acl") {
        Ok(file) => panic!("{text:?} should not parse: {file:?}"),
        Err(error) => (error.line, error.kind),
    }
}

const ANON: ClientIdentity<'static> = ClientIdentity {
    client_id: "c1",
    username: None,
};

fn user(name: &'static str) -> ClientIdentity<'static> {
    ClientIdentity {
        client_id: "c1",
        username: Some(name),
    }
}

fn rules(file: &AclFile, user: Option<&str>) -> Vec<(RuleAccess, String)> {
    let list = match user {
        None => &file.anonymous,
        Some(name) => &file.users[name],
    };
    list.iter()
        .map(|rule| (rule.access, rule.filter.as_str().to_owned()))
        .collect()
}

#[test]
fn access_words_and_the_single_word_form() {
    let file = parse(
        "topic read r\ntopic write w\ntopic readwrite rw\ntopic deny d\ntopic one\ntopic deny\n",
    );
    assert_eq!(
        rules(&file, None),
        [
            (RuleAccess::Deny, "d".to_owned()),
            (RuleAccess::Read, "r".to_owned()),
            (RuleAccess::Write, "w".to_owned()),
            (RuleAccess::ReadWrite, "rw".to_owned()),
            (RuleAccess::ReadWrite, "one".to_owned()),
            // One word is the topic, even when it is an access word.
            (RuleAccess::ReadWrite, "deny".to_owned()),
        ]
    );
}

#[test]
fn the_topic_is_the_rest_of_the_line_with_inner_spaces() {
    let file = parse("topic   read    a b/ c  \t \r\n   topic readwrite x y\n");
    assert_eq!(
        rules(&file, None),
        [
            (RuleAccess::Read, "a b/ c".to_owned()),
            // Leading spaces before a directive are skipped, as `strtok` does.
            (RuleAccess::ReadWrite, "x y".to_owned()),
        ]
    );
}

#[test]
fn comments_blank_lines_and_trailing_blanks() {
    let file = parse("# a comment\n\n   \n\t\n#topic read nothing\ntopic read a  \n");
    assert_eq!(rules(&file, None), [(RuleAccess::Read, "a".to_owned())]);
}

#[test]
fn lines_before_the_first_user_are_for_anonymous_clients_only() {
    let file = parse("topic read public\nuser alice\ntopic read alice/#\n");
    assert!(file.check(&ANON, "public", Access::Read));
    assert!(!file.check(&ANON, "alice/x", Access::Read));
    assert!(file.check(&user("alice"), "alice/x", Access::Read));
    // A named client uses its own block or nothing, never the anonymous lines.
    assert!(!file.check(&user("alice"), "public", Access::Read));
    assert!(!file.check(&user("bob"), "public", Access::Read));
    assert!(file.has_user("alice") && !file.has_user("bob"));
}

#[test]
fn blocks_for_the_same_user_merge() {
    let file = parse("user a\ntopic read one\nuser b\ntopic read two\nuser a\ntopic deny three\n");
    assert_eq!(
        rules(&file, Some("a")),
        [
            (RuleAccess::Deny, "three".to_owned()),
            (RuleAccess::Read, "one".to_owned()),
        ]
    );
    assert_eq!(
        rules(&file, Some("b")),
        [(RuleAccess::Read, "two".to_owned())]
    );
}

#[test]
fn a_user_name_is_the_rest_of_the_line() {
    let file = parse("user   John Smith\ntopic read j\n");
    assert!(file.has_user("John Smith"));
    assert!(file.check(&user("John Smith"), "j", Access::Read));
}

#[test]
fn patterns_apply_to_every_client_wherever_they_stand() {
    let file = parse("user a\npattern read p/%c\ntopic read a\n");
    assert!(file.has_patterns());
    assert!(file.check(&ANON, "p/c1", Access::Read));
    assert!(file.check(&user("z"), "p/c1", Access::Read));
    assert!(file.check(&user("a"), "p/c1", Access::Read));
    // The `topic` line after the pattern still belongs to `a`.
    assert!(file.check(&user("a"), "a", Access::Read));
}

#[test]
fn pattern_pieces_split_at_percent_c_and_percent_u_anywhere() {
    assert_eq!(
        &*pieces("a/%c-%u/%x%%c/%"),
        [
            Piece::Text("a/".into()),
            Piece::ClientId,
            Piece::Text("-".into()),
            Piece::Username,
            Piece::Text("/%x%".into()),
            Piece::ClientId,
            Piece::Text("/%".into()),
        ]
    );
    assert_eq!(&*pieces("%c"), [Piece::ClientId]);
    assert_eq!(&*pieces("plain"), [Piece::Text("plain".into())]);
}

#[test]
fn fatal_lines_name_their_line_number() {
    use AclErrorKind::*;
    let cases: &[(&str, (usize, AclErrorKind))] = &[
        ("topic read a\n  # indented\n", (2, IndentedComment)),
        (
            "\n\nbogus line\n",
            (3, UnknownDirective("bogus".to_owned())),
        ),
        // Tabs do not separate words.
        (
            "topic\tread\ta\n",
            (1, UnknownDirective("topic\tread\ta".to_owned())),
        ),
        ("Topic read a\n", (1, UnknownDirective("Topic".to_owned()))),
        ("topic\n", (1, MissingTopic)),
        ("topic    \n", (1, MissingTopic)),
        ("pattern\n", (1, MissingTopic)),
        ("topic reed a/b\n", (1, InvalidAccess("reed".to_owned()))),
        (
            "topic read a/#/b\n",
            (1, InvalidTopic(TopicError::MultiLevelWildcardNotLast)),
        ),
        (
            "pattern read a/%c+\n",
            (1, InvalidTopic(TopicError::SingleLevelWildcardNotAlone)),
        ),
        ("user\n", (1, MissingUser)),
        ("user    \n", (1, MissingUser)),
    ];
    for (text, expected) in cases {
        assert_eq!(&error(text), expected, "{text:?}");
    }
}

#[test]
fn a_line_that_is_not_utf8_is_fatal_unless_it_is_a_comment() {
    let parsed = AclFile::parse(b"# \xff comment\ntopic read a\n", "acl");
    assert!(parsed.is_ok());
    let error = AclFile::parse(b"topic read \xff\n", "acl").unwrap_err();
    assert_eq!((error.line, error.kind), (1, AclErrorKind::NotUtf8));
}

#[test]
fn errors_read_as_file_and_line() {
    let error = AclFile::parse(b"topic read a\ntopic frobnicate b\n", "/etc/acl").unwrap_err();
    assert_eq!(
        error.to_string(),
        "/etc/acl:2: invalid topic access type \"frobnicate\" (expected read, write, readwrite \
         or deny)"
    );
    let long = format!("{}\n", "x".repeat(100));
    let error = AclFile::parse(long.as_bytes(), "acl").unwrap_err();
    assert_eq!(error.kind, AclErrorKind::UnknownDirective("x".repeat(40)));
}

#[test]
fn an_empty_file_parses_to_no_rules() {
    let file = parse("");
    assert!(!file.has_patterns());
    assert!(rules(&file, None).is_empty());
}
