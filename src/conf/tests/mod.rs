//! Tests of the mosquitto.conf reader, over an in-memory [`Source`]: no files, no resolver.

mod bad_values;
mod bridges;
mod include;
mod lexer;
mod listeners;
mod security;
mod values;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use super::{ConfError, ErrorKind, Loaded, Note, Source, load};
use crate::config::{Config, ListenerKind, ListenerProtocol};

/// Files, directories and host names in memory.
#[derive(Debug, Default)]
pub(super) struct Fake {
    files: HashMap<PathBuf, Vec<u8>>,
    dirs: HashMap<PathBuf, Vec<OsString>>,
    hosts: HashMap<String, Vec<IpAddr>>,
}

pub(super) const MAIN: &str = "/etc/mosquitto/mosquitto.conf";

impl Fake {
    /// A file system holding only the main file.
    pub(super) fn main(contents: &str) -> Fake {
        Fake::default().file(MAIN, contents)
    }

    pub(super) fn file(mut self, path: &str, contents: impl AsRef<[u8]>) -> Fake {
        self.files
            .insert(PathBuf::from(path), contents.as_ref().to_vec());
        self
    }

    /// A directory with these entries; entries that are also `file`s can be read.
    pub(super) fn dir(mut self, path: &str, names: &[&str]) -> Fake {
        let names = names.iter().map(OsString::from).collect();
        self.dirs.insert(PathBuf::from(path), names);
        self
    }

    pub(super) fn host(mut self, name: &str, ips: &[&str]) -> Fake {
        let ips = ips.iter().map(|ip| ip.parse().expect("ip")).collect();
        self.hosts.insert(name.to_string(), ips);
        self
    }

    pub(super) fn load(&self) -> Result<Loaded, ConfError> {
        self.load_with_ports(&[])
    }

    pub(super) fn load_with_ports(&self, ports: &[u16]) -> Result<Loaded, ConfError> {
        load(Path::new(MAIN), ports, self)
    }
}

impl Source for Fake {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        if self.dirs.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "Is a directory",
            ));
        }
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        self.dirs
            .get(dir)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }

    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.hosts
            .get(host)
            .cloned()
            .ok_or_else(|| io::Error::other("Name or service not known"))
    }
}

/// The configuration of a main file alone; panics on an error.
pub(super) fn config(text: &str) -> Config {
    loaded(text).config
}

pub(super) fn loaded(text: &str) -> Loaded {
    match Fake::main(text).load() {
        Ok(loaded) => loaded,
        Err(e) => panic!("{text:?} was refused: {e}"),
    }
}

/// The error of a main file alone; panics if it is accepted.
pub(super) fn error(text: &str) -> ConfError {
    match Fake::main(text).load() {
        Ok(_) => panic!("{text:?} was accepted"),
        Err(e) => e,
    }
}

pub(super) fn kind(text: &str) -> ErrorKind {
    error(text).kind
}

/// The error's one line, as the command prints it.
pub(super) fn message(text: &str) -> String {
    error(text).to_string()
}

pub(super) fn notes(text: &str) -> Vec<String> {
    loaded(text).notes.iter().map(Note::to_string).collect()
}

/// The addresses of the listeners of one kind, in order.
pub(super) fn sockets(config: &Config, kind: ListenerKind) -> Vec<SocketAddr> {
    config
        .listeners
        .iter()
        .filter(|l| l.kind == kind && l.options.protocol == ListenerProtocol::Mqtt)
        .map(|l| l.addr)
        .collect()
}

/// The MQTT over WebSockets listeners' addresses, plain and TLS.
pub(super) fn websockets(config: &Config) -> Vec<SocketAddr> {
    config
        .listeners
        .iter()
        .filter(|l| l.options.protocol == ListenerProtocol::WebSockets)
        .map(|l| l.addr)
        .collect()
}

pub(super) fn plain(config: &Config) -> Vec<SocketAddr> {
    sockets(config, ListenerKind::Plain)
}

pub(super) fn addr(text: &str) -> SocketAddr {
    text.parse().expect("socket address")
}
