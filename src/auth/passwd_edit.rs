//! The edits `minibroker passwd` makes to a password file, as pure functions: the file's bytes
//! and the new entry in, the new file's bytes out. Hashing and I/O stay in `passwd_tool.rs`.
//!
//! An entry line is split as the broker splits it (`password_file.rs`): the user up to the first
//! `:`, the hash up to the next, both trimmed. Decisions, with mosquitto_passwd's behaviour for
//! comparison (MOSQUITTO-COMPAT.md section 4):
//! - Line order is kept and a new user is appended. Lines that are not touched are copied byte
//!   for byte, line ends included; the result always ends with a newline (mosquitto_passwd would
//!   glue a new entry onto a last line that has none).
//! - Comment lines (`#` in the first byte) and blank lines are kept. mosquitto_passwd stops with
//!   "Corrupt password file" on them; the broker skips them, so keeping them loses nothing. A
//!   line the broker would skip for another reason (no `:`) or that has an empty user or hash is
//!   still "corrupt", since silently keeping or dropping it would hide a mistake.
//! - Setting a user's password replaces its first entry and drops any later duplicates (which the
//!   broker would have preferred), so the file ends with exactly one entry for that user.
//! - Converting a plain-text file (`-U`) hashes only the fields that are not already valid
//!   `$6$`/`$7$` hashes, so running it twice, or on a half-converted file, is harmless
//!   (mosquitto's #2211 hashes the hashes).

use std::fmt;

use super::hash::PasswordHash;
use super::password_file::split_entry;
use super::trim_blanks;

/// The longest username or password mosquitto_passwd accepts, in bytes: an MQTT string's length
/// prefix is two bytes.
pub const MAX_LEN: usize = 65_535;

/// Why an edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// A line that is neither an entry, a comment nor blank.
    Corrupt {
        line: usize,
    },
    /// `-D` for a user the file does not have.
    UserNotFound(String),
    UsernameEmpty,
    /// The broker splits a line at the first `:`.
    UsernameColon,
    /// Control characters would let a name break lines or logs.
    UsernameControl,
    UsernameTooLong,
    /// A zero-length CONNECT password counts as none, so it could never log in.
    PasswordEmpty,
    PasswordTooLong,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Corrupt { line } => write!(f, "corrupt password file at line {line}"),
            EditError::UserNotFound(user) => write!(f, "user {user:?} not found in password file"),
            EditError::UsernameEmpty => f.write_str("username must not be empty"),
            EditError::UsernameColon => f.write_str("username must not contain the ':' character"),
            EditError::UsernameControl => {
                f.write_str("username must not contain control characters")
            }
            EditError::UsernameTooLong => write!(f, "username must be at most {MAX_LEN} bytes"),
            EditError::PasswordEmpty => f.write_str(
                "password must not be empty (a zero-length password counts as none, so it could \
                 never log in)",
            ),
            EditError::PasswordTooLong => write!(f, "password must be at most {MAX_LEN} bytes"),
        }
    }
}

impl std::error::Error for EditError {}

/// Checks a username as mosquitto_passwd does (and refuses an empty one, which no line could
/// hold).
pub fn validate_username(user: &str) -> Result<(), EditError> {
    if user.is_empty() {
        Err(EditError::UsernameEmpty)
    } else if user.len() > MAX_LEN {
        Err(EditError::UsernameTooLong)
    } else if user.chars().any(char::is_control) {
        Err(EditError::UsernameControl)
    } else if user.contains(':') {
        Err(EditError::UsernameColon)
    } else {
        Ok(())
    }
}

pub fn validate_password(password: &[u8]) -> Result<(), EditError> {
    if password.is_empty() {
        Err(EditError::PasswordEmpty)
    } else if password.len() > MAX_LEN {
        Err(EditError::PasswordTooLong)
    } else {
        Ok(())
    }
}

/// A new file holding one entry (`-c`).
pub fn create(user: &str, hash: &PasswordHash) -> Vec<u8> {
    format!("{user}:{hash}\n").into_bytes()
}

/// Sets `user`'s hash: its first entry is replaced, later ones dropped; a new user is appended.
pub fn set_user(text: &[u8], user: &str, hash: &PasswordHash) -> Result<Vec<u8>, EditError> {
    let new_entry = format!("{user}:{hash}").into_bytes();
    let mut out = Vec::with_capacity(text.len() + new_entry.len() + 1);
    let mut replaced = false;
    for line in lines(text)? {
        match line {
            Line::Entry { user: name, .. } if name == user.as_bytes() => {
                if !replaced {
                    push_line(&mut out, &new_entry);
                    replaced = true;
                }
            }
            other => push_line(&mut out, other.text()),
        }
    }
    if !replaced {
        push_line(&mut out, &new_entry);
    }
    Ok(out)
}

/// Removes every entry of `user` (`-D`).
pub fn delete_user(text: &[u8], user: &str) -> Result<Vec<u8>, EditError> {
    let mut out = Vec::with_capacity(text.len());
    let mut found = false;
    for line in lines(text)? {
        match line {
            Line::Entry { user: name, .. } if name == user.as_bytes() => found = true,
            other => push_line(&mut out, other.text()),
        }
    }
    if found {
        Ok(out)
    } else {
        Err(EditError::UserNotFound(user.to_owned()))
    }
}

/// Hashes every entry whose field is not already a valid hash, treating the field as the
/// plain-text password (`-U`). `hash` is called once per such entry, and may fail (it draws a
/// salt); the count of converted entries is returned with the new text.
pub fn convert<E: From<EditError>>(
    text: &[u8],
    mut hash: impl FnMut(&[u8]) -> Result<PasswordHash, E>,
) -> Result<(Vec<u8>, usize), E> {
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut converted = 0;
    for line in lines(text)? {
        match line {
            Line::Entry { user, field, .. } if !is_hash(field) => {
                let mut entry = user.to_vec();
                entry.push(b':');
                entry.extend_from_slice(hash(field)?.to_string().as_bytes());
                push_line(&mut out, &entry);
                converted += 1;
            }
            other => push_line(&mut out, other.text()),
        }
    }
    Ok((out, converted))
}

/// Checks that every line is an entry, a comment or blank, as every edit requires.
pub fn check(text: &[u8]) -> Result<(), EditError> {
    lines(text).map(|_| ())
}

fn is_hash(field: &[u8]) -> bool {
    std::str::from_utf8(field).is_ok_and(|field| PasswordHash::parse(field).is_ok())
}

/// One line of the file as read, without its `\n`.
enum Line<'a> {
    /// A comment or a blank line, kept as it is.
    Other(&'a [u8]),
    Entry {
        text: &'a [u8],
        user: &'a [u8],
        field: &'a [u8],
    },
}

impl<'a> Line<'a> {
    fn text(&self) -> &'a [u8] {
        match self {
            Line::Other(text) | Line::Entry { text, .. } => text,
        }
    }
}

/// Classifies every line, or names the first that is corrupt.
fn lines(text: &[u8]) -> Result<Vec<Line<'_>>, EditError> {
    // A final `\n` ends the last line rather than starting an empty one.
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut lines = Vec::new();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.first() == Some(&b'#') || trim_blanks(line).is_empty() {
            lines.push(Line::Other(line));
            continue;
        }
        let corrupt = EditError::Corrupt { line: index + 1 };
        let (user, field) = split_entry(line).ok_or(corrupt.clone())?;
        if user.is_empty() || field.is_empty() {
            return Err(corrupt);
        }
        lines.push(Line::Entry {
            text: line,
            user,
            field,
        });
    }
    Ok(lines)
}

fn push_line(out: &mut Vec<u8>, line: &[u8]) {
    out.extend_from_slice(line);
    out.push(b'\n');
}

#[cfg(test)]
mod tests;
