//! A mosquitto password file, parsed: user names and their hashes, and the check a CONNECT's
//! username and password go through.
//!
//! The format is mosquitto 2.0's (MOSQUITTO-COMPAT.md section 4), read line by line:
//! - a line whose first byte is `#`, and a line without `:`, is skipped;
//! - the user is the text up to the first `:`, the hash the text from there up to the next `:`
//!   (or the line's end), both trimmed of blanks;
//! - a user named twice keeps the later entry, as mosquitto in practice does;
//! - every entry must be a `$6$` or `$7$` hash, as in mosquitto's TLS builds (Debian's). An entry
//!   that is not is dropped and reported as a [`PasswordWarning`] naming the file, the line and
//!   the user, never the field itself, which in a plain-text file is the password.
//!
//! Parsing never fails: the caller reads the file (an unreadable one is its error), logs the
//! warnings, and keeps what parsed. Bytes that are not UTF-8 are allowed anywhere the format
//! does not look; a user name must be UTF-8, since an MQTT username is.
//!
//! # The iteration ceiling
//! Checking a `$7$` password costs its iteration count in HMAC-SHA512 rounds, on the event loop,
//! for every CONNECT that names the user. Measured on this project's 2-core machine, optimised
//! (`cargo test --release --lib verification_cost -- --ignored --nocapture`):
//!
//! | entry | one verification |
//! |---|---|
//! | `$6$` | 0.55 µs |
//! | `$7$`, 101 iterations (mosquitto_passwd's default) | 0.13 ms |
//! | `$7$`, 1,000 | 1.2 ms |
//! | `$7$`, 10,000 | 17 ms |
//! | `$7$`, 100,000 | 0.16 s |
//! | `$7$`, 1,000,000 | 1.2 s |
//!
//! An entry's cost is the operator's choice, but one mistyped `-I` would let any client that
//! tries that user's name stall every other client for that long, each time. So
//! [`PasswordLimits::max_iterations`] drops entries above [`DEFAULT_MAX_ITERATIONS`] = 100,000
//! with a warning that says why: at most about a sixth of a second per attempt, a thousand times
//! mosquitto's default. Higher counts (OWASP's figure for PBKDF2-HMAC-SHA512 is 210,000) need
//! the limit raised, by someone who has accepted the stall that comes with them.
//!
//! # Timing
//! The hash comparison is constant-time (`subtle`). An unknown user is checked against a dummy
//! hash of the default cost, so that in the usual file, where every entry has the default cost,
//! a wrong name takes as long as a wrong password.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use super::hash::{HashError, HashKind, PasswordHash, SALT_LEN};
use super::trim_blanks;

/// The highest `$7$` iteration count accepted by default; see the module documentation for the
/// measurement behind it.
pub const DEFAULT_MAX_ITERATIONS: u32 = 100_000;

/// Bounds on what a password file may ask of the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordLimits {
    /// The highest `$7$` iteration count an entry may have; entries above it are dropped with a
    /// warning. Each CONNECT naming the user costs about 1.2–1.6 µs per iteration of the entry
    /// (optimised build; see the module documentation).
    pub max_iterations: u32,
}

impl Default for PasswordLimits {
    fn default() -> PasswordLimits {
        PasswordLimits {
            max_iterations: DEFAULT_MAX_ITERATIONS,
        }
    }
}

/// Users and their password hashes.
#[derive(Debug, Clone)]
pub struct PasswordFile {
    users: HashMap<Box<str>, PasswordHash>,
    /// Checked for an unknown user, so that it costs what a known one does.
    dummy: PasswordHash,
}

/// What parsing a password file gives: the usable entries and what was wrong with the rest.
#[derive(Debug, Clone)]
pub struct ParsedPasswordFile {
    pub file: PasswordFile,
    /// For the caller to log, one line each; none holds a password or a hash.
    pub warnings: Vec<PasswordWarning>,
}

/// A password file line that was dropped or overrides another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordWarning {
    /// The file's name as the caller gave it.
    pub source: String,
    /// Counting from 1.
    pub line: usize,
    /// The user the line names, lossily decoded if it is not UTF-8.
    pub user: String,
    pub problem: PasswordProblem,
}

/// What is wrong with a password file line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// The hash field is not a valid `$6$`/`$7$` hash; the entry is dropped.
    InvalidHash(HashError),
    /// The `$7$` iteration count is above [`PasswordLimits::max_iterations`]; the entry is
    /// dropped.
    TooManyIterations { iterations: u32, max: u32 },
    /// The text before `:` is blank; the entry is dropped.
    EmptyUser,
    /// The user name is not UTF-8, so no MQTT client can send it; the entry is dropped.
    UserNotUtf8,
    /// The user was named before at this line; the later entry replaces it.
    Duplicate { first_line: usize },
}

impl fmt::Display for PasswordWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:?}` quotes the name and escapes control characters, so a hostile file cannot
        // forge log lines.
        write!(f, "{}:{}: user {:?}: ", self.source, self.line, self.user)?;
        match self.problem {
            PasswordProblem::InvalidHash(error) => {
                write!(f, "invalid password hash ({error}); entry removed")
            }
            PasswordProblem::TooManyIterations { iterations, max } => write!(
                f,
                "{iterations} PBKDF2 iterations is more than the {max} allowed (each login would \
                 stall the broker); entry removed, re-create it with `minibroker passwd -I`"
            ),
            PasswordProblem::EmptyUser => f.write_str("empty user name; entry removed"),
            PasswordProblem::UserNotUtf8 => f.write_str("user name is not UTF-8; entry removed"),
            PasswordProblem::Duplicate { first_line } => write!(
                f,
                "user already defined at line {first_line}; this later entry replaces it"
            ),
        }
    }
}

impl PasswordFile {
    /// Parses a password file's contents. `source` names the file in warnings.
    pub fn parse(text: &[u8], source: &str, limits: PasswordLimits) -> ParsedPasswordFile {
        let mut users = HashMap::new();
        let mut first_lines: HashMap<Box<str>, usize> = HashMap::new();
        let mut warnings = Vec::new();
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            let line_number = index + 1;
            let Some((user, field)) = split_entry(line) else {
                continue;
            };
            let warn = |problem| PasswordWarning {
                source: source.to_owned(),
                line: line_number,
                user: String::from_utf8_lossy(user).into_owned(),
                problem,
            };
            let name = match std::str::from_utf8(user) {
                Ok("") => Err(PasswordProblem::EmptyUser),
                Ok(name) => Ok(name),
                Err(_) => Err(PasswordProblem::UserNotUtf8),
            };
            let entry = name.and_then(|name| Ok((name, parse_field(field, limits)?)));
            let (name, hash) = match entry {
                Ok(entry) => entry,
                Err(problem) => {
                    warnings.push(warn(problem));
                    continue;
                }
            };
            match first_lines.entry(name.into()) {
                Entry::Occupied(first) => warnings.push(warn(PasswordProblem::Duplicate {
                    first_line: *first.get(),
                })),
                Entry::Vacant(slot) => {
                    slot.insert(line_number);
                }
            }
            users.insert(name.into(), hash);
        }
        ParsedPasswordFile {
            file: PasswordFile {
                users,
                dummy: PasswordHash::compute(HashKind::DEFAULT, b"", [0; SALT_LEN]),
            },
            warnings,
        }
    }

    /// Whether a CONNECT with this username and password may log in. A zero-length password
    /// counts as none, as in mosquitto, and no password never matches a hash.
    pub fn check(&self, username: &str, password: Option<&[u8]>) -> bool {
        let Some(password) = password.filter(|password| !password.is_empty()) else {
            return false;
        };
        match self.users.get(username) {
            Some(hash) => hash.verify(password),
            None => {
                // Spend the time a default entry would, then refuse whatever the outcome.
                let _ = self.dummy.verify(password);
                false
            }
        }
    }

    /// Whether `username` has the very same entry (hash, salt and cost) here and in `other`:
    /// then a password that passed one passes the other, and a reload need not hash it again.
    pub fn same_entry(&self, other: &PasswordFile, username: &str) -> bool {
        match (self.users.get(username), other.users.get(username)) {
            (Some(mine), Some(theirs)) => mine == theirs,
            _ => false,
        }
    }

    /// An empty file: every username is refused.
    pub fn empty() -> PasswordFile {
        PasswordFile::parse(b"", "", PasswordLimits::default()).file
    }

    pub fn contains_user(&self, username: &str) -> bool {
        self.users.contains_key(username)
    }

    /// How many users have a usable entry.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// The user and hash fields of an entry line, trimmed; `None` for a line the format skips.
pub(super) fn split_entry(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if line.first() == Some(&b'#') {
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    let (user, rest) = line.split_at(colon);
    let rest = rest.get(1..).unwrap_or_default();
    let field = rest.split(|&b| b == b':').next().unwrap_or_default();
    Some((trim_blanks(user), trim_blanks(field)))
}

fn parse_field(field: &[u8], limits: PasswordLimits) -> Result<PasswordHash, PasswordProblem> {
    let text = std::str::from_utf8(field).map_err(|_| HashError::UnknownForm);
    let hash = text
        .and_then(PasswordHash::parse)
        .map_err(PasswordProblem::InvalidHash)?;
    let iterations = hash.kind().iterations();
    if iterations > limits.max_iterations {
        return Err(PasswordProblem::TooManyIterations {
            iterations,
            max: limits.max_iterations,
        });
    }
    Ok(hash)
}

#[cfg(test)]
mod tests;
