//! Running as a system service the way mosquitto runs: into the background with `-d`, a pid
//! file for as long as the broker runs, the privilege drop to the configured user once the
//! listeners are bound and the log file is open, and systemd's readiness notification.
//!
//! The system calls go through nix, whose wrappers are safe functions, so the crate keeps
//! forbidding `unsafe`.

mod accounts;

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use log::{debug, info, warn};
use nix::unistd::{self, Uid, User};

use accounts::Account;

/// A static executable (`make small`) cannot look users up through glibc's NSS, and reads
/// the account files itself (see `accounts`).
const READS_ACCOUNT_FILES: bool = cfg!(target_feature = "crt-static");
const PASSWD_FILE: &str = "/etc/passwd";
const GROUP_FILE: &str = "/etc/group";

/// The user mosquitto drops to when started as root and its file names none; minibroker does
/// the same for a configuration file (reference section 2, `user`).
pub const DEFAULT_USER: &str = "mosquitto";

/// What mosquitto falls back to when [`DEFAULT_USER`] does not exist.
const FALLBACK_USER: &str = "nobody";

/// A failure to set up the process; the command prints it and exits with status 1.
#[derive(Debug)]
pub enum ServiceError {
    Daemon(nix::Error),
    PidFile {
        path: PathBuf,
        error: io::Error,
    },
    NoSuchUser(String),
    UserLookup {
        user: String,
        error: nix::Error,
    },
    AccountFile {
        path: &'static str,
        error: io::Error,
    },
    Drop {
        user: String,
        error: nix::Error,
    },
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::Daemon(e) => write!(f, "cannot run in the background: {e}"),
            ServiceError::PidFile { path, error } => {
                write!(f, "cannot write pid file {}: {error}", path.display())
            }
            ServiceError::NoSuchUser(user) => write!(
                f,
                "Unable to drop privileges to '{user}' because this user does not exist."
            ),
            ServiceError::UserLookup { user, error } => {
                write!(f, "cannot look up user '{user}': {error}")
            }
            ServiceError::AccountFile { path, error } => {
                write!(f, "cannot read {path} to look up users: {error}")
            }
            ServiceError::Drop { user, error } => {
                write!(f, "cannot drop privileges to '{user}': {error}")
            }
        }
    }
}

impl std::error::Error for ServiceError {}

/// Forks into the background, starts a new session and points standard input, output and
/// error at /dev/null, as mosquitto's `-d` does. The working directory stays, so relative
/// paths in the configuration keep their meaning. Call it before anything starts a thread.
pub fn daemonize() -> Result<(), ServiceError> {
    unistd::daemon(true, false).map_err(ServiceError::Daemon)
}

/// The process id in a file, removed again when the value is dropped (at a normal exit).
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    pub fn create(path: &Path) -> Result<PidFile, ServiceError> {
        let write = || -> io::Result<()> {
            let mut file = fs::File::create(path)?;
            writeln!(file, "{}", std::process::id())?;
            file.sync_all()
        };
        write().map_err(|error| ServiceError::PidFile {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // After the privilege drop the directory may no longer be writable to us (mosquitto
        // has the same limit); a stale pid file is harmless next to a dead process.
        if let Err(e) = fs::remove_file(&self.path) {
            debug!("pid file {} not removed: {e}", self.path.display());
        }
    }
}

/// Which user to run as, as the configuration says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// Stay who we are (no configuration file, or `user root`).
    Unchanged,
    /// A `user` line: that user must exist.
    Named(String),
    /// No `user` line in a configuration file: mosquitto's default, [`DEFAULT_USER`], and
    /// `nobody` when that does not exist.
    Default,
}

impl RunAs {
    pub fn from_config(user: Option<&str>, from_file: bool) -> RunAs {
        match user {
            Some("root") => RunAs::Unchanged,
            Some(name) => RunAs::Named(name.to_owned()),
            None if from_file => RunAs::Default,
            None => RunAs::Unchanged,
        }
    }
}

/// Drops from root to the user `run_as` names, its group and supplementary groups. Does
/// nothing when not running as root, as mosquitto does.
pub fn drop_privileges(run_as: &RunAs) -> Result<(), ServiceError> {
    if !Uid::effective().is_root() {
        return Ok(());
    }
    let user = match run_as {
        RunAs::Unchanged => return Ok(()),
        RunAs::Named(name) => {
            lookup(name)?.ok_or_else(|| ServiceError::NoSuchUser(name.clone()))?
        }
        RunAs::Default => match lookup(DEFAULT_USER)? {
            Some(user) => user,
            None => {
                warn!(
                    "Unable to drop privileges to '{DEFAULT_USER}' because this user does not \
                     exist. Trying '{FALLBACK_USER}' instead."
                );
                lookup(FALLBACK_USER)?
                    .ok_or_else(|| ServiceError::NoSuchUser(FALLBACK_USER.to_owned()))?
            }
        },
    };
    let failed = |error| ServiceError::Drop {
        user: user.name.clone(),
        error,
    };
    // Groups first: once the user id has changed, the group can no longer be changed.
    if READS_ACCOUNT_FILES {
        let groups = accounts::groups_of(&account_file(GROUP_FILE)?, &user.name, user.gid);
        unistd::setgroups(&groups).map_err(failed)?;
    } else {
        let name = std::ffi::CString::new(user.name.as_str())
            .map_err(|_| ServiceError::NoSuchUser(user.name.clone()))?;
        unistd::initgroups(&name, user.gid).map_err(failed)?;
    }
    unistd::setgid(user.gid).map_err(failed)?;
    unistd::setuid(user.uid).map_err(failed)?;
    info!("Running as user {} (uid {})", user.name, user.uid);
    Ok(())
}

fn lookup(name: &str) -> Result<Option<Account>, ServiceError> {
    if READS_ACCOUNT_FILES {
        return Ok(accounts::find_user(&account_file(PASSWD_FILE)?, name));
    }
    let user = User::from_name(name).map_err(|error| ServiceError::UserLookup {
        user: name.to_owned(),
        error,
    })?;
    Ok(user.map(|user| Account {
        name: user.name,
        uid: user.uid,
        gid: user.gid,
    }))
}

fn account_file(path: &'static str) -> Result<String, ServiceError> {
    fs::read_to_string(path).map_err(|error| ServiceError::AccountFile { path, error })
}

/// Tells systemd (under `Type=notify`) that the broker is ready: its listeners are bound.
/// Nothing happens outside systemd.
pub fn notify_ready() {
    if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
        debug!("systemd readiness not sent: {e}");
    }
}

/// Tells systemd that the broker is stopping.
pub fn notify_stopping() {
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_as_follows_mosquittos_rules() {
        assert_eq!(RunAs::from_config(None, false), RunAs::Unchanged);
        assert_eq!(RunAs::from_config(None, true), RunAs::Default);
        assert_eq!(RunAs::from_config(Some("root"), true), RunAs::Unchanged);
        assert_eq!(
            RunAs::from_config(Some("broker"), false),
            RunAs::Named("broker".into())
        );
    }

    #[test]
    fn the_pid_file_holds_the_pid_and_goes_with_the_value() {
        let path = std::env::temp_dir().join(format!("minibroker-pid-{}", std::process::id()));
        let pid_file = PidFile::create(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", std::process::id()));
        drop(pid_file);
        assert!(!path.exists());
    }

    #[test]
    fn an_unwritable_pid_file_names_its_path() {
        let error = PidFile::create(Path::new("/nonexistent/dir/m.pid")).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/dir/m.pid"),
            "{error}"
        );
    }
}
