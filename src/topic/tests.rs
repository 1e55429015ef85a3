//! Tests for topic names and filters: the examples of MQTT 3.1.1 section 4.7, quoted, then the
//! validation rules one by one.

use super::*;

fn filter(text: &str) -> TopicFilter {
    match TopicFilter::parse(text) {
        Ok(filter) => filter,
        Err(error) => panic!("{text:?} should be a valid filter: {error}"),
    }
}

fn matches(filter_text: &str, topic: &str) -> bool {
    filter(filter_text).matches(topic)
}

// MQTT 3.1.1 section 4.7.1.2, non normative comment:
// "For example, if a Client subscribes to "sport/tennis/player1/#", it would receive messages
// published using these topic names:
// - "sport/tennis/player1"
// - "sport/tennis/player1/ranking"
// - "sport/tennis/player1/score/wimbledon""
#[test]
fn spec_4_7_1_2_multi_level_wildcard_receives_descendants() {
    assert!(matches("sport/tennis/player1/#", "sport/tennis/player1"));
    assert!(matches(
        "sport/tennis/player1/#",
        "sport/tennis/player1/ranking"
    ));
    assert!(matches(
        "sport/tennis/player1/#",
        "sport/tennis/player1/score/wimbledon"
    ));
}

// MQTT 3.1.1 section 4.7.1.2, non normative comment:
// "- "sport/#" also matches the singular "sport", since # includes the parent level.
// - "#" is valid and will receive every Application Message
// - "sport/tennis/#" is valid
// - "sport/tennis#" is not valid
// - "sport/tennis/#/ranking" is not valid"
#[test]
fn spec_4_7_1_2_multi_level_wildcard_validity() {
    assert!(matches("sport/#", "sport"));
    assert!(matches("#", "sport"));
    assert!(matches("#", "sport/tennis/player1"));
    assert!(matches("#", "/"));
    assert!(TopicFilter::parse("sport/tennis/#").is_ok());
    assert_eq!(
        TopicFilter::parse("sport/tennis#").err(),
        Some(TopicError::MultiLevelWildcardNotAlone)
    );
    assert_eq!(
        TopicFilter::parse("sport/tennis/#/ranking").err(),
        Some(TopicError::MultiLevelWildcardNotLast)
    );
}

// MQTT 3.1.1 section 4.7.1.3, non normative comment:
// "For example, "sport/tennis/+" matches "sport/tennis/player1" and "sport/tennis/player2", but
// not "sport/tennis/player1/ranking". Also, because the single-level wildcard matches only a
// single level, "sport/+" does not match "sport" but it does match "sport/"."
#[test]
fn spec_4_7_1_3_single_level_wildcard_matches_one_level() {
    assert!(matches("sport/tennis/+", "sport/tennis/player1"));
    assert!(matches("sport/tennis/+", "sport/tennis/player2"));
    assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
    assert!(!matches("sport/+", "sport"));
    assert!(matches("sport/+", "sport/"));
}

// MQTT 3.1.1 section 4.7.1.3, non normative comment:
// "- "+" is valid
// - "+/tennis/#" is valid
// - "sport+" is not valid
// - "sport/+/player1" is valid
// - "/finance" matches "+/+" and "/+", but not "+""
#[test]
fn spec_4_7_1_3_single_level_wildcard_validity() {
    assert!(TopicFilter::parse("+").is_ok());
    assert!(TopicFilter::parse("+/tennis/#").is_ok());
    assert_eq!(
        TopicFilter::parse("sport+").err(),
        Some(TopicError::SingleLevelWildcardNotAlone)
    );
    assert!(TopicFilter::parse("sport/+/player1").is_ok());
    assert!(matches("+/+", "/finance"));
    assert!(matches("/+", "/finance"));
    assert!(!matches("+", "/finance"));
}

// MQTT 3.1.1 section 4.7.2, non normative comment:
// "- A subscription to "#" will not receive any messages published to a topic beginning with a $
// - A subscription to "+/monitor/Clients" will not receive any messages published to
//   "$SYS/monitor/Clients"
// - A subscription to "$SYS/#" will receive messages published to topics beginning with "$SYS/"
// - A subscription to "$SYS/monitor/+" will receive messages published to
//   "$SYS/monitor/Clients"
// - For a Client to receive messages from topics that begin with $SYS/ and from topics that
//   don't begin with a $, it has to subscribe to both "#" and "$SYS/#""
#[test]
fn spec_4_7_2_topics_beginning_with_dollar() {
    assert!(!matches("#", "$SYS/monitor/Clients"));
    assert!(!matches("#", "$SYS"));
    assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
    assert!(matches("$SYS/#", "$SYS/monitor/Clients"));
    assert!(matches("$SYS/#", "$SYS/broker/uptime"));
    assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    assert!(matches("#", "sport/tennis"));
    assert!(!matches("$SYS/#", "sport/tennis"));
}

// The `$` rule concerns a wildcard in the first level only [MQTT-4.7.2-1]; a `$` later in the
// topic is an ordinary character.
#[test]
fn dollar_rule_only_applies_to_a_leading_wildcard() {
    assert!(matches("sport/+", "sport/$tennis"));
    assert!(matches("sport/#", "sport/$tennis/x"));
    assert!(matches("+/tennis", "a$/tennis"));
    assert!(matches("$SYS", "$SYS"));
}

// MQTT 3.1.1 section 4.7.3, non normative comment:
// "- "ACCOUNTS" and "Accounts" are two different topic names
// - "Accounts payable" is a valid topic name
// - "/finance" is different from "finance""
#[test]
fn spec_4_7_3_topic_semantics() {
    assert!(!matches("ACCOUNTS", "Accounts"));
    assert!(!matches("Accounts", "ACCOUNTS"));
    assert!(TopicName::parse("Accounts payable").is_ok());
    assert!(matches("Accounts payable", "Accounts payable"));
    assert!(!matches("/finance", "finance"));
    assert!(!matches("finance", "/finance"));
}

// MQTT 3.1.1 section 4.7.1.1: "Adjacent Topic level separators indicate a zero length topic
// level."
#[test]
fn empty_levels_are_levels() {
    assert!(matches("a/+/b", "a//b"));
    assert!(!matches("a/+/b", "a/b"));
    assert!(matches("+/+/+", "//"));
    assert!(matches("a//#", "a//"));
    assert!(!matches("a/#", "b"));
    assert!(!matches("sport/#", "sportsdirect"));
    assert!(!matches("sport/tennis/+", "sport/tennisball/x"));
}

#[test]
fn exact_filter_matches_only_its_text() {
    let exact = filter("sport/tennis/player1");
    assert!(!exact.has_wildcards());
    assert!(exact.matches("sport/tennis/player1"));
    assert!(!exact.matches("sport/tennis/player1/ranking"));
    assert!(!exact.matches("sport/tennis"));
    assert!(filter("sport/+").has_wildcards());
    assert!(filter("#").has_wildcards());
}

#[test]
fn filter_text_is_kept_verbatim() {
    let f = filter("sport/+/player1/#");
    assert_eq!(f.as_str(), "sport/+/player1/#");
    assert_eq!(f.to_string(), "sport/+/player1/#");
    assert_eq!(&**f.as_arc(), "sport/+/player1/#");
    assert_eq!(f, filter("sport/+/player1/#"));
    assert_ne!(f, filter("sport/+/player1"));
}

#[test]
fn filter_validation_errors() {
    let cases = [
        ("", TopicError::Empty),
        ("a\0b", TopicError::NullCharacter),
        ("#/a", TopicError::MultiLevelWildcardNotLast),
        ("a/#/", TopicError::MultiLevelWildcardNotLast),
        ("##", TopicError::MultiLevelWildcardNotAlone),
        ("a/b#", TopicError::MultiLevelWildcardNotAlone),
        ("a#/b", TopicError::MultiLevelWildcardNotAlone),
        ("++", TopicError::SingleLevelWildcardNotAlone),
        ("a/+b", TopicError::SingleLevelWildcardNotAlone),
        ("+a/b", TopicError::SingleLevelWildcardNotAlone),
    ];
    for (text, expected) in cases {
        assert_eq!(TopicFilter::parse(text).err(), Some(expected), "{text:?}");
    }
}

#[test]
fn name_validation_errors() {
    let cases = [
        ("", TopicError::Empty),
        ("a\0b", TopicError::NullCharacter),
        ("sport/+", TopicError::WildcardInName),
        ("sport/#", TopicError::WildcardInName),
        ("sport+", TopicError::WildcardInName),
        ("#", TopicError::WildcardInName),
    ];
    for (text, expected) in cases {
        assert_eq!(TopicName::parse(text).err(), Some(expected), "{text:?}");
    }
    let name = TopicName::parse("$SYS/broker/uptime").unwrap();
    assert_eq!(name.as_str(), "$SYS/broker/uptime");
    assert_eq!(name.to_string(), "$SYS/broker/uptime");
    let arc: Arc<str> = Arc::from("/");
    assert!(Arc::ptr_eq(
        TopicName::new(arc.clone()).unwrap().as_arc(),
        &arc
    ));
}

#[test]
fn length_limit_is_65535_bytes() {
    let longest = "a".repeat(MAX_TOPIC_LEN);
    let too_long = "a".repeat(MAX_TOPIC_LEN + 1);
    assert!(TopicName::parse(&longest).is_ok());
    assert!(TopicFilter::parse(&longest).is_ok());
    assert_eq!(TopicName::parse(&too_long).err(), Some(TopicError::TooLong));
    assert_eq!(
        TopicFilter::parse(&too_long).err(),
        Some(TopicError::TooLong)
    );
    // Bytes, not characters: 'é' is two bytes in UTF-8.
    let wide = "é".repeat(MAX_TOPIC_LEN / 2 + 1);
    assert_eq!(TopicName::parse(&wide).err(), Some(TopicError::TooLong));
}

#[test]
fn errors_cite_the_specification() {
    assert!(TopicError::Empty.to_string().contains("MQTT-4.7.3-1"));
    assert!(
        TopicError::NullCharacter
            .to_string()
            .contains("MQTT-4.7.3-2")
    );
    assert!(TopicError::TooLong.to_string().contains("MQTT-4.7.3-3"));
    assert!(
        TopicError::WildcardInName
            .to_string()
            .contains("MQTT-4.7.1-1")
    );
    assert!(
        TopicError::MultiLevelWildcardNotLast
            .to_string()
            .contains("MQTT-4.7.1-2")
    );
    assert!(
        TopicError::MultiLevelWildcardNotAlone
            .to_string()
            .contains("MQTT-4.7.1-2")
    );
    assert!(
        TopicError::SingleLevelWildcardNotAlone
            .to_string()
            .contains("MQTT-4.7.1-3")
    );
}

#[test]
fn literal_prefix_is_what_every_matching_topic_starts_with() {
    for (text, prefix) in [
        ("a/+/c", "a"),
        ("a/b/#", "a/b"),
        ("#", ""),
        ("+/b", ""),
        ("a/b", "a/b"),
        ("homeassistant/#", "homeassistant"),
    ] {
        assert_eq!(filter(text).literal_prefix(), prefix, "{text}");
    }
    // [MQTT-4.7.1-2] `a/#` matches `a` itself, which the prefix must not exclude.
    assert!(matches("a/#", "a") && "a".starts_with(filter("a/#").literal_prefix()));
}
