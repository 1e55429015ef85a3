//! The `minibroker` command: options, logging, run; or `minibroker passwd`.

use std::process::ExitCode;

use minibroker::cli::{self, Command};
use minibroker::logging::{self, LogSettings};
use minibroker::{Broker, RunOptions};

fn main() -> ExitCode {
    let given: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mut args = given.clone().into_iter().peekable();
    // `minibroker passwd …` is mosquitto_passwd's counterpart; it exits with that tool's status.
    if args.next_if(|arg| arg == "passwd").is_some() {
        return minibroker::auth::passwd_tool::main(args);
    }
    let settings = match cli::parse(args) {
        Ok(Command::Run(settings)) => settings,
        Ok(Command::Help) => {
            print!("{}", cli::usage());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("{}", cli::version());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("minibroker: {e}");
            return ExitCode::from(e.exit_status());
        }
    };
    let log_settings = LogSettings::from_config(&settings.config.logging);
    for problem in logging::install(&log_settings, settings.log_level) {
        log::error!("{problem}");
    }
    // What the command line gathered before logging was set up: the files read, the notes.
    for (level, message) in &settings.startup_log {
        log::log!(*level, "{message}");
    }
    let reload = cli::reload_hook(given, &settings.config);
    let broker = match Broker::bind(settings.config) {
        Ok(broker) => broker,
        Err(e) => {
            eprintln!("minibroker: {e}");
            return ExitCode::from(e.exit_status());
        }
    };
    let options = RunOptions::default().handle_signals(true).on_reload(reload);
    match broker.run_with(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
