//! The `minibroker` command: options, logging, run; or `minibroker passwd`.

use std::process::ExitCode;

use minibroker::cli::{self, Command};
use minibroker::{Broker, RunOptions};

/// Exit status for a command line that cannot be run, as getopts-based tools use.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).peekable();
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
            return ExitCode::from(USAGE);
        }
    };
    cli::init_logging(settings.log_level);
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
