//! The mosquitto.conf reader: a mosquitto 2.0 configuration file (and the files its
//! `include_dir` lines bring in) read into the plain [`Config`], with every error placed at
//! its file and line.
//!
//! The reader is pure: files, directory listings and host name lookups come through a
//! [`Source`], so tests need no files; [`read_file`] is the thin function that uses the real
//! ones. The layers, each in its own file:
//! - `lexer`: lines and words exactly as mosquitto splits them, and the value parsers;
//! - `reader`: each line to the option that owns its name; `include_dir`;
//! - `listener`, `tls`, `security`, `bridge` (and `bridge_topic`), `logging`, `global`: the
//!   options by scope;
//! - `finish` and `sockets`: the rules that need the whole file (the default listener,
//!   local-only mode, allow_anonymous, one certificate for all TLS listeners).
//!
//! Settings the broker does not apply yet are still read, checked and kept in `Config`, and
//! each earns a [`Note`] the command logs once at startup. Settings it can never honour with
//! its TLS library or design (client certificates, TLS-PSK, plugins) are errors.
//!
//! Where mosquitto's behaviour is a bug or a trap, this reader differs, and says so where it
//! does: integers must be integers (mosquitto's `atoi` reads `abc` as 0); only a comment may
//! follow a one-word value; `include_dir`'s path is trimmed; listener options without a
//! `listener` line stay local-only (the 2.0.12 rule, not 2.0.11's open 0.0.0.0:1883).

// A configuration file is input: nothing it contains may panic the reader.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod bridge;
mod bridge_topic;
mod draft;
mod error;
mod finish;
mod global;
mod lexer;
mod listener;
mod logging;
mod reader;
mod security;
mod sockets;
mod tls;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use crate::config::Config;

pub use error::{ConfError, ErrorKind, Note, NoteKind};

/// Where the reader gets files, directory listings and addresses from.
pub trait Source {
    /// The whole contents of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The names of a directory's entries (without `.` and `..`).
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>>;
    /// The addresses of a host name used as a bind address.
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The real file system and resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct Files;

/// Larger than any real configuration; a guard against `-c /dev/zero`.
const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

impl Source for Files {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut contents = Vec::new();
        fs::File::open(path)?
            .take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut contents)?;
        if contents.len() as u64 > MAX_FILE_SIZE {
            return Err(io::Error::other("larger than 16 MiB"));
        }
        Ok(contents)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect()
    }

    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        Ok((host, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
    }
}

/// A configuration read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub config: Config,
    /// What to log once at startup: settings kept but not applied, ignored or deprecated.
    pub notes: Vec<Note>,
    /// Every file read, the main file first, then the included ones in the order read.
    pub files: Vec<PathBuf>,
    /// No `listener`, `port` or `bind_address` line: the broker listens on 127.0.0.1 and ::1
    /// only, on 1883 or the `ports` given.
    pub local_only: bool,
}

/// Reads the configuration at `path`. `ports` are the command line's `-p` ports, used only in
/// local-only mode as mosquitto uses them.
pub fn load(path: &Path, ports: &[u16], source: &dyn Source) -> Result<Loaded, ConfError> {
    let mut d = draft::Draft::new();
    let mut files = Vec::new();
    reader::read(&mut d, path, None, source, &mut files)?;
    let local_only = d.local_only;
    let (config, notes) = finish::finish(d, ports, source).map_err(|(at, kind)| match at {
        Some(at) => ConfError {
            file: at.file,
            line: Some(at.line),
            kind,
            included_from: None,
        },
        None => ConfError {
            file: path.to_path_buf(),
            line: None,
            kind,
            included_from: None,
        },
    })?;
    Ok(Loaded {
        config,
        notes,
        files,
        local_only,
    })
}

/// Reads the configuration at `path` from the file system.
pub fn read_file(path: &Path, ports: &[u16]) -> Result<Loaded, ConfError> {
    load(path, ports, &Files)
}
