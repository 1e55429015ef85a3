//! The `minibroker` command: options, logging, run.

use std::process::ExitCode;

use minibroker::cli::{self, Command};
use minibroker::{Broker, RunOptions};

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
            return ExitCode::from(e.exit_status());
        }
    };
    cli::init_logging(settings.log_level);
    cli::log_startup(&settings.startup_log);
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
