//! The `minibroker` command: options, logging, run; or `minibroker passwd`.

use std::process::ExitCode;

use minibroker::cli::{self, Command};

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
    cli::serve(*settings, given)
}
