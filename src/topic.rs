//! Topic names and topic filters: validated once at the edge, filters precompiled into levels.
//!
//! A PUBLISH carries a [`TopicName`]; a SUBSCRIBE carries [`TopicFilter`]s. Both are parsed from
//! the wire text exactly once, so the router never re-checks a string, and a filter is split into
//! its levels when it is parsed rather than on every PUBLISH it is matched against. The rules are
//! those of MQTT 3.1.1 section 4.7 and MQTT 5.0 section 4.7, which agree.
//!
//! Filters can also be compared with each other (`intersect.rs`): whether two can match a common
//! topic, and whether one matches everything another does; access control answers a SUBSCRIBE
//! with them.
//!
//! Shared subscriptions (`$share/{group}/{filter}`, MQTT 5.0 section 4.8.2) are not parsed here
//! yet: today such a text is an ordinary filter whose first level is the literal `$share`. They
//! will come as a separate type that wraps the [`TopicFilter`] after the group name, so matching
//! stays the same code.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The longest topic name or filter in bytes: the length prefix of a UTF-8 encoded string is
/// two bytes [MQTT-4.7.3-3].
pub const MAX_TOPIC_LEN: usize = 65_535;

/// Why a topic name or topic filter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicError {
    /// [MQTT-4.7.3-1] Topic names and topic filters must be at least one character long.
    Empty,
    /// [MQTT-4.7.3-3] Topic names and topic filters must not encode to more than 65,535 bytes.
    TooLong,
    /// [MQTT-4.7.3-2] Topic names and topic filters must not include the null character U+0000.
    NullCharacter,
    /// [MQTT-4.7.1-1] Wildcard characters must not be used within a topic name.
    WildcardInName,
    /// [MQTT-4.7.1-2] The multi-level wildcard must be the last character of the filter.
    MultiLevelWildcardNotLast,
    /// [MQTT-4.7.1-2] The multi-level wildcard must stand on its own or follow a level separator.
    MultiLevelWildcardNotAlone,
    /// [MQTT-4.7.1-3] The single-level wildcard must occupy an entire level of the filter.
    SingleLevelWildcardNotAlone,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            TopicError::Empty => "topic is empty [MQTT-4.7.3-1]",
            TopicError::TooLong => "topic is longer than 65535 bytes [MQTT-4.7.3-3]",
            TopicError::NullCharacter => "topic contains U+0000 [MQTT-4.7.3-2]",
            TopicError::WildcardInName => "topic name contains a wildcard [MQTT-4.7.1-1]",
            TopicError::MultiLevelWildcardNotLast => {
                "'#' is not the last character of the filter [MQTT-4.7.1-2]"
            }
            TopicError::MultiLevelWildcardNotAlone => {
                "'#' shares its level with other characters [MQTT-4.7.1-2]"
            }
            TopicError::SingleLevelWildcardNotAlone => {
                "'+' shares its level with other characters [MQTT-4.7.1-3]"
            }
        };
        f.write_str(text)
    }
}

impl std::error::Error for TopicError {}

/// The checks shared by names and filters, cheapest first.
fn check_common(text: &str) -> Result<(), TopicError> {
    if text.is_empty() {
        return Err(TopicError::Empty);
    }
    if text.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong);
    }
    if text.contains('\0') {
        return Err(TopicError::NullCharacter);
    }
    Ok(())
}

/// The topic of a PUBLISH: non-empty, at most 65,535 bytes, free of wildcards and U+0000.
///
/// A leading `$` is allowed: the server publishes `$SYS/...` itself, and whether a client may
/// is a policy decision for the router, not a syntax rule [MQTT-4.7.2-1].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(Arc<str>);

impl TopicName {
    /// Validates a topic name already held in an `Arc`, keeping that allocation.
    pub fn new(text: Arc<str>) -> Result<TopicName, TopicError> {
        check_common(&text)?;
        if text.contains(['+', '#']) {
            return Err(TopicError::WildcardInName);
        }
        Ok(TopicName(text))
    }

    pub fn parse(text: &str) -> Result<TopicName, TopicError> {
        TopicName::new(Arc::from(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_arc(&self) -> &Arc<str> {
        &self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One level of a filter that has wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    /// Must equal the topic's level character for character [MQTT-4.7.3-4].
    Literal(Box<str>),
    /// `+`: any single level, including an empty one.
    SingleLevel,
}

/// A filter compiled for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// No wildcards: matches exactly one topic, its own text. Kept without levels so that the
    /// many exact subscriptions of a large broker cost one string each.
    Exact,
    Wildcard {
        /// The levels before a trailing `#` (all of them when there is none).
        levels: Box<[Level]>,
        /// The filter ends with `#`, which matches its parent level and any number of child
        /// levels (MQTT 3.1.1 section 4.7.1.2).
        multi_level: bool,
        /// The filter starts with a wildcard, so it must not match topics that start with `$`
        /// [MQTT-4.7.2-1]. Decided once here rather than on every match.
        skips_dollar_topics: bool,
    },
}

/// A subscription's topic filter, validated and split into levels once.
///
/// Equality and hashing use the filter text: `a/+` and `a/+` are the same subscription.
#[derive(Debug, Clone)]
pub struct TopicFilter {
    text: Arc<str>,
    pattern: Pattern,
}

impl TopicFilter {
    pub fn parse(text: &str) -> Result<TopicFilter, TopicError> {
        TopicFilter::new(Arc::from(text))
    }

    /// Validates and compiles a filter already held in an `Arc`, keeping that allocation.
    pub fn new(text: Arc<str>) -> Result<TopicFilter, TopicError> {
        check_common(&text)?;
        if !text.contains(['+', '#']) {
            return Ok(TopicFilter {
                text,
                pattern: Pattern::Exact,
            });
        }
        let mut levels = Vec::new();
        let mut multi_level = false;
        let mut parts = text.split('/').peekable();
        while let Some(part) = parts.next() {
            match part {
                "#" if parts.peek().is_some() => return Err(TopicError::MultiLevelWildcardNotLast),
                "#" => multi_level = true,
                "+" => levels.push(Level::SingleLevel),
                _ if part.contains('#') => return Err(TopicError::MultiLevelWildcardNotAlone),
                _ if part.contains('+') => return Err(TopicError::SingleLevelWildcardNotAlone),
                _ => levels.push(Level::Literal(part.into())),
            }
        }
        let skips_dollar_topics = match levels.first() {
            Some(first) => *first == Level::SingleLevel,
            None => multi_level,
        };
        Ok(TopicFilter {
            text,
            pattern: Pattern::Wildcard {
                levels: levels.into_boxed_slice(),
                multi_level,
                skips_dollar_topics,
            },
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn as_arc(&self) -> &Arc<str> {
        &self.text
    }

    /// True when the filter contains `+` or `#` and so may match more than its own text.
    pub fn has_wildcards(&self) -> bool {
        matches!(self.pattern, Pattern::Wildcard { .. })
    }

    /// The literal levels of a wildcard filter with their depth (`a/+/c` gives `(0, "a")` and
    /// `(2, "c")`); none for a filter without wildcards. Lets an index file a filter under a
    /// level a matching topic must have.
    pub fn literal_levels(&self) -> impl Iterator<Item = (usize, &str)> {
        let levels: &[Level] = match &self.pattern {
            Pattern::Exact => &[],
            Pattern::Wildcard { levels, .. } => levels,
        };
        levels
            .iter()
            .enumerate()
            .filter_map(|(depth, level)| match level {
                Level::Literal(text) => Some((depth, &**text)),
                Level::SingleLevel => None,
            })
    }

    /// The text every matching topic begins with: the filter up to its first wildcard, less the
    /// `/` before it, since `a/#` also matches `a` [MQTT-4.7.1-2]. `a/+/c` gives `a`; `#` and
    /// `+/b` give the empty string; a filter without wildcards gives itself.
    pub fn literal_prefix(&self) -> &str {
        let Some(wildcard) = self.text.find(['+', '#']) else {
            return &self.text;
        };
        let before = self.text.get(..wildcard).unwrap_or_default();
        before.strip_suffix('/').unwrap_or(before)
    }

    /// Whether a PUBLISH to `topic` reaches this filter. `topic` is expected to be a valid topic
    /// name; this walks its levels once and allocates nothing.
    pub fn matches(&self, topic: &str) -> bool {
        let (levels, multi_level, skips_dollar_topics) = match &self.pattern {
            Pattern::Exact => return *self.text == *topic,
            Pattern::Wildcard {
                levels,
                multi_level,
                skips_dollar_topics,
            } => (levels, *multi_level, *skips_dollar_topics),
        };
        if skips_dollar_topics && topic.starts_with('$') {
            return false;
        }
        let mut parts = topic.split('/');
        for level in levels.iter() {
            let Some(part) = parts.next() else {
                return false;
            };
            if let Level::Literal(literal) = level
                && **literal != *part
            {
                return false;
            }
        }
        // Every filter level matched. A trailing `#` takes whatever remains, including nothing
        // (its parent level); otherwise the topic must have no levels left.
        multi_level || parts.next().is_none()
    }
}

impl PartialEq for TopicFilter {
    fn eq(&self, other: &TopicFilter) -> bool {
        self.text == other.text
    }
}

impl Eq for TopicFilter {}

impl Hash for TopicFilter {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

mod intersect;

#[cfg(test)]
mod tests;
