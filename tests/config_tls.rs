//! A mosquitto.conf with a plain and a TLS listener side by side, the TLS one configured with
//! `certfile` and `keyfile` as mosquitto users write it, and messages crossing between them.
#![cfg(feature = "tls")]

mod common;

use common::conf::{ConfDir, free_port};
use common::tls::{Certs, TlsClient};
use common::{Broker, Client, Publish};

#[test]
fn a_plain_and_a_tls_listener_from_one_file_share_one_broker() {
    let certs = Certs::new();
    let dir = ConfDir::new();
    let (plain, tls) = (free_port(), free_port());
    let file = dir.write(
        "minibroker.conf",
        &format!(
            "listener {plain} 127.0.0.1\nallow_anonymous true\n\n\
             listener {tls} 127.0.0.1\ncertfile {}\nkeyfile {}\n",
            certs.arg("server.crt"),
            certs.arg("server.key"),
        ),
    );
    let mut broker = Broker::start_exactly(&["-c", &file], &[]);
    assert!(broker.wait_for_log(
        &format!("listening on 127.0.0.1:{tls} (TLS)"),
        common::TIMEOUT
    ));
    let mut secure = TlsClient::connect(
        ([127, 0, 0, 1], tls).into(),
        &certs.path("ca.crt"),
        "tls-subscriber",
    );
    secure.subscribe("Ergeschoss/Wohnzimmer/Temp", 1);
    let mut sensor = Client::connect(([127, 0, 0, 1], plain).into(), "plain-sensor");
    sensor.publish_complete(&Publish::new("Ergeschoss/Wohnzimmer/Temp", b"21.5").qos(1, 1));
    let got = secure.receive();
    assert_eq!(got.payload, b"21.5");
    broker.assert_alive();
}
