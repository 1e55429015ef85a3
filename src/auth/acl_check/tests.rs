//! Tests for a client's compiled rights: the order of the checks, the name substitutions, the
//! `$` rules, the always-applied refusals, and `can_ever_read` against a brute-force search.

use super::*;

fn parse(text: &str) -> AclFile {
    match AclFile::parse(text.as_bytes(), "acl") {
        Ok(file) => file,
        Err(error) => panic!("{text:?} should parse: {error}"),
    }
}

fn client<'a>(client_id: &'a str, username: Option<&'a str>) -> ClientIdentity<'a> {
    ClientIdentity {
        client_id,
        username,
    }
}

fn alice() -> ClientIdentity<'static> {
    client("c1", Some("alice"))
}

fn filter(text: &str) -> TopicFilter {
    TopicFilter::parse(text).unwrap()
}

use Access::{Read, Write};

#[test]
fn a_deny_in_the_list_wins_over_an_earlier_grant() {
    let acl = parse("user alice\ntopic read x/#\ntopic deny x/secret\n").compile(&alice());
    assert!(acl.check("x/other", Read));
    assert!(!acl.check("x/secret", Read));
    assert!(!acl.check("x/secret", Write));
}

#[test]
fn access_words_grant_what_they_say() {
    let file = "user alice\ntopic read r\ntopic write w\ntopic readwrite rw\ntopic both\n";
    let acl = parse(file).compile(&alice());
    assert!(acl.check("r", Read) && !acl.check("r", Write));
    assert!(!acl.check("w", Read) && acl.check("w", Write));
    assert!(acl.check("rw", Read) && acl.check("rw", Write));
    assert!(acl.check("both", Read) && acl.check("both", Write));
    // Anything not granted is refused once a file is set.
    assert!(!acl.check("other", Read) && !acl.check("other", Write));
}

#[test]
fn a_grant_for_one_direction_does_not_stop_the_search() {
    // mosquitto moves on when a matching rule lacks the access: the pattern may still grant.
    let acl = parse("user alice\ntopic read a\npattern write a\n").compile(&alice());
    assert!(acl.check("a", Write));
}

#[test]
fn the_clients_own_rules_come_before_the_patterns() {
    let file = parse(
        "user alice\ntopic read mine\ntopic deny theirs\npattern deny mine\npattern read theirs\n\
         pattern read shared\npattern deny shared\n",
    );
    let acl = file.compile(&alice());
    assert!(acl.check("mine", Read), "own grant before the pattern deny");
    assert!(
        !acl.check("theirs", Read),
        "own deny before the pattern grant"
    );
    assert!(
        !acl.check("shared", Read),
        "pattern deny before pattern grant"
    );
}

#[test]
fn an_empty_file_refuses_everything_and_no_file_refuses_nothing_but_the_fixed_rules() {
    let acl = parse("").compile(&alice());
    assert!(!acl.check("a", Read) && !acl.check("a", Write));
    let open = ClientAcl::unrestricted();
    assert!(open.check("a", Read) && open.check("a", Write));
    assert!(open.check("$SYS/broker/uptime", Read));
    assert!(!open.check("$SYS/broker/uptime", Write));
}

#[test]
fn percent_c_and_percent_u_are_substituted_anywhere() {
    let file = parse("pattern write dev-%c/%u\npattern read in/%c/#\n");
    let acl = file.compile(&client("c1", Some("bob")));
    assert!(acl.check("dev-c1/bob", Write));
    assert!(!acl.check("dev-c1/bob", Read));
    assert!(acl.check("in/c1/x/y", Read));
    assert!(!acl.check("in/c2/x", Read));
    // A client id with `/` in it adds levels, as in mosquitto.
    let acl = file.compile(&client("a/b", Some("bob")));
    assert!(acl.check("in/a/b/x", Read));
}

#[test]
fn percent_u_patterns_are_skipped_for_anonymous_clients() {
    let file = parse("pattern read u/%u/#\npattern read c/%c\n");
    let anonymous = file.compile(&client("c1", None));
    // Substituting nothing would have made `u//#`.
    assert!(!anonymous.check("u//x", Read));
    assert!(anonymous.check("c/c1", Read));
    let named = file.compile(&client("c1", Some("")));
    assert!(
        named.check("u//x", Read),
        "an empty username is still a username"
    );
}

#[test]
fn names_with_wildcards_lose_the_patterns_but_keep_their_own_rules() {
    let file = parse("user a+b\ntopic read own\npattern read p/%c\n");
    for (id, user) in [("x+", Some("alice")), ("x#", None), ("ok", Some("a+b"))] {
        let acl = file.compile(&client(id, user));
        assert!(!acl.check(&format!("p/{id}"), Read), "{id} {user:?}");
        assert!(!acl.can_ever_read(&filter("p/#")), "{id} {user:?}");
    }
    let acl = file.compile(&client("ok", Some("a+b")));
    assert!(acl.check("own", Read));
    // Without patterns the names do not matter.
    let acl = parse("topic read own\n").compile(&client("x+", None));
    assert!(acl.check("own", Read));
}

#[test]
fn dollar_topics_match_only_dollar_filters() {
    let file = parse("topic read #\ntopic read +/broker/#\nuser alice\ntopic read $SYS/#\n");
    let anonymous = file.compile(&client("c1", None));
    assert!(anonymous.check("a/b", Read));
    assert!(!anonymous.check("$SYS/broker/uptime", Read));
    assert!(!anonymous.check("$other/x", Read));
    assert!(file.compile(&alice()).check("$SYS/broker/uptime", Read));
}

#[test]
fn a_pattern_grant_reaches_dollar_topics_only_when_written_with_a_dollar() {
    let file = parse("pattern read %c/#\npattern read $app/%c/#\n");
    let acl = file.compile(&client("$SYS", None));
    assert!(!acl.check("$SYS/broker/uptime", Read));
    assert!(!acl.can_ever_read(&filter("$SYS/#")));
    let acl = file.compile(&client("c1", None));
    assert!(acl.check("c1/x", Read));
    assert!(acl.check("$app/c1/x", Read));
    assert!(acl.can_ever_read(&filter("$app/c1/+")));
    // A pattern deny keeps the plain rule, so it refuses the `$` topic it names.
    let file = parse("pattern deny %c/#\npattern read $SYS/#\n");
    assert!(!file.check(&client("$SYS", None), "$SYS/x", Read));
    assert!(file.check(&client("c1", None), "$SYS/x", Read));
}

#[test]
fn publishing_to_sys_is_refused_except_bridge_state() {
    let file = parse("topic readwrite $SYS/#\ntopic readwrite $SYSTEM/#\n");
    let acl = file.compile(&client("c1", None));
    for acl in [acl, ClientAcl::unrestricted()] {
        assert!(!acl.check("$SYS/broker/uptime", Write));
        assert!(acl.check("$SYS/broker/uptime", Read));
        assert!(acl.check("$SYS/broker/connection/bridge1/state", Write));
        assert!(acl.check("$SYS/broker/connection//state", Write));
        assert!(!acl.check("$SYS/broker/connection/a/b/state", Write));
        assert!(!acl.check("$SYS/broker/connection/state", Write));
        // mosquitto compares the first four bytes only.
        assert!(!acl.check("$SYSTEM/x", Write));
    }
}

#[test]
fn share_topics_are_refused_both_ways() {
    let file = parse("topic readwrite $share/#\ntopic readwrite $shared/#\n");
    for acl in [file.compile(&client("c1", None)), ClientAcl::unrestricted()] {
        for topic in ["$share/g/t", "$shared/x"] {
            assert!(!acl.check(topic, Write), "{topic}");
            assert!(!acl.check(topic, Read), "{topic}");
        }
    }
}

#[test]
fn an_overlong_substitution_grants_nothing_and_an_overlong_deny_refuses_the_patterns() {
    let long_id = "x".repeat(crate::topic::MAX_TOPIC_LEN);
    let file = parse("pattern read a/%c\npattern read b\n");
    let acl = file.compile(&client(&long_id, None));
    assert!(!acl.check(&format!("a/{long_id}"), Read));
    assert!(acl.check("b", Read));
    let file = parse("pattern deny a/%c\npattern read b\n");
    assert!(!file.compile(&client(&long_id, None)).check("b", Read));
}

#[test]
fn the_clients_own_rules_are_shared_with_the_file() {
    let file = parse("user alice\ntopic read a\n");
    let first = file.compile(&alice());
    let Rules::Listed { own, .. } = &first.rules else {
        panic!("a file gives listed rules");
    };
    assert!(Arc::ptr_eq(own, &file.users["alice"]));
}

#[test]
fn can_ever_read_intersects_grants_and_respects_covering_denies() {
    let file = parse(
        "user alice\ntopic read a/#\ntopic deny a/secret/#\ntopic write w/#\ntopic read $SYS/#\n\
         topic read b/+/c\n",
    );
    let acl = file.compile(&alice());
    let cases = [
        ("a/b", true),
        ("a/#", true),
        ("#", true),
        ("+/x", true),
        ("b/#", true),
        ("b/x/c", true),
        ("b/x/d", false),
        ("c/#", false),
        ("a/secret/x", false),
        ("a/secret/#", false),
        // Partly denied: the rest of it can still be read.
        ("a/+/x", true),
        ("w/#", false),
        ("$SYS/broker/+", true),
        ("$other/#", false),
    ];
    for (text, expected) in cases {
        assert_eq!(acl.can_ever_read(&filter(text)), expected, "{text}");
    }
    assert!(ClientAcl::unrestricted().can_ever_read(&filter("anything/#")));
    assert!(!parse("").compile(&alice()).can_ever_read(&filter("#")));
}

#[test]
fn can_ever_read_follows_the_order_of_the_lists() {
    let file = parse("user alice\ntopic read a/#\npattern deny a/#\npattern read p/#\n");
    let acl = file.compile(&alice());
    assert!(
        acl.can_ever_read(&filter("a/b")),
        "own grant before pattern deny"
    );
    let file = parse("user alice\ntopic deny p/#\npattern read p/#\n");
    assert!(!file.compile(&alice()).can_ever_read(&filter("p/x")));
}

/// `can_ever_read` must never refuse a filter through which some topic could be read. Checked by
/// brute force: for each ACL and filter, a topic from a small universe that the filter matches
/// and `check` lets through proves the answer must be `true`. (The converse need not hold: `+/b`
/// against `read a/#` and `deny a/b` is allowed, though only `a/b` was in reach, because the deny
/// covers only part of the filter.)
#[test]
fn can_ever_read_is_never_stricter_than_check() {
    let files = [
        "user alice\ntopic read a/#\ntopic deny a/b\n",
        "user alice\ntopic read +/b\ntopic deny a/+\n",
        "user alice\ntopic readwrite #\ntopic deny a/#\n",
        "user alice\ntopic read $s/#\ntopic deny $s/a\n",
        "pattern read %c/#\npattern deny %u/b\n",
        "user alice\ntopic write a/#\npattern read alice/+\n",
    ];
    let filters = [
        "a", "a/b", "a/+", "a/#", "+/b", "#", "+", "b/#", "$s/#", "$s/a", "c1/#", "alice/b",
        "alice/#", "+/+",
    ];
    let texts = ["a", "b", "c1", "alice", "$s", "z"];
    let mut topics: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
    for first in texts {
        for second in texts {
            topics.push(format!("{first}/{second}"));
            for third in texts {
                topics.push(format!("{first}/{second}/{third}"));
            }
        }
    }
    for text in files {
        let acl = parse(text).compile(&alice());
        for f in filters {
            let subscription = filter(f);
            let witness = topics
                .iter()
                .find(|topic| subscription.matches(topic) && acl.check(topic, Read));
            if let Some(topic) = witness {
                assert!(
                    acl.can_ever_read(&subscription),
                    "{text:?} {f}: {topic} is readable"
                );
            }
        }
    }
}
