//! The `minibroker` command: options, logging, run.

use std::process::ExitCode;

use minibroker::cli::{self, Command};
use minibroker::logging::{self, LogSettings};
use minibroker::{Broker, RunOptions};

/// Exit status for a command line that cannot be run, as getopts-based tools use.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let settings = match cli::parse(std::env::args_os().skip(1)) {
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
            return ExitCode::from(USAGE);
        }
    };
    for problem in logging::install(&LogSettings::default(), settings.log_level) {
        log::error!("{problem}");
    }
    let broker = match Broker::bind(settings.config) {
        Ok(broker) => broker,
        Err(e) => {
            eprintln!("minibroker: {e}");
            return ExitCode::FAILURE;
        }
    };
    match broker.run_with(RunOptions::default().handle_signals(true)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
