//! Binding listeners: shared ports, IPv6 fallbacks, groups, errors.

use super::*;
use std::net::Ipv6Addr;

fn config_with(listeners: Vec<SocketAddr>) -> Config {
    Config {
        listeners: listeners.into_iter().map(ListenerConfig::plain).collect(),
        ..Config::default()
    }
}

fn addr(listener: &Listener) -> SocketAddr {
    listener.tcp_addr().expect("a TCP listener")
}

fn ipv6_loopback_works() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

#[test]
fn port_zero_on_two_addresses_shares_one_port() {
    let mut wanted = vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)];
    if ipv6_loopback_works() {
        wanted.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0));
    }
    let listeners = bind_all(&config_with(wanted.clone())).expect("bind");
    assert_eq!(listeners.len(), wanted.len());
    let port = addr(&listeners[0]).port();
    assert_ne!(port, 0);
    for (listener, asked) in listeners.iter().zip(&wanted) {
        assert_eq!(addr(listener).ip(), asked.ip());
        assert_eq!(addr(listener).port(), port);
    }
}

#[test]
fn ipv4_and_ipv6_wildcards_bind_on_one_port() {
    if !ipv6_loopback_works() {
        return;
    }
    let listeners = bind_all(&config_with(Config::all_addresses(0))).expect("bind");
    assert_eq!(listeners.len(), 2);
    assert_eq!(addr(&listeners[0]).port(), addr(&listeners[1]).port());
}

#[test]
fn the_sockets_of_one_listener_line_share_a_group_and_keep_their_config_position() {
    use crate::config::{Origin, UnixListenerConfig};
    let origin = |line| Origin {
        file: "/m.conf".into(),
        line,
    };
    // Three loopback addresses, since port 0 on one kind means one shared port.
    let addrs = ["127.0.0.1:0", "127.0.0.2:0", "127.0.0.3:0"];
    let mut config = config_with(addrs.iter().map(|a| a.parse().unwrap()).collect());
    for (listener, line) in config.listeners.iter_mut().zip([1, 1, 2]) {
        listener.options.origin = Some(origin(line));
        listener.options.max_connections = Some(line);
    }
    let path = std::env::temp_dir().join(format!("minibroker-group-{}.sock", std::process::id()));
    config.unix_listeners.push(UnixListenerConfig {
        path: path.clone(),
        options: ListenerOptions::default(),
    });
    let listeners = bind_all(&config).expect("bind");
    let groups: Vec<usize> = listeners.iter().map(|l| l.group).collect();
    assert_eq!(groups, [0, 0, 2, 3]);
    let ids: Vec<usize> = listeners.iter().map(|l| l.id.index()).collect();
    assert_eq!(ids, [0, 1, 2, 3]);
    assert_eq!(listeners[2].max_connections, Some(2));
    assert_eq!(
        listeners[3].to_string(),
        format!("Unix socket {}", path.display())
    );
    assert!(listeners[3].tcp_addr().is_none());
    drop(listeners);
    assert!(!path.exists(), "the socket file goes with its listener");
}

#[test]
fn port_in_use_names_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let error = bind_all(&config_with(vec![addr])).expect_err("port is taken");
    assert_eq!(
        error.to_string(),
        format!("cannot listen on {addr}: Address already in use")
    );
}

#[test]
fn unusable_address_is_an_error() {
    // TEST-NET-1 is never assigned to a local interface.
    let addr: SocketAddr = "192.0.2.1:0".parse().expect("addr");
    let error = bind_all(&config_with(vec![addr])).expect_err("not local");
    assert!(
        error
            .to_string()
            .starts_with("cannot listen on 192.0.2.1:0: "),
        "{error}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn bind_interface_ties_the_socket_to_an_interface() {
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let mut config = config_with(vec![any_port]);
    config.listeners[0].options.bind_interface = Some("lo".into());
    let listeners = bind_all(&config).expect("bind to lo");
    std::net::TcpStream::connect(addr(&listeners[0])).expect("connect over lo");
    config.listeners[0].options.bind_interface = Some("nosuchif0".into());
    let error = bind_all(&config).expect_err("no such interface");
    assert!(
        error
            .to_string()
            .starts_with("cannot listen on 127.0.0.1:0: "),
        "{error}"
    );
}

#[test]
fn ipv6_wildcard_and_loopback_are_optional_beside_their_ipv4_counterpart() {
    let configs: Vec<ListenerConfig> = [
        "0.0.0.0:1883",
        "[::]:1883",
        "127.0.0.1:1884",
        "[::1]:1884",
        "[::1]:1885",
    ]
    .iter()
    .map(|a| ListenerConfig::plain(a.parse().expect("addr")))
    .collect();
    let wanted: Vec<(usize, &ListenerConfig)> = configs.iter().enumerate().collect();
    let optional = |a: &str| ipv6_optional(a.parse().expect("addr"), &wanted);
    assert!(optional("[::]:1883"));
    assert!(optional("[::1]:1884"));
    // Alone on its port, or not a wildcard or loopback: a failure is a failure.
    assert!(!optional("[::1]:1885"));
    assert!(!optional("[::]:1884"));
    assert!(!optional("127.0.0.1:1884"));
    assert!(!optional("[fe80::1]:1883"));
}

#[test]
fn os_message_drops_the_error_number() {
    let error = io::Error::from_raw_os_error(98);
    assert_eq!(os_message(&error), "Address already in use");
    let plain = io::Error::other("custom");
    assert_eq!(os_message(&plain), "custom");
}
