//! `mqtt-load`: drives an MQTT broker with one scenario and reports what it sustained, turns
//! saved results into a comparison table, or stands in for a broker to measure the machine.
#![forbid(unsafe_code)]

mod client;
mod codec;
mod codec_v5;
mod flow;
mod forward;
mod net;
mod opts;
mod procstat;
mod protocol;
mod report;
mod scenario;
mod stream;
mod table;
mod window;
mod ws;

use std::process::ExitCode;

use opts::Command;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match opts::parse(&args) {
        Ok(Command::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Table(files)) => table::print(&files),
        Ok(Command::Forward(addr)) => forward::serve(addr),
        Ok(Command::Run(o)) => scenario::run(&o, procstat::clock_ticks()).map(|reports| {
            for report in reports {
                report.print();
            }
        }),
        Err(e) => {
            eprintln!("mqtt-load: {e}\n\n{}", opts::usage());
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqtt-load: {e}");
            ExitCode::FAILURE
        }
    }
}
