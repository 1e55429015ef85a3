//! SIGHUP for the `minibroker` command: the command line (and so the file `-c` names) read
//! again, the log set up afresh from it, and the new configuration handed to the broker.

use std::ffi::OsString;

use log::{error, info, warn};

use super::{Command, parse};
use crate::config::{Config, ListenerConfig};
use crate::logging::{self, LogSettings};
use crate::net::ReloadHook;

/// The hook [`crate::RunOptions::on_reload`] calls. `args` is the command line as first given;
/// `running` the configuration the broker started with, to notice listeners that changed.
pub fn reload_hook(args: Vec<OsString>, running: &Config) -> ReloadHook {
    let bound = listener_addresses(&running.listeners);
    Box::new(move || reload(&args, &bound))
}

fn reload(args: &[OsString], bound: &[String]) -> Option<Config> {
    let settings = match parse(args) {
        Ok(Command::Run(settings)) => settings,
        Ok(_) => return None,
        Err(e) => {
            error!("{e}");
            error!("Configuration not reloaded: the running one stays.");
            // logrotate's SIGHUP still needs a fresh log file.
            if let Some(problem) = logging::reopen() {
                error!("{problem}");
            }
            return None;
        }
    };
    for problem in logging::reconfigure(&LogSettings::from_config(&settings.config.logging)) {
        error!("{problem}");
    }
    for (level, message) in &settings.startup_log {
        log::log!(*level, "{message}");
    }
    if listener_addresses(&settings.config.listeners) != bound {
        // mosquitto's words; its listeners stay as bound too.
        warn!(
            "It is not currently possible to add/remove listeners when reloading the config file."
        );
    }
    info!("Configuration reloaded.");
    Some(settings.config)
}

fn listener_addresses(listeners: &[ListenerConfig]) -> Vec<String> {
    let mut all: Vec<String> = listeners
        .iter()
        .map(|l| format!("{:?} {}", l.kind, l.addr))
        .collect();
    all.sort();
    all
}
