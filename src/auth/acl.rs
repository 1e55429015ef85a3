//! A mosquitto ACL file, parsed: per-user topic rules and `%c`/`%u` patterns, ready to be
//! compiled for each client as it connects (`acl_check.rs`).
//!
//! The syntax is mosquitto 2.0's (MOSQUITTO-COMPAT.md section 5), line by line:
//! - trailing blanks are stripped; a line that is then empty is skipped, and so is one whose
//!   first byte is `#`;
//! - words are separated by spaces only (a tab is part of a word, as in mosquitto), and leading
//!   spaces are skipped;
//! - `user NAME`: NAME is the rest of the line; the `topic` lines that follow belong to it, and
//!   blocks for the same user merge;
//! - `topic [read|write|readwrite|deny] TOPIC` and `pattern [...] TOPIC`: TOPIC is the rest of
//!   the line (spaces included) and must be a valid topic filter; a single word after `topic` is
//!   the topic, with `readwrite`;
//! - `topic` lines before the first `user` apply only to clients without a username; `pattern`
//!   lines apply to every client wherever they are written;
//! - anything else (an indented `#` too) is fatal, with the file and line.
//!
//! Inside each list, `deny` entries move to the front, as mosquitto's `add__acl` puts them: a
//! matching deny refuses before any grant is looked at.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::trim_end_blanks;
use crate::topic::{TopicError, TopicFilter};

/// What one ACL line grants, or that it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAccess {
    Read,
    Write,
    ReadWrite,
    Deny,
}

/// A `topic` line: its access and its filter, compiled once when the file is read.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub(super) access: RuleAccess,
    pub(super) filter: TopicFilter,
}

/// One piece of a `pattern` line's topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    Text(Box<str>),
    /// `%c`: the client identifier.
    ClientId,
    /// `%u`: the username.
    Username,
}

/// A `pattern` line: its access and its topic split at `%c` and `%u`.
#[derive(Debug, Clone)]
pub(super) struct PatternRule {
    pub(super) access: RuleAccess,
    pub(super) pieces: Box<[Piece]>,
    /// The topic starts with `$`, before substitution (see `acl_check.rs` for why it matters).
    pub(super) starts_with_dollar: bool,
}

impl PatternRule {
    pub(super) fn uses_username(&self) -> bool {
        self.pieces.contains(&Piece::Username)
    }
}

/// The rules of an ACL file.
#[derive(Debug, Clone)]
pub struct AclFile {
    /// `topic` lines before the first `user`: for clients without a username.
    pub(super) anonymous: Arc<[Rule]>,
    pub(super) users: HashMap<Box<str>, Arc<[Rule]>>,
    pub(super) patterns: Box<[PatternRule]>,
    /// Shared by every named client that has no block of its own.
    pub(super) no_rules: Arc<[Rule]>,
}

/// A line that makes the whole ACL file unusable, as it makes mosquitto refuse to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclError {
    /// The file's name as the caller gave it.
    pub source: String,
    /// Counting from 1.
    pub line: usize,
    pub kind: AclErrorKind,
}

/// What is wrong with an ACL line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclErrorKind {
    /// The first word is not `user`, `topic` or `pattern`; it is kept, cut to 40 characters.
    UnknownDirective(String),
    /// `#` after leading spaces: a comment must start in the first column.
    IndentedComment,
    /// `topic` or `pattern` with nothing after it.
    MissingTopic,
    /// The word before the topic is not `read`, `write`, `readwrite` or `deny`.
    InvalidAccess(String),
    /// `user` with nothing after it.
    MissingUser,
    /// The topic is not a valid topic filter.
    InvalidTopic(TopicError),
    /// The line is not UTF-8, which no topic or username can be.
    NotUtf8,
}

impl fmt::Display for AclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.source, self.line)?;
        match &self.kind {
            AclErrorKind::UnknownDirective(word) => write!(
                f,
                "unknown ACL line {word:?} (expected user, topic or pattern, separated by spaces)"
            ),
            AclErrorKind::IndentedComment => {
                f.write_str("'#' after leading spaces: a comment must start in the first column")
            }
            AclErrorKind::MissingTopic => f.write_str("empty topic in ACL line"),
            AclErrorKind::InvalidAccess(word) => write!(
                f,
                "invalid topic access type {word:?} (expected read, write, readwrite or deny)"
            ),
            AclErrorKind::MissingUser => f.write_str("missing username after 'user'"),
            AclErrorKind::InvalidTopic(error) => write!(f, "invalid ACL topic: {error}"),
            AclErrorKind::NotUtf8 => f.write_str("line is not valid UTF-8"),
        }
    }
}

impl std::error::Error for AclError {}

impl AclFile {
    /// Parses an ACL file's contents. `source` names the file in the error.
    pub fn parse(text: &[u8], source: &str) -> Result<AclFile, AclError> {
        let mut reader = Reader::default();
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            reader.line(line).map_err(|kind| AclError {
                source: source.to_owned(),
                line: index + 1,
                kind,
            })?;
        }
        Ok(reader.finish())
    }

    /// A file with no lines: it refuses everything.
    pub fn empty() -> AclFile {
        Reader::default().finish()
    }

    /// Whether any `pattern` line exists: then a client id or username with `+` or `#` gets no
    /// pattern's access.
    pub fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// Whether the file has a `user` block for this name.
    pub fn has_user(&self, username: &str) -> bool {
        self.users.contains_key(username)
    }
}

/// The parser's state between lines.
#[derive(Default)]
struct Reader {
    /// The current `user`; `None` before the first.
    user: Option<Box<str>>,
    anonymous: Vec<Rule>,
    users: HashMap<Box<str>, Vec<Rule>>,
    patterns: Vec<PatternRule>,
}

impl Reader {
    fn line(&mut self, line: &[u8]) -> Result<(), AclErrorKind> {
        let line = trim_end_blanks(line);
        if line.is_empty() || line.first() == Some(&b'#') {
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| AclErrorKind::NotUtf8)?;
        let (word, rest) = next_word(line);
        match word {
            "topic" => {
                let (access, topic) = access_and_topic(rest)?;
                let filter = TopicFilter::parse(topic).map_err(AclErrorKind::InvalidTopic)?;
                let rules = match &self.user {
                    None => &mut self.anonymous,
                    Some(user) => self.users.entry(user.clone()).or_default(),
                };
                rules.push(Rule { access, filter });
            }
            "pattern" => {
                let (access, topic) = access_and_topic(rest)?;
                // The text before substitution must already be a filter, as in mosquitto.
                TopicFilter::parse(topic).map_err(AclErrorKind::InvalidTopic)?;
                self.patterns.push(PatternRule {
                    access,
                    pieces: pieces(topic),
                    starts_with_dollar: topic.starts_with('$'),
                });
            }
            "user" => {
                let name = rest.trim_start_matches(' ');
                if name.is_empty() {
                    return Err(AclErrorKind::MissingUser);
                }
                self.user = Some(name.into());
            }
            _ if word.starts_with('#') => return Err(AclErrorKind::IndentedComment),
            _ => {
                return Err(AclErrorKind::UnknownDirective(
                    word.chars().take(40).collect(),
                ));
            }
        }
        Ok(())
    }

    fn finish(self) -> AclFile {
        AclFile {
            anonymous: denies_first(self.anonymous).into(),
            users: (self.users.into_iter())
                .map(|(user, rules)| (user, denies_first(rules).into()))
                .collect(),
            patterns: denies_first(self.patterns).into(),
            no_rules: Arc::from(Vec::new()),
        }
    }
}

/// The first space-separated word and what follows the space after it. Leading spaces are
/// skipped, as `strtok` does; the rest keeps its own.
fn next_word(text: &str) -> (&str, &str) {
    let text = text.trim_start_matches(' ');
    text.split_once(' ').unwrap_or((text, ""))
}

fn access_and_topic(rest: &str) -> Result<(RuleAccess, &str), AclErrorKind> {
    let (first, topic) = next_word(rest);
    if first.is_empty() {
        return Err(AclErrorKind::MissingTopic);
    }
    let topic = topic.trim_start_matches(' ');
    if topic.is_empty() {
        // One word: that is the topic, with both directions.
        return Ok((RuleAccess::ReadWrite, first));
    }
    let access = match first {
        "read" => RuleAccess::Read,
        "write" => RuleAccess::Write,
        "readwrite" => RuleAccess::ReadWrite,
        "deny" => RuleAccess::Deny,
        _ => {
            return Err(AclErrorKind::InvalidAccess(
                first.chars().take(40).collect(),
            ));
        }
    };
    Ok((access, topic))
}

/// Splits a pattern's topic at each `%c` and `%u`, wherever they stand (mosquitto substitutes
/// them inside levels too). Any other `%` is text.
fn pieces(topic: &str) -> Box<[Piece]> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = topic.chars().peekable();
    while let Some(c) = chars.next() {
        let piece = match (c, chars.peek()) {
            ('%', Some('c')) => Piece::ClientId,
            ('%', Some('u')) => Piece::Username,
            _ => {
                text.push(c);
                continue;
            }
        };
        chars.next();
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text).into()));
        }
        pieces.push(piece);
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text.into()));
    }
    pieces.into_boxed_slice()
}

/// Moves `deny` entries ahead of the grants, each group keeping its file order.
fn denies_first<T: HasAccess>(mut rules: Vec<T>) -> Vec<T> {
    rules.sort_by_key(|rule| rule.access() != RuleAccess::Deny);
    rules
}

trait HasAccess {
    fn access(&self) -> RuleAccess;
}

impl HasAccess for Rule {
    fn access(&self) -> RuleAccess {
        self.access
    }
}

impl HasAccess for PatternRule {
    fn access(&self) -> RuleAccess {
        self.access
    }
}

#[cfg(test)]
mod tests;
