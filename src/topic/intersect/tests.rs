//! Tests for filter intersection and coverage: a table of cases, each read both ways, then the
//! same questions answered by brute force over every short topic, for every pair of a set of
//! filters.

use crate::topic::TopicFilter;

fn filter(text: &str) -> TopicFilter {
    match TopicFilter::parse(text) {
        Ok(filter) => filter,
        Err(error) => panic!("{text:?} should be a valid filter: {error}"),
    }
}

/// `(a, b, intersect)`: intersection is symmetric, so each row is also checked as `(b, a)`.
const INTERSECTIONS: &[(&str, &str, bool)] = &[
    // Exact filters: only equal texts share a topic.
    ("a/b", "a/b", true),
    ("a/b", "a/c", false),
    ("a/b", "a", false),
    ("a", "a/", false),
    ("/", "/", true),
    // `+` takes one level, any text, empty included.
    ("a/+", "a/b", true),
    ("a/+", "a/", true),
    ("a/+", "a", false),
    ("a/+", "a/b/c", false),
    ("+/b", "a/+", true),
    ("+/+", "a/b/c", false),
    ("+", "a", true),
    ("+", "+", true),
    // `#` takes its parent and any number of children.
    ("a/#", "a", true),
    ("a/#", "a/b/c", true),
    ("a/#", "b", false),
    ("a/#", "b/#", false),
    ("a/#", "+/b", true),
    ("a/#", "+", true),
    ("a/b/#", "a/#", true),
    ("a/b/#", "a/+", true),
    ("a/b/#", "a", false),
    ("a/b/#", "a/c/#", false),
    ("a/+/c/#", "+/b/+", true),
    ("a/+/c/#", "+/b/d/#", false),
    ("#", "a/b/c", true),
    ("#", "#", true),
    ("#", "+/+/+", true),
    // A leading wildcard never matches a `$` topic [MQTT-4.7.2-1].
    ("#", "$SYS/x", false),
    ("#", "$SYS/#", false),
    ("+/x", "$SYS/x", false),
    ("+/#", "$SYS", false),
    ("$SYS/#", "$SYS/broker/uptime", true),
    ("$SYS/+/uptime", "$SYS/broker/+", true),
    ("$SYS/#", "$share/#", false),
    // A `$` inside a later level is an ordinary character.
    ("a/#", "a/$b", true),
    ("+/$b", "a/$b", true),
    // Levels are compared whole, never by prefix.
    ("ab/#", "a/#", false),
    ("a/bc", "a/b", false),
    // The empty topic is no witness [MQTT-4.7.3-1]: `/#` needs two levels, `+` allows one.
    ("+", "/#", false),
    ("+/+", "/#", true),
    ("/#", "/#", true),
    ("/", "/#", true),
];

#[test]
fn intersection_table() {
    let mut mismatches = Vec::new();
    for &(a, b, expected) in INTERSECTIONS {
        for (x, y) in [(a, b), (b, a)] {
            if filter(x).intersects(&filter(y)) != expected {
                mismatches.push(format!("{x:?} ∩ {y:?} should be {expected}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// `(wide, narrow, covered)`: whether `wide` matches every topic `narrow` does.
const COVERINGS: &[(&str, &str, bool)] = &[
    ("a/b", "a/b", true),
    ("a/b", "a/c", false),
    ("a/+", "a/b", true),
    ("a/b", "a/+", false),
    ("a/+", "a/+", true),
    ("a/+", "a/#", false),
    ("a/#", "a", true),
    ("a/#", "a/b", true),
    ("a/#", "a/+/c", true),
    ("a/#", "a/#", true),
    ("a/#", "a/b/#", true),
    ("a/b/#", "a/#", false),
    ("a/+/#", "a/#", false),
    ("a/+/#", "a", false),
    ("a/+/#", "a/b", true),
    ("+/#", "a/#", true),
    ("+/+", "a/b", true),
    ("+/+", "+/b/c", false),
    ("#", "a/b/c", true),
    ("#", "+/#", true),
    ("#", "#", true),
    ("a/#", "#", false),
    ("+", "#", false),
    // A leading wildcard covers no `$` topic [MQTT-4.7.2-1].
    ("#", "$SYS/x", false),
    ("+/#", "$SYS/#", false),
    ("$SYS/#", "$SYS/broker/+", true),
    ("$SYS/#", "#", false),
    ("$SYS/+", "+/x", false),
    // `#` alone and `+/#` match the same topics; `/#` has no one-level topic.
    ("+/#", "#", true),
    ("+/+/#", "/#", true),
    ("+/+/#", "a/#", false),
];

#[test]
fn coverage_table() {
    let mut mismatches = Vec::new();
    for &(wide, narrow, expected) in COVERINGS {
        if filter(wide).covers(&filter(narrow)) != expected {
            mismatches.push(format!("{wide:?} ⊇ {narrow:?} should be {expected}"));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// Filters built from the level texts the brute force uses, with every wildcard placement up
/// to three levels.
const FILTERS: &[&str] = &[
    "a", "b", "$s", "a/b", "a/a", "b/a", "a/", "/", "/a", "a/b/a", "$s/a", "+", "+/a", "a/+",
    "+/+", "+/+/+", "$s/+", "+/$s", "a/+/b", "#", "a/#", "b/#", "$s/#", "+/#", "a/b/#", "+/a/#",
    "a/+/#", "+/+/#", "/#", "//#", "a//#",
];

/// Every topic of one to four levels drawn from the texts the filters use, plus one they do
/// not (`z`), the empty level, and `$s` (which only matters first). That is enough witnesses:
/// a filter of at most three fixed levels cannot tell a fifth level from a fourth, nor `z`
/// from any other text it does not name.
fn topics() -> Vec<String> {
    const TEXTS: [&str; 5] = ["a", "b", "$s", "z", ""];
    let mut topics: Vec<String> = TEXTS.iter().map(|text| text.to_string()).collect();
    let mut last = topics.clone();
    for _ in 1..4 {
        let longer: Vec<String> = last
            .iter()
            .flat_map(|topic| TEXTS.iter().map(move |text| format!("{topic}/{text}")))
            .collect();
        topics.extend(longer.iter().cloned());
        last = longer;
    }
    // The empty string is not a topic name [MQTT-4.7.3-1].
    topics.retain(|topic| !topic.is_empty());
    topics
}

#[test]
fn intersection_and_coverage_agree_with_brute_force() {
    let topics = topics();
    let filters: Vec<TopicFilter> = FILTERS.iter().map(|text| filter(text)).collect();
    let matched: Vec<Vec<bool>> = filters
        .iter()
        .map(|f| topics.iter().map(|topic| f.matches(topic)).collect())
        .collect();
    let mut mismatches = Vec::new();
    for (a, a_matches) in filters.iter().zip(&matched) {
        for (b, b_matches) in filters.iter().zip(&matched) {
            let pairs = || a_matches.iter().zip(b_matches);
            let share = pairs().any(|(&x, &y)| x && y);
            if a.intersects(b) != share {
                mismatches.push(format!("{a} ∩ {b} should be {share}"));
            }
            let covers = pairs().all(|(&x, &y)| x || !y);
            if a.covers(b) != covers {
                mismatches.push(format!("{a} ⊇ {b} should be {covers}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
