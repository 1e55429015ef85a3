//! One client's access rights, compiled from the ACL file when it connects, and the checks the
//! router makes with them: may this client publish to a topic, receive from one, or ever receive
//! anything through a subscription's filter.
//!
//! Compiling substitutes `%c` and `%u` into the patterns and parses the results as topic filters
//! once, so a per-message [`ClientAcl::check`] formats no string and allocates nothing. The
//! client's own rules are shared with the file (an `Arc`), not copied.
//!
//! # Order of the checks ([`ClientAcl::check`]), mosquitto 2.0's
//! 1. Always applied, with or without an ACL file: publishing to a topic that starts with `$SYS`
//!    is refused except `$SYS/broker/connection/+/state`, and any topic that starts with
//!    `$share` is refused (mosquitto's `acl__check_dollar`; the prefixes are compared without
//!    a `/`, as there). The broker's own bridges are exempt: the router does not ask for them.
//! 2. Without an ACL file, everything else is allowed ([`ClientAcl::unrestricted`]).
//! 3. The client's own rules: the anonymous block for a client without a username, its user's
//!    block otherwise (or nothing). A matching `deny` refuses; a matching grant that includes
//!    the access allows.
//! 4. If the file has any pattern and the client id or username contains `+` or `#`, refused
//!    (such a name would widen a pattern into a wildcard). As in mosquitto, this comes after the
//!    client's own rules, which no name can widen.
//! 5. The patterns, `%u` ones skipped for a client without a username, in the same way as 3.
//! 6. Anything else is refused; an empty file refuses everything.
//!
//! A `$` topic matches only filters that start with `$` [MQTT-4.7.2-1]. One decision goes
//! beyond mosquitto here: a pattern *grant* reaches `$` topics only if its text starts with `$`
//! before substitution. Otherwise `pattern read %c/#` would hand a client that calls itself
//! `$SYS` the whole `$SYS` tree. Pattern denies keep the plain rule, so they refuse at least as
//! much as mosquitto's.

use std::sync::Arc;

use super::acl::{AclFile, Piece, Rule, RuleAccess};
use crate::topic::TopicFilter;

/// Who is asking: what the router knows of a connected client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIdentity<'a> {
    /// The client identifier in use (the assigned one, if the server assigned it).
    pub client_id: &'a str,
    /// The CONNECT's username; `None` for an anonymous client.
    pub username: Option<&'a str>,
}

/// What the client wants to do with a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Receive a message published to it.
    Read,
    /// Publish to it (a PUBLISH, or a Will when it is sent).
    Write,
}

/// One rule, ready to match.
#[derive(Debug, Clone)]
struct Compiled {
    access: RuleAccess,
    filter: TopicFilter,
    /// Whether the rule may match a topic that starts with `$` at all (see the module docs).
    reaches_dollar: bool,
}

/// A client's access rights, built once when it connects.
#[derive(Debug, Clone)]
pub struct ClientAcl {
    rules: Rules,
}

#[derive(Debug, Clone)]
enum Rules {
    /// No ACL file: only the always-applied rules.
    Unrestricted,
    Listed {
        /// The client's own block, denies first.
        own: Arc<[Rule]>,
        /// Its substituted patterns, denies first.
        patterns: Box<[Compiled]>,
        /// Step 4: patterns exist and the client's names could widen them.
        patterns_refused: bool,
    },
}

impl AclFile {
    /// Compiles the rules that apply to `client`.
    pub fn compile(&self, client: &ClientIdentity<'_>) -> ClientAcl {
        let own = match client.username {
            None => Arc::clone(&self.anonymous),
            Some(user) => Arc::clone(self.users.get(user).unwrap_or(&self.no_rules)),
        };
        let widens = |name: &str| name.contains(['+', '#']);
        let names_widen = widens(client.client_id) || client.username.is_some_and(widens);
        let patterns = if self.has_patterns() && names_widen {
            None
        } else {
            self.compile_patterns(client)
        };
        ClientAcl {
            rules: Rules::Listed {
                own,
                patterns_refused: patterns.is_none(),
                patterns: patterns.unwrap_or_default(),
            },
        }
    }

    /// The patterns with the client's names put in, or `None` if they must all be refused.
    fn compile_patterns(&self, client: &ClientIdentity<'_>) -> Option<Box<[Compiled]>> {
        let mut patterns = Vec::new();
        for pattern in self.patterns.iter() {
            if pattern.uses_username() && client.username.is_none() {
                continue;
            }
            let text = substitute(&pattern.pieces, client);
            match TopicFilter::new(text.into()) {
                Ok(filter) => patterns.push(Compiled {
                    access: pattern.access,
                    filter,
                    reaches_dollar: pattern.access == RuleAccess::Deny
                        || pattern.starts_with_dollar,
                }),
                // Only an overlong result, or an empty one (`%c` for an empty id), can fail:
                // the names hold no `+` or `#` here, and no U+0000 ever.
                // A grant that cannot be built grants nothing; a deny that cannot be built
                // must not grant by its absence, so the patterns are refused altogether.
                Err(_) if pattern.access == RuleAccess::Deny => return None,
                Err(_) => {}
            }
        }
        Some(patterns.into_boxed_slice())
    }

    /// [`ClientAcl::check`] for a client not compiled beforehand: convenient for a one-off
    /// question and for tests, but it compiles the patterns on every call.
    pub fn check(&self, client: &ClientIdentity<'_>, topic: &str, access: Access) -> bool {
        self.compile(client).check(topic, access)
    }
}

impl ClientAcl {
    /// The rights of every client when no ACL file is configured: everything but what is always
    /// refused.
    pub fn unrestricted() -> ClientAcl {
        ClientAcl {
            rules: Rules::Unrestricted,
        }
    }

    /// Whether the client may publish to (`Write`) or receive from (`Read`) `topic`, a valid
    /// topic name. Costs a walk over the client's rules, no allocation.
    pub fn check(&self, topic: &str, access: Access) -> bool {
        if always_refused(topic, access) {
            return false;
        }
        let (own, patterns, patterns_refused) = match &self.rules {
            Rules::Unrestricted => return true,
            Rules::Listed {
                own,
                patterns,
                patterns_refused,
            } => (own, patterns, *patterns_refused),
        };
        let own = own.iter().map(|rule| (rule.access, &rule.filter, true));
        if let Some(verdict) = first_verdict(own, topic, access) {
            return verdict;
        }
        if patterns_refused {
            return false;
        }
        let patterns = patterns
            .iter()
            .map(|rule| (rule.access, &rule.filter, rule.reaches_dollar));
        first_verdict(patterns, topic, access).unwrap_or(false)
    }

    /// Whether any message published to a topic `filter` matches could ever be delivered to this
    /// client. `false` means a SUBSCRIBE to it can be refused at once (0x80 in MQTT 3.1.1, 0x87
    /// in MQTT 5). For a shared subscription, pass the filter after the group name.
    ///
    /// Never `false` when some topic would pass [`check`](ClientAcl::check): a read grant must
    /// intersect the filter, and a deny counts only when it covers the whole filter (a deny
    /// that covers part of it leaves the rest to the grants).
    pub fn can_ever_read(&self, filter: &TopicFilter) -> bool {
        let (own, patterns, patterns_refused) = match &self.rules {
            Rules::Unrestricted => return true,
            Rules::Listed {
                own,
                patterns,
                patterns_refused,
            } => (own, patterns, *patterns_refused),
        };
        let own = own.iter().map(|rule| (rule.access, &rule.filter, true));
        if let Some(verdict) = first_filter_verdict(own, filter) {
            return verdict;
        }
        if patterns_refused {
            return false;
        }
        let patterns = patterns
            .iter()
            .map(|rule| (rule.access, &rule.filter, rule.reaches_dollar));
        first_filter_verdict(patterns, filter).unwrap_or(false)
    }
}

/// Step 1 of the module docs: mosquitto's `acl__check_dollar`.
fn always_refused(topic: &str, access: Access) -> bool {
    if topic.starts_with("$SYS") {
        access == Access::Write && !is_bridge_state_topic(topic)
    } else {
        topic.starts_with("$share")
    }
}

/// Whether `topic` matches `$SYS/broker/connection/+/state`, where bridges report their state.
fn is_bridge_state_topic(topic: &str) -> bool {
    topic
        .strip_prefix("$SYS/broker/connection/")
        .and_then(|rest| rest.strip_suffix("/state"))
        .is_some_and(|name| !name.contains('/'))
}

/// The first rule of a deny-first list that matches `topic` and decides: `Some(false)` for a
/// deny, `Some(true)` for a grant that includes `access`, `None` if none does.
fn first_verdict<'a>(
    rules: impl Iterator<Item = (RuleAccess, &'a TopicFilter, bool)>,
    topic: &str,
    access: Access,
) -> Option<bool> {
    let dollar = topic.starts_with('$');
    for (rule_access, filter, reaches_dollar) in rules {
        if (dollar && !reaches_dollar) || !filter.matches(topic) {
            continue;
        }
        match (rule_access, access) {
            (RuleAccess::Deny, _) => return Some(false),
            (RuleAccess::ReadWrite, _)
            | (RuleAccess::Read, Access::Read)
            | (RuleAccess::Write, Access::Write) => return Some(true),
            _ => {}
        }
    }
    None
}

/// [`first_verdict`] for a whole subscription filter: `Some(false)` for a deny that covers it,
/// `Some(true)` for a read grant that intersects it.
fn first_filter_verdict<'a>(
    rules: impl Iterator<Item = (RuleAccess, &'a TopicFilter, bool)>,
    subscription: &TopicFilter,
) -> Option<bool> {
    // Every topic a filter starting with `$` matches starts with `$`.
    let dollar = subscription.as_str().starts_with('$');
    for (rule_access, filter, reaches_dollar) in rules {
        match rule_access {
            RuleAccess::Deny if filter.covers(subscription) => return Some(false),
            RuleAccess::Read | RuleAccess::ReadWrite
                if (!dollar || reaches_dollar) && filter.intersects(subscription) =>
            {
                return Some(true);
            }
            _ => {}
        }
    }
    None
}

/// A pattern's topic with the client's names put in.
fn substitute(pieces: &[Piece], client: &ClientIdentity<'_>) -> String {
    let mut text = String::new();
    for piece in pieces {
        text.push_str(match piece {
            Piece::Text(part) => part,
            Piece::ClientId => client.client_id,
            Piece::Username => client.username.unwrap_or_default(),
        });
    }
    text
}

#[cfg(test)]
mod tests;
