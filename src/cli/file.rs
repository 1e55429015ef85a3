//! `-c FILE`: the configuration comes from a mosquitto.conf. The file says where to listen, so
//! the listener options are refused beside it, and `-p` is used as mosquitto uses it: only in
//! local-only mode, where it replaces port 1883.

use std::path::Path;

use getopts::Matches;
use log::Level;

use super::{CliError, UsageError, dashed, number};
use crate::conf;
use crate::config::Config;

/// Options that say where to listen, which the file does instead.
const LISTENER_OPTIONS: [&str; 7] = [
    "b",
    "tls-port",
    "tls-bind",
    "cert",
    "key",
    "pkcs12",
    "pkcs12-password-env",
];

/// The file's configuration and what to log about it at startup.
pub(super) fn config_from_file(
    m: &Matches,
    path: &Path,
) -> Result<(Config, Vec<(Level, String)>), CliError> {
    if let Some(option) = LISTENER_OPTIONS.iter().find(|o| m.opt_present(o)) {
        let message = "cannot be combined with -c: the configuration file says where to listen";
        return Err(UsageError::new(dashed(option), message).into());
    }
    let ports: Vec<u16> = number(m, "p", "-p")?.into_iter().collect();
    let loaded = conf::read_file(path, &ports).map_err(CliError::Config)?;
    let mut log = Vec::new();
    let mut files = loaded.files.iter();
    if let Some(main) = files.next() {
        log.push((
            Level::Info,
            format!("Config loaded from {}.", main.display()),
        ));
    }
    log.extend(files.map(|f| (Level::Info, format!("Loading config file {}", f.display()))));
    log.extend(loaded.notes.iter().map(|n| (Level::Warn, n.to_string())));
    if loaded.local_only {
        log.push((
            Level::Warn,
            "Starting in local only mode. Connections will only be possible from clients \
             running on this machine."
                .to_string(),
        ));
        log.push((
            Level::Warn,
            "Create a configuration file which defines a listener to allow remote access."
                .to_string(),
        ));
    } else if !ports.is_empty() {
        let message = "-p is ignored: the configuration file defines the listeners";
        log.push((Level::Warn, message.to_string()));
    }
    Ok((loaded.config, log))
}
