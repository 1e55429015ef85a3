//! Lines and words of a mosquitto.conf, split exactly as mosquitto 2.0 splits them
//! (`config__read_file_core` and `conf__parse_*` in its `conf.c`), and the value parsers.
//!
//! - A line is what ends in LF. A line whose first byte is `#`, CR or LF is skipped; trailing
//!   CRs are stripped, so CRLF files read like LF files.
//! - Words are separated by spaces only. A TAB is part of a word, so `\tport` is an unknown
//!   option and an indented `  # x` is the option `#`, an error.
//! - A string value is the rest of the line after the option's name, trimmed; an inline
//!   `# comment` is part of it.
//! - Integers are stricter than mosquitto's `atoi`: mosquitto reads `12abc` as 12 and `abc`
//!   as 0, which turns a typo into a silent setting. Here the word must be a decimal integer
//!   (optional sign, surrounding blanks allowed). Like mosquitto only the next word is read,
//!   but anything after it must be a `# comment`.
//! - Booleans are exactly `true`, `false`, `1` or `0`, with the same rule for what follows.

use super::error::ErrorKind;

/// mosquitto's `isspace` trimming (`misc__trimblanks`).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// The lines of a file that mosquitto reads as options, with their 1-based numbers. A NUL
/// ends a line, as it ends a C string.
pub(super) fn option_lines(contents: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    contents
        .split(|&b| b == b'\n')
        .zip(1u32..)
        .filter_map(|(raw, number)| {
            let raw = raw.split(|&b| b == 0).next().unwrap_or_default();
            match raw.first() {
                None | Some(b'#' | b'\r') => None,
                Some(_) => {
                    let end = raw.iter().rposition(|&b| b != b'\r').map_or(0, |i| i + 1);
                    raw.get(..end).map(|line| (number, line))
                }
            }
        })
}

/// The words of one line after the option's name, read as mosquitto's `strtok_r` does.
#[derive(Debug, Clone)]
pub(super) struct Args<'a> {
    rest: &'a str,
}

impl<'a> Args<'a> {
    /// Splits a line into its option name and the rest; `None` for a line of spaces.
    pub(super) fn split(line: &'a str) -> Option<(&'a str, Args<'a>)> {
        let mut args = Args { rest: line };
        let name = args.word()?;
        Some((name, args))
    }

    /// The next space-separated word (`strtok_r(NULL, " ")`).
    pub(super) fn word(&mut self) -> Option<&'a str> {
        let text = self.rest.trim_start_matches(' ');
        if text.is_empty() {
            self.rest = text;
            return None;
        }
        match text.split_once(' ') {
            Some((word, rest)) => {
                self.rest = rest;
                Some(word)
            }
            None => {
                self.rest = "";
                Some(text)
            }
        }
    }

    /// Everything left, untrimmed (`strtok_r(NULL, "")`); `None` when nothing is left.
    pub(super) fn rest(&mut self) -> Option<&'a str> {
        let rest = std::mem::take(&mut self.rest);
        (!rest.is_empty()).then_some(rest)
    }

    /// Nothing but a comment may follow a value that is one word.
    pub(super) fn end(&mut self, option: &str, value: &str) -> Result<(), ErrorKind> {
        match self.word() {
            None => Ok(()),
            Some(word) if word.starts_with('#') => {
                self.rest = "";
                Ok(())
            }
            Some(word) => Err(invalid(option, &format!("{value} {word}"), None)),
        }
    }
}

pub(super) fn invalid(option: &str, value: &str, reason: Option<&'static str>) -> ErrorKind {
    ErrorKind::Invalid {
        option: option.to_string(),
        value: value.to_string(),
        reason,
    }
}

/// One of a fixed set of words, as `socket_domain ipv4|ipv6` takes: the value paired with
/// `text` in `choices`, or an invalid-value error that says what was `expected`.
pub(super) fn keyword<T: Copy>(
    option: &str,
    text: &str,
    choices: &[(&str, T)],
    expected: &'static str,
) -> Result<T, ErrorKind> {
    choices
        .iter()
        .find(|(word, _)| *word == text)
        .map(|(_, value)| *value)
        .ok_or_else(|| invalid(option, text, Some(expected)))
}

/// A string value: the rest of the line, trimmed, non-empty. `taken` is whether the scope
/// already has one; mosquitto checks that before the value's emptiness, and so does this.
pub(super) fn string(args: &mut Args<'_>, option: &str, taken: bool) -> Result<String, ErrorKind> {
    let rest = args
        .rest()
        .ok_or_else(|| ErrorKind::Empty(option.to_string()))?;
    if taken {
        return Err(ErrorKind::Duplicate(option.to_string()));
    }
    let value = rest.trim_matches(is_blank);
    if value.is_empty() {
        return Err(ErrorKind::Empty(option.to_string()));
    }
    if value.len() > usize::from(u16::MAX) {
        return Err(invalid(option, "…", Some("longer than 65535 bytes")));
    }
    Ok(value.to_string())
}

/// The next word, which must be there.
pub(super) fn word<'a>(args: &mut Args<'a>, option: &str) -> Result<&'a str, ErrorKind> {
    args.word()
        .ok_or_else(|| ErrorKind::Empty(option.to_string()))
}

/// A decimal integer (see the module comment for how this differs from mosquitto's `atoi`).
pub(super) fn integer(args: &mut Args<'_>, option: &str) -> Result<i64, ErrorKind> {
    let text = word(args, option)?;
    let value = parse_integer(text).ok_or_else(|| invalid(option, text, None))?;
    args.end(option, text)?;
    Ok(value)
}

pub(super) fn parse_integer(text: &str) -> Option<i64> {
    let trimmed = text.trim_matches(is_blank);
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// An integer within `min..=max`.
pub(super) fn integer_in(
    args: &mut Args<'_>,
    option: &str,
    min: i64,
    max: i64,
    reason: &'static str,
) -> Result<i64, ErrorKind> {
    let value = integer(args, option)?;
    if value < min || value > max {
        return Err(invalid(option, &value.to_string(), Some(reason)));
    }
    Ok(value)
}

/// `true`, `false`, `1` or `0`, nothing else.
pub(super) fn boolean(args: &mut Args<'_>, option: &str) -> Result<bool, ErrorKind> {
    let text = word(args, option)?;
    let value = match text {
        "true" | "1" => true,
        "false" | "0" => false,
        _ => return Err(invalid(option, text, None)),
    };
    args.end(option, text)?;
    Ok(value)
}
