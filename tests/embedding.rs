//! The embedding façade over real sockets: bind on port 0, run on a background thread, stop
//! through the handle. No MQTT is spoken here; that is the business of the protocol tests.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use minibroker::{BindError, Broker, Config};

fn loopback_config() -> Config {
    Config {
        listeners: vec!["127.0.0.1:0".parse().expect("addr")],
        ..Config::default()
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
}

#[test]
fn stop_closes_connections_and_the_listener() {
    let handle = Broker::bind(loopback_config()).expect("bind").spawn();
    let addr = handle.local_addrs()[0];
    assert_ne!(addr.port(), 0);
    let mut client = connect(addr);
    handle.stop().expect("clean stop");
    let mut buf = [0; 16];
    assert_eq!(client.read(&mut buf).expect("read"), 0);
    assert!(TcpStream::connect(addr).is_err(), "listener still open");
}

#[test]
fn dropping_the_handle_stops_the_broker() {
    let handle = Broker::bind(loopback_config()).expect("bind").spawn();
    let addr = handle.local_addrs()[0];
    let mut client = connect(addr);
    drop(handle);
    let mut buf = [0; 16];
    assert_eq!(client.read(&mut buf).expect("read"), 0);
}

#[test]
fn connect_timeout_closes_a_silent_connection() {
    let config = Config {
        connect_timeout: Duration::from_millis(200),
        ..loopback_config()
    };
    let handle = Broker::bind(config).expect("bind").spawn();
    let mut client = connect(handle.local_addrs()[0]);
    let mut buf = [0; 16];
    assert_eq!(client.read(&mut buf).expect("read"), 0);
    handle.stop().expect("clean stop");
}

#[test]
fn bind_reports_a_taken_port() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let config = Config {
        listeners: vec![addr.into()],
        ..Config::default()
    };
    match Broker::bind(config) {
        Err(e @ BindError::Listen { .. }) => assert_eq!(
            e.to_string(),
            format!("cannot listen on {addr}: Address already in use")
        ),
        other => panic!("expected a listen error, got {other:?}"),
    }
}

#[test]
fn bind_refuses_an_invalid_config() {
    let config = Config {
        max_inflight_messages: 0,
        ..loopback_config()
    };
    assert!(matches!(Broker::bind(config), Err(BindError::Config(_))));
}

#[test]
fn a_broker_without_listeners_binds_for_the_host_alone() {
    let config = Config {
        listeners: Vec::new(),
        ..Config::default()
    };
    let handle = Broker::bind(config).expect("bind").spawn();
    assert!(handle.local_addrs().is_empty());
    handle.stop().expect("clean stop");
}
