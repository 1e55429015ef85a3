//! MQTT over TLS through real sockets: a broker with a plain and a TLS listener side by side,
//! clients on native-tls trusting a CA made for the test, and the hostile cases: the wrong CA,
//! plaintext on the TLS port, silent and half-open handshakes, a crowd of handshakes at once,
//! certificate reload on SIGHUP and through an embedding program's handle, unusable certificate
//! files, and the protocol versions offered.
#![cfg(feature = "tls")]

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::tls::{Certs, TlsClient, handshake, tcp};
use common::{Broker, Client, Publish, exchange_qos1};
use native_tls::{Certificate, Protocol, TlsConnector};

/// `minibroker -b 127.0.0.1 -p 0 --tls-bind 127.0.0.1 --tls-port 0 --cert … --key …` plus
/// `extra`.
fn start(certs: &Certs, extra: &[&str]) -> Broker {
    let (cert, key) = (certs.arg("server.crt"), certs.arg("server.key"));
    let mut args = vec!["--tls-bind", "127.0.0.1", "--tls-port", "0"];
    args.extend(["--cert", &cert, "--key", &key]);
    args.extend(extra);
    Broker::start(&args)
}

fn serial_served(addr: SocketAddr, certs: &Certs) -> Vec<u8> {
    let stream = handshake(addr, &certs.path("ca.crt")).expect("handshake");
    let served = stream.peer_certificate().expect("peer certificate");
    served.expect("a certificate").to_der().expect("DER")
}

#[test]
fn tls_and_plain_clients_reach_each_other() {
    let certs = Certs::new();
    let mut broker = start(&certs, &[]);
    let (plain, tls) = (broker.addr(), broker.tls_addr());
    assert_ne!(plain.port(), tls.port());
    let ca = certs.path("ca.crt");

    let mut plain_sub = Client::connect(plain, "plain-sub");
    assert_eq!(plain_sub.subscribe(1, &[("to/plain", 1)]), [1]);
    let mut tls_sub = TlsClient::connect(tls, &ca, "tls-sub");
    tls_sub.subscribe("to/tls", 1);

    let mut tls_pub = TlsClient::connect(tls, &ca, "tls-pub");
    tls_pub.publish_qos1("to/plain", b"from TLS", 1);
    assert_eq!(plain_sub.receive().payload_str(), "from TLS");

    let mut plain_pub = Client::connect(plain, "plain-pub");
    plain_pub.publish_complete(&Publish::new("to/tls", b"from plain").qos(1, 1));
    assert_eq!(tls_sub.receive().payload_str(), "from plain");

    tls_pub.disconnect();
    tls_sub.disconnect();
    broker.assert_alive();
}

#[test]
fn large_messages_cross_tls_in_both_directions() {
    let certs = Certs::new();
    let broker = start(&certs, &[]);
    let ca = certs.path("ca.crt");
    let mut sub = TlsClient::connect(broker.tls_addr(), &ca, "big-sub");
    sub.subscribe("big", 1);
    let mut publisher = TlsClient::connect(broker.tls_addr(), &ca, "big-pub");
    // Many TLS records each way, so reads and writes meet WouldBlock at the TLS layer.
    let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    for pid in 1..=3 {
        publisher.publish_qos1("big", &payload, pid);
        assert!(
            sub.receive().payload == payload,
            "payload {pid} arrived changed"
        );
    }
}

#[test]
fn client_trusting_another_ca_is_refused() {
    let certs = Certs::new();
    certs.make_ca("other-ca", "another-CA");
    let mut broker = start(&certs, &[]);
    let error = handshake(broker.tls_addr(), &certs.path("other-ca.crt"))
        .expect_err("a client must not trust a certificate from another CA");
    assert!(error.contains("certificate verify failed"), "{error}");
    exchange_qos1(broker.addr(), "after-wrong-ca", 10);
    broker.assert_alive();
}

#[test]
fn plaintext_mqtt_on_the_tls_port_is_closed_at_once() {
    let certs = Certs::new();
    let mut broker = start(&certs, &[]);
    let mut raw = Client::open(broker.tls_addr());
    raw.send_raw(&common::Connect::v311("plaintext").encode());
    let started = Instant::now();
    raw.expect_closed(Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(2), "closed late");
    assert!(broker.wait_for_log("TLS handshake failed", Duration::from_secs(5)));
    exchange_qos1(broker.addr(), "after-plaintext", 10);
    broker.assert_alive();
}

#[test]
fn a_handshake_never_finished_is_closed_by_the_connect_timeout() {
    let certs = Certs::new();
    let broker = start(&certs, &["--connect-timeout", "1"]);
    let mut silent = Client::open(broker.tls_addr());
    let mut half_hello = Client::open(broker.tls_addr());
    // A TLS record header announcing a ClientHello that never comes.
    half_hello.send_raw(&[0x16, 0x03, 0x01, 0x02, 0x00]);
    let started = Instant::now();
    silent.expect_closed(Duration::from_secs(5));
    half_hello.expect_closed(Duration::from_secs(5));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800),
        "closed after {waited:?}"
    );
}

#[test]
fn half_open_handshakes_do_not_delay_other_clients() {
    let certs = Certs::new();
    // A thousand sockets here plus the broker's own, within what the hard limit allows.
    let limit = common::raise_open_file_limit(4096);
    let count = usize::try_from(limit.saturating_sub(300)).map_or(1000, |n| n.min(1000));
    let mut broker = start(&certs, &[]);
    let ca = certs.path("ca.crt");
    let mut idle = Vec::new();
    for i in 0..count {
        let mut stream = tcp(broker.tls_addr());
        if i % 2 == 0 {
            let _ = stream.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
        }
        idle.push(stream);
    }
    let started = Instant::now();
    let mut client = TlsClient::connect(broker.tls_addr(), &ca, "beside-half-open");
    client.subscribe("quick", 0);
    exchange_qos1(broker.addr(), "beside-half-open", 20);
    // A handshake and 20 messages take milliseconds; the bound only catches a broker that
    // waits on the half-open handshakes, with room for a slow, busy machine.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    drop(idle);
    broker.assert_alive();
}

#[test]
fn two_hundred_concurrent_handshakes_complete_while_a_plain_client_works() {
    let certs = Certs::new();
    common::raise_open_file_limit(4096);
    let mut broker = start(&certs, &[]);
    let (plain, tls) = (broker.addr(), broker.tls_addr());
    let ca = certs.path("ca.crt");
    let clients: Vec<_> = (0..200)
        .map(|i| {
            let ca = ca.clone();
            thread::spawn(move || {
                let mut client = TlsClient::connect(tls, &ca, &format!("crowd-{i}"));
                client.subscribe(&format!("crowd/{i}"), 0);
                client
            })
        })
        .collect();
    exchange_qos1(plain, "during-crowd", 50);
    let mut connected: Vec<TlsClient> = clients
        .into_iter()
        .map(|c| c.join().expect("a TLS client failed"))
        .collect();
    assert_eq!(connected.len(), 200);
    let mut publisher = Client::connect(plain, "crowd-pub");
    publisher.publish_complete(&Publish::new("crowd/199", b"last").qos(1, 1));
    assert_eq!(connected[199].receive().payload_str(), "last");
    broker.assert_alive();
}

/// A certificate renewal as both reload paths go through it: the first certificate served, a
/// renewed file served after `reload_renewed`, a broken file that `reload_broken` leaves the
/// renewed one served over, and a connection from before both reloads still served.
fn renew_and_break_the_certificate(
    tls: SocketAddr,
    certs: &Certs,
    reload_renewed: impl FnOnce(),
    reload_broken: impl FnOnce(),
) {
    let first = certs.der("server.crt");
    assert_eq!(serial_served(tls, certs), first);
    let mut established = TlsClient::connect(tls, &certs.path("ca.crt"), "established");

    certs.make_server("server", "ca", "renewed.localhost", 2);
    let renewed = certs.der("server.crt");
    assert_ne!(renewed, first);
    reload_renewed();
    assert_eq!(serial_served(tls, certs), renewed);

    std::fs::write(certs.path("server.crt"), "not a certificate\n").expect("break the file");
    reload_broken();
    assert_eq!(serial_served(tls, certs), renewed);

    established.subscribe("still/here", 0);
    established.disconnect();
}

#[test]
fn sighup_reloads_the_certificate_and_a_broken_file_keeps_the_old_one() {
    let certs = Certs::new();
    let mut broker = start(&certs, &[]);
    let reloaded = || {
        broker.hang_up();
        assert!(broker.wait_for_log("TLS certificate reloaded", Duration::from_secs(5)));
    };
    let kept = || {
        broker.hang_up();
        assert!(broker.wait_for_log("TLS certificate not reloaded", Duration::from_secs(5)));
        let logged = broker.logs();
        let line = logged
            .iter()
            .find(|l| l.contains("not reloaded"))
            .expect("the error line");
        assert!(line.contains("server.crt"), "{line}");
    };
    renew_and_break_the_certificate(broker.tls_addr(), &certs, reloaded, kept);
    broker.assert_alive();
}

#[test]
fn pkcs12_with_the_password_from_the_environment() {
    let certs = Certs::new();
    certs.make_pkcs12("server", "s3cret");
    let bundle = certs.arg("server.p12");
    let output = Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(["-b", "127.0.0.1", "-p", "0", "--tls-bind", "127.0.0.1"])
        .args(["--tls-port", "0", "--pkcs12", &bundle])
        .args(["--pkcs12-password-env", "MINIBROKER_TEST_P12_PASSWORD"])
        .env("MINIBROKER_TEST_P12_PASSWORD", "wrong")
        .stdin(Stdio::null())
        .output()
        .expect("run minibroker");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("server.p12") && stderr.contains("password"),
        "{stderr}"
    );

    // The password is in the broker's environment only, never in this process's.
    let broker = Broker::start_with_env(
        &[
            "--tls-bind",
            "127.0.0.1",
            "--tls-port",
            "0",
            "--pkcs12",
            &bundle,
            "--pkcs12-password-env",
            "MINIBROKER_TEST_P12_PASSWORD",
        ],
        &[("MINIBROKER_TEST_P12_PASSWORD", "s3cret")],
    );
    let mut client = TlsClient::connect(broker.tls_addr(), &certs.path("ca.crt"), "p12");
    client.subscribe("p12", 0);
    client.disconnect();
}

#[test]
fn unusable_certificate_files_at_start_up_are_one_line_naming_the_file() {
    let certs = Certs::new();
    let missing = certs.arg("missing.crt");
    let key = certs.arg("server.key");
    let cert = certs.arg("server.crt");
    let cases: [(&[&str], &str); 3] = [
        (&["--cert", &missing, "--key", &key], "missing.crt"),
        (&["--cert", &key, "--key", &cert], "server.key"),
        (&["--cert", &cert, "--key", &cert], "server.crt"),
    ];
    for (files, named) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_minibroker"))
            .args(["-b", "127.0.0.1", "-p", "0", "--tls-port", "0"])
            .args(files)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("run minibroker");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{files:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{files:?}: {stderr}");
        assert!(
            stderr.starts_with("minibroker: cannot use ") && stderr.contains(named),
            "{files:?}: {stderr}"
        );
    }
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused_at_start_up() {
    let certs = Certs::new();
    certs.make_server("other", "ca", "other", 3);
    let output = Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(["-b", "127.0.0.1", "-p", "0", "--tls-port", "0"])
        .args([
            "--cert",
            &certs.arg("server.crt"),
            "--key",
            &certs.arg("other.key"),
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run minibroker");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("other.key") && stderr.contains("does not work with the certificate"),
        "{stderr}"
    );
}

#[test]
fn the_broker_ends_a_tls_session_with_close_notify() {
    let certs = Certs::new();
    let broker = start(&certs, &[]);
    let mut client = TlsClient::connect(broker.tls_addr(), &certs.path("ca.crt"), "notified");
    // A reserved packet type is a protocol error: the broker closes the connection.
    client.send(&[0xF0, 0x00]);
    let ended = client.read_until(Duration::from_secs(5));
    assert_eq!(ended, Err("close_notify".to_string()));
}

/// A handshake with a client limited to the protocol versions `min..=max`.
fn handshake_with_versions(
    addr: SocketAddr,
    certs: &Certs,
    min: Protocol,
    max: Option<Protocol>,
) -> Result<(), String> {
    let pem = std::fs::read(certs.path("ca.crt")).expect("read the CA certificate");
    let connector = TlsConnector::builder()
        .add_root_certificate(Certificate::from_pem(&pem).expect("parse the CA certificate"))
        .disable_built_in_roots(true)
        .min_protocol_version(Some(min))
        .max_protocol_version(max)
        .build()
        .expect("TLS connector");
    connector
        .connect("localhost", tcp(addr))
        .map(drop)
        .map_err(|e| e.to_string())
}

#[test]
fn a_tls_1_2_only_client_connects() {
    let certs = Certs::new();
    let broker = start(&certs, &[]);
    let result = handshake_with_versions(
        broker.tls_addr(),
        &certs,
        Protocol::Tlsv12,
        Some(Protocol::Tlsv12),
    );
    assert_eq!(result, Ok(()));
}

/// The README says TLS 1.3 is off and why: native-tls's OpenSSL acceptor starts from Mozilla's
/// pre-1.3 "intermediate" settings, which set `SSL_OP_NO_TLSv1_3`, and offers no way to clear
/// it. This holds the statement to the truth: when a native-tls release turns TLS 1.3 on, this
/// fails, and the README and the acceptor's settings are to be revisited.
#[test]
fn a_tls_1_3_only_client_is_refused_as_the_readme_says() {
    let certs = Certs::new();
    let mut broker = start(&certs, &[]);
    let result = handshake_with_versions(broker.tls_addr(), &certs, Protocol::Tlsv13, None);
    let error = result.expect_err("a TLS 1.3 handshake succeeded; update the README");
    assert!(error.contains("protocol version"), "{error}");
    assert!(broker.wait_for_log("TLS handshake failed", Duration::from_secs(5)));
    exchange_qos1(broker.addr(), "after-tls13", 10);
    broker.assert_alive();
}

/// An embedding program renews the certificate through its handle, as SIGHUP does for the
/// binary: `reload(None)` reads the files again, a broken file keeps the certificate served,
/// and a connection made before either reload goes on.
#[test]
fn reload_through_the_handle_reads_the_certificate_again() {
    let certs = Certs::new();
    let listener = minibroker::ListenerConfig::tls("127.0.0.1:0".parse().expect("addr"));
    let identity = minibroker::TlsIdentity::Pem {
        cert: certs.path("server.crt"),
        key: certs.path("server.key"),
    };
    let handle = minibroker::BrokerBuilder::new()
        .configure(|config| {
            config.listeners.push(listener);
            config.tls = Some(identity);
        })
        .build()
        .expect("bind")
        .spawn();
    renew_and_break_the_certificate(
        handle.local_addrs()[0],
        &certs,
        || handle.reload(None).expect("reload"),
        || {
            (handle.reload(None)).expect("a reload that keeps the old certificate");
        },
    );
    handle.stop().expect("stop");
}
