//! The process contract: listening line on an ephemeral port, clean exit on SIGTERM.

mod common;

use std::time::Duration;

use common::{Broker, Client};

/// `minibroker` exits with status 0 on SIGTERM, also while clients are connected.
#[test]
fn sigterm_exits_zero_with_clients_connected() {
    let mut broker = Broker::start(&[]);
    let mut client = Client::connect(broker.addr(), "lifecycle");
    assert_eq!(client.subscribe(1, &[("life/#", 1)]), [1]);
    let status = broker
        .stop(Duration::from_secs(10))
        .expect("minibroker did not exit within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    client.expect_closed(Duration::from_secs(5));
}

/// Every option of the command line is accepted together with the others.
#[test]
fn all_documented_options_are_accepted() {
    let mut broker = Broker::start(&[
        "--max-inflight",
        "5",
        "--max-queued",
        "50",
        "--max-queued-bytes",
        "100000",
        "--max-packet-size",
        "4096",
        "--connect-timeout",
        "3",
        "--queue-full",
        "drop-oldest",
    ]);
    Client::connect(broker.addr(), "options").sync();
    broker.assert_alive();
}
