//! The `minibroker` command: options, logging, run.

fn main() {}
