//! The thin I/O edge of authentication: reads the password and ACL files a configuration names,
//! at startup and on SIGHUP, and hands the parsed data to the pure core. The only other file
//! access under `auth/` is `minibroker passwd`'s.
//!
//! Startup is strict, as mosquitto is: a file that cannot be opened is fatal (mosquitto exits
//! 13), and so is an invalid ACL line (exit 3). A reload is forgiving: a listener whose file can
//! no longer be read or parsed keeps the data it had, and the log says why (file and line).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use log::{error, warn};

use super::security::{ListenerSecurity, Security};
use super::{AclError, AclFile, PasswordFile, PasswordLimits};
use crate::config::{Config, ListenerConfig};

/// Why the security files cannot be used.
#[derive(Debug)]
pub enum LoadError {
    /// A password or ACL file cannot be read.
    Open { path: PathBuf, error: io::Error },
    /// An ACL line mosquitto would refuse to start with.
    Acl(AclError),
}

impl LoadError {
    /// mosquitto's exit status for the same failure: 13 for a file it cannot open, 3 for an
    /// invalid ACL line (MOSQUITTO-COMPAT.md section 1.5).
    pub fn exit_status(&self) -> u8 {
        match self {
            LoadError::Open { .. } => 13,
            LoadError::Acl(_) => 3,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Open { path, error } => {
                // "No such file or directory", as users know it, without " (os error 2)".
                let text = error.to_string();
                let text = text.split(" (os error").next().unwrap_or_default();
                write!(f, "cannot open {}: {text}", path.display())
            }
            LoadError::Acl(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Files read once per load, so listeners naming the same file share one parsed copy.
#[derive(Default)]
struct Cache {
    passwords: HashMap<PathBuf, Arc<PasswordFile>>,
    acls: HashMap<PathBuf, Arc<AclFile>>,
}

impl Cache {
    fn passwords(&mut self, path: &Path) -> Result<Arc<PasswordFile>, LoadError> {
        if let Some(file) = self.passwords.get(path) {
            return Ok(Arc::clone(file));
        }
        let text = read(path)?;
        let name = path.display().to_string();
        let parsed = PasswordFile::parse(&text, &name, PasswordLimits::default());
        for warning in &parsed.warnings {
            warn!("{warning}");
        }
        let file = Arc::new(parsed.file);
        self.passwords.insert(path.to_owned(), Arc::clone(&file));
        Ok(file)
    }

    fn acl(&mut self, path: &Path) -> Result<Arc<AclFile>, LoadError> {
        if let Some(file) = self.acls.get(path) {
            return Ok(Arc::clone(file));
        }
        let text = read(path)?;
        let name = path.display().to_string();
        let file = Arc::new(AclFile::parse(&text, &name).map_err(LoadError::Acl)?);
        self.acls.insert(path.to_owned(), Arc::clone(&file));
        Ok(file)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|error| LoadError::Open {
        path: path.to_owned(),
        error,
    })
}

/// Startup: every listener's settings, with its files read; any file problem is fatal.
pub fn load(config: &Config) -> Result<Security, LoadError> {
    let mut cache = Cache::default();
    let mut listeners = Vec::with_capacity(config.listeners.len());
    for listener in &config.listeners {
        let security = &listener.options.security;
        let passwords = match &security.password_file {
            Some(path) => Some(cache.passwords(path)?),
            None => None,
        };
        let acl = match &security.acl_file {
            Some(path) => Some(cache.acl(path)?),
            None => None,
        };
        listeners.push(ListenerSecurity::new(&listener.options, passwords, acl));
    }
    Ok(Security { listeners })
}

/// SIGHUP: the settings for the listeners still `bound` (the sockets stay as they were), taken
/// from the listener of `config` with the same address and kind. A listener the new
/// configuration no longer has keeps its settings; a file that fails keeps its old data.
pub fn reload(config: &Config, bound: &[ListenerConfig], old: &Security) -> Security {
    let mut cache = Cache::default();
    let listeners = bound.iter().enumerate().map(|(i, listener)| {
        let previous = old.listeners.get(i).cloned();
        let fresh = config
            .listeners
            .iter()
            .find(|l| l.addr == listener.addr && l.kind == listener.kind);
        let Some(fresh) = fresh else {
            warn!(
                "{} is not in the reloaded configuration; its security settings are kept",
                listener.addr
            );
            return previous
                .unwrap_or_else(|| ListenerSecurity::new(&listener.options, None, None));
        };
        let security = &fresh.options.security;
        let passwords = security.password_file.as_ref().map(|path| {
            cache.passwords(path).unwrap_or_else(|e| {
                let old = previous.as_ref().and_then(|p| p.passwords.clone());
                keep_old(&e, old, PasswordFile::empty)
            })
        });
        let acl = security.acl_file.as_ref().map(|path| {
            cache.acl(path).unwrap_or_else(|e| {
                let old = previous.as_ref().and_then(|p| p.acl.clone());
                keep_old(&e, old, AclFile::empty)
            })
        });
        ListenerSecurity::new(&fresh.options, passwords, acl)
    });
    Security {
        listeners: listeners.collect(),
    }
}

/// The data read before, or, for a file newly named, an empty one: it refuses every user
/// (password file) or every topic (ACL file), never lets anyone through unchecked.
fn keep_old<T>(error: &LoadError, old: Option<Arc<T>>, empty: impl FnOnce() -> T) -> Arc<T> {
    match old {
        Some(old) => {
            error!("{error}; keeping the data read before");
            old
        }
        None => {
            error!("{error}; the file is treated as empty");
            Arc::new(empty())
        }
    }
}
