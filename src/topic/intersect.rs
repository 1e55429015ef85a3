//! Filter against filter: whether two topic filters can match a common topic, and whether one
//! filter matches every topic another does.
//!
//! The access-control list uses these to answer a SUBSCRIBE before any message flows: a filter
//! that no read grant [intersects](TopicFilter::intersects) can never deliver anything, and a
//! deny entry that [covers](TopicFilter::covers) the whole filter refuses all of it.
//!
//! Both questions are decided from the filters' shapes alone, without enumerating topics. A topic
//! is a sequence of one or more levels, each any string (empty included). A filter fixes some
//! number of leading levels, each a literal or `+`; without a trailing `#` it matches topics of
//! exactly that many levels, with one it matches that many or more (at least one: `#` matches its
//! parent level, and `#` alone every topic) [MQTT-4.7.1-2]. The one rule that is not about shapes
//! is `$`: a filter whose first level is a wildcard matches no topic that starts with `$`
//! [MQTT-4.7.2-1], so it shares nothing with a filter whose first level is a `$` literal.
//!
//! One topic is not a topic: the empty string, a single empty level [MQTT-4.7.3-1]. It matters
//! only where it would be the sole witness. `+` and `/#` share nothing (`/#` matches `/`, `/a`
//! and so on, and its parent level would be the empty topic), and `+/+/#` covers `/#`.

use super::{Level, Pattern, TopicFilter};

/// One fixed level of a filter, borrowed.
#[derive(Clone, Copy)]
enum Step<'a> {
    Literal(&'a str),
    /// `+`: any single level.
    Any,
}

/// The fixed levels of a filter in order, without allocating: an exact filter is split on the
/// fly, a wildcard filter walks its compiled levels.
enum Steps<'a> {
    Exact(std::str::Split<'a, char>),
    Wildcard(std::slice::Iter<'a, Level>),
}

impl<'a> Iterator for Steps<'a> {
    type Item = Step<'a>;

    fn next(&mut self) -> Option<Step<'a>> {
        match self {
            Steps::Exact(parts) => parts.next().map(Step::Literal),
            Steps::Wildcard(levels) => levels.next().map(|level| match level {
                Level::Literal(text) => Step::Literal(text),
                Level::SingleLevel => Step::Any,
            }),
        }
    }
}

impl TopicFilter {
    /// The levels before a trailing `#`.
    fn steps(&self) -> Steps<'_> {
        match &self.pattern {
            Pattern::Exact => Steps::Exact(self.text.split('/')),
            Pattern::Wildcard { levels, .. } => Steps::Wildcard(levels.iter()),
        }
    }

    /// How many levels come before a trailing `#` (all of them when there is none).
    fn fixed_len(&self) -> usize {
        match &self.pattern {
            Pattern::Exact => self.text.matches('/').count() + 1,
            Pattern::Wildcard { levels, .. } => levels.len(),
        }
    }

    fn multi_level(&self) -> bool {
        matches!(
            self.pattern,
            Pattern::Wildcard {
                multi_level: true,
                ..
            }
        )
    }

    fn skips_dollar_topics(&self) -> bool {
        matches!(
            self.pattern,
            Pattern::Wildcard {
                skips_dollar_topics: true,
                ..
            }
        )
    }

    /// Every topic this filter matches starts with `$`: its first level is a `$` literal (a
    /// wildcard level is `+` or `#` alone, so a leading `$` is always literal).
    fn only_dollar_topics(&self) -> bool {
        self.text.starts_with('$')
    }

    /// Whether some topic name matches both `self` and `other`.
    ///
    /// `a/+` and `+/b` intersect (`a/b`); `a/#` and `b/#` do not; `#` and `$SYS/#` do not,
    /// since a leading wildcard skips `$` topics [MQTT-4.7.2-1].
    pub fn intersects(&self, other: &TopicFilter) -> bool {
        if (self.skips_dollar_topics() && other.only_dollar_topics())
            || (other.skips_dollar_topics() && self.only_dollar_topics())
        {
            return false;
        }
        let (len_a, len_b) = (self.fixed_len(), other.fixed_len());
        // The level counts each filter accepts must overlap. A filter without `#` has at least
        // one level, so `len_b >= len_a` also satisfies `#`'s at-least-one-level rule.
        let lengths_overlap = match (self.multi_level(), other.multi_level()) {
            (false, false) => len_a == len_b,
            (true, false) => len_b >= len_a,
            (false, true) => len_a >= len_b,
            (true, true) => true,
        };
        // Beyond the shorter fixed part, only the longer filter constrains the topic, and any
        // level it asks for can be chosen; so the common fixed levels decide.
        let levels_agree = self.steps().zip(other.steps()).all(|pair| match pair {
            (Step::Literal(a), Step::Literal(b)) => a == b,
            _ => true,
        });
        // A filter of one level without `#` pins the common topic to one level; if the other
        // filter's first level is then the empty literal, the only witness is the empty topic.
        let only_the_empty_topic = ((!self.multi_level() && len_a == 1)
            || (!other.multi_level() && len_b == 1))
            && (self.starts_with_empty_level() || other.starts_with_empty_level());
        lengths_overlap && levels_agree && !only_the_empty_topic
    }

    /// Whether every topic name `other` matches is matched by `self` too: `self` is at least as
    /// wide as `other`.
    ///
    /// `a/#` covers `a/+/c` and `a`; `a/+` does not cover `a/#`; `#` does not cover `$SYS/x`.
    /// Every filter covers itself.
    pub fn covers(&self, other: &TopicFilter) -> bool {
        if self.skips_dollar_topics() && other.only_dollar_topics() {
            return false;
        }
        let len_self = self.fixed_len();
        let lengths_covered = if other.multi_level() {
            // `other` takes topics of every length from its shortest on: `self` needs `#`, and
            // no more fixed levels than that shortest topic has.
            self.multi_level() && other.shortest_topic() >= len_self
        } else if self.multi_level() {
            other.fixed_len() >= len_self
        } else {
            other.fixed_len() == len_self
        };
        // Every topic of `other` has all of `self`'s fixed levels, and each must accept whatever
        // `other` allows there: `other`'s own level, or anything past its fixed part (its `#`).
        // A `+` of `other` stands for many levels, so only `+` covers it.
        let mut theirs = other.steps();
        lengths_covered
            && self
                .steps()
                .all(|mine| match (mine, theirs.next().unwrap_or(Step::Any)) {
                    (Step::Any, _) => true,
                    (Step::Literal(a), Step::Literal(b)) => a == b,
                    (Step::Literal(_), Step::Any) => false,
                })
    }

    /// The first level is the empty literal (`/a`, `/#`).
    fn starts_with_empty_level(&self) -> bool {
        self.text.starts_with('/')
    }

    /// The fewest levels a topic this filter matches can have. `#` matches its parent level, but
    /// never an empty topic: `a/#` matches `a`, while `/#` needs `/` at least.
    fn shortest_topic(&self) -> usize {
        let fixed = self.fixed_len();
        if !self.multi_level() {
            fixed
        } else if fixed <= 1 && self.starts_with_empty_level() {
            2
        } else {
            fixed.max(1)
        }
    }
}

#[cfg(test)]
mod tests;
