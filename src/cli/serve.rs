//! The `minibroker` command's run: logging, the background, the listeners, the pid file, the
//! privilege drop, systemd's readiness, and the broker loop with its signals, in mosquitto's
//! order.

use std::ffi::OsString;
use std::process::ExitCode;

use super::{RunSettings, reload_hook};
use crate::logging::{self, LogSettings};
use crate::service::{self, PidFile};
use crate::{Broker, RunOptions};

/// Runs the broker `settings` describe until a signal stops it. `given` is the command line,
/// read again on SIGHUP.
pub fn serve(settings: RunSettings, given: Vec<OsString>) -> ExitCode {
    let log_settings = LogSettings::from_config(&settings.config.logging);
    for problem in logging::install(&log_settings, settings.log_level) {
        log::error!("{problem}");
    }
    // What the command line gathered before logging was set up: the files read, the notes.
    for (level, message) in &settings.startup_log {
        log::log!(*level, "{message}");
    }
    // Before anything binds or starts a thread: a forked child keeps only the calling thread.
    if settings.daemon
        && let Err(e) = service::daemonize()
    {
        log::error!("{e}");
        return ExitCode::FAILURE;
    }
    let reload = reload_hook(given, &settings.config);
    let pid_path = settings.config.process.pid_file.clone();
    let mut broker = match Broker::bind(settings.config) {
        Ok(broker) => broker,
        Err(e) => {
            fail(&e, settings.daemon);
            // 13 for a password or ACL file that cannot be opened, 3 for a bad ACL line, as
            // mosquitto exits.
            return ExitCode::from(e.exit_status());
        }
    };
    // Written while still root (mosquitto writes it after the drop, which fails for a
    // directory only root may write to); removed when `_pid_file` goes at the end.
    let _pid_file = match pid_path.as_deref().map(PidFile::create).transpose() {
        Ok(pid_file) => pid_file,
        Err(e) => {
            log::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // After binding (ports below 1024) and opening the log file, as mosquitto does.
    if let Err(e) = service::drop_privileges(&settings.run_as) {
        return fail(&e, settings.daemon);
    }
    if let Err(e) = broker.open_store() {
        return fail(&e, settings.daemon);
    }
    service::notify_ready();
    let options = RunOptions::default().handle_signals(true).on_reload(reload);
    let result = broker.run_with(options);
    service::notify_stopping();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// A startup failure: on standard error as the command's own line, or, in the background
/// where standard error is gone, in the log.
fn fail(error: &dyn std::fmt::Display, daemon: bool) -> ExitCode {
    if daemon {
        log::error!("{error}");
    } else {
        eprintln!("minibroker: {error}");
    }
    ExitCode::FAILURE
}
