//! The per-listener options of a mosquitto.conf, applied: `mount_point`, `max_qos`, and Unix domain socket listeners (`listener 0 PATH`). Each test starts the
//! binary with a configuration file and talks to it over real sockets.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::conf::{ConfDir, free_port};
use common::wire::{self, Connect, Packet};
use common::wire_v5::{ConnectV5, Filter, PublishV5};
use common::{Broker, Client, Prop, Publish, TIMEOUT};

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Starts the broker on `contents` (which must listen on 127.0.0.1) with `-v`.
fn start(dir: &ConfDir, contents: &str) -> Broker {
    let file = dir.write("mosquitto.conf", contents);
    Broker::start_exactly(&["-c", &file, "-v"], &[])
}

fn assert_no_note(broker: &Broker, option: &str) {
    let logs = broker.logs().join("\n");
    assert!(
        !logs.contains(&format!("{option} (")),
        "a startup note about {option}:\n{logs}"
    );
}

#[test]
fn mount_point_keeps_a_listener_s_clients_under_their_prefix() {
    let dir = ConfDir::new();
    let (mounted, plain) = (free_port(), free_port());
    let mut broker = start(
        &dir,
        &format!(
            "listener {mounted} 127.0.0.1\nmount_point site/\nlistener {plain} 127.0.0.1\n\
             allow_anonymous true\n"
        ),
    );
    assert_no_note(&broker, "mount_point");
    let mut outside = Client::connect(loopback(plain), "outside");
    assert_eq!(outside.subscribe(1, &[("#", 1)]), [1]);
    let mut inside = Client::connect(loopback(mounted), "inside");
    assert_eq!(inside.subscribe(1, &[("#", 1)]), [1]);
    inside.publish_complete(&Publish::new("a/b", b"from inside").qos(1, 1));
    let got = outside.receive();
    assert_eq!(
        (got.topic.as_str(), got.payload_str().as_str()),
        ("site/a/b", "from inside")
    );
    let got = inside.receive();
    assert_eq!(got.topic, "a/b");
    // From outside: only what is under the mount point gets in, stripped.
    outside.publish_complete(&Publish::new("elsewhere", b"no").qos(1, 2));
    outside.publish_complete(&Publish::new("site/c", b"yes").qos(1, 3));
    let got = inside.receive();
    assert_eq!(
        (got.topic.as_str(), got.payload_str().as_str()),
        ("c", "yes")
    );
    inside.expect_no_packet(Duration::from_millis(300));
    broker.assert_alive();
}

#[test]
fn max_qos_caps_grants_and_closes_on_a_higher_publish() {
    let dir = ConfDir::new();
    let port = free_port();
    let mut broker = start(
        &dir,
        &format!("listener {port} 127.0.0.1\nmax_qos 1\nallow_anonymous true\n"),
    );
    assert_no_note(&broker, "max_qos");
    let addr = loopback(port);
    // [MQTT-3.2.2-9] announced in CONNACK; the granted QoS is capped [MQTT-3.2.2-10].
    let (mut v5, connack) = Client::connect_v5_ok(addr, &ConnectV5::new("v5"));
    assert!(
        connack.props.0.contains(&Prop::MaximumQos(1)),
        "{connack:?}"
    );
    assert_eq!(v5.subscribe_v5(1, &[Filter::new("t", 2)], None), [1]);
    v5.publish_v5(&PublishV5::new("t", b"at 1").qos(1, 1));
    v5.expect_pub_response(0x40, 1);
    assert_eq!(v5.expect_publish_v5().qos, 1);
    // [MQTT-3.2.2-11] above the maximum: DISCONNECT 0x9B (QoS not supported).
    v5.publish_v5(&PublishV5::new("t", b"at 2").qos(2, 2));
    assert_eq!(v5.expect_disconnect_v5(TIMEOUT).0, 0x9B);
    // A 3.x client cannot be told: its connection is closed, as mosquitto closes it.
    let mut v3 = Client::connect(addr, "v3");
    assert_eq!(v3.subscribe(1, &[("t", 2)]), [1]);
    v3.publish(&Publish::new("t", b"at 2").qos(2, 1));
    v3.expect_closed(TIMEOUT);
    broker.assert_alive();
}

/// One MQTT 3.1.1 exchange over a Unix socket, with the test's own packet codec.
struct UnixClient {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl UnixClient {
    fn connect(path: &Path, client_id: &str) -> UnixClient {
        let stream = UnixStream::connect(path).expect("connect to the Unix socket");
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let mut client = UnixClient {
            stream,
            buf: Vec::new(),
        };
        client.send(&Connect::v311(client_id).encode());
        assert_eq!(
            client.next(),
            Packet::ConnAck {
                session_present: false,
                code: 0
            }
        );
        client
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    fn next(&mut self) -> Packet {
        let deadline = Instant::now() + TIMEOUT;
        let mut chunk = [0u8; 4096];
        loop {
            if let Some((first, body, used)) = wire::split_packet(&self.buf).expect("framing") {
                self.buf.drain(..used);
                return Packet::decode(first, body);
            }
            assert!(Instant::now() < deadline, "no packet over the Unix socket");
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("the broker closed the Unix socket connection"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => {}
            }
        }
    }
}

#[test]
fn a_unix_socket_listener_serves_mqtt_and_is_removed_at_exit() {
    let dir = ConfDir::new();
    let port = free_port();
    let socket = dir.path("mqtt.sock");
    let mut broker = start(
        &dir,
        // `user root`: started as root, the broker would otherwise run as mosquitto's default
        // user, who may not remove the socket from this root-owned directory at exit.
        &format!(
            "listener {port} 127.0.0.1\nlistener 0 {socket}\nallow_anonymous true\nuser root\n"
        ),
    );
    assert!(
        broker.wait_for_log(&format!("listening on Unix socket {socket}"), TIMEOUT),
        "{:?}",
        broker.logs()
    );
    assert_no_note(&broker, "listener 0");
    let path = Path::new(&socket);
    let mut unix = UnixClient::connect(path, "over-unix");
    unix.send(&wire::subscribe(1, &[("u/#", 1)]));
    assert!(matches!(unix.next(), Packet::SubAck { pid: 1, .. }));
    // Both ways between a TCP client and the Unix socket one.
    let mut tcp = Client::connect(loopback(port), "over-tcp");
    assert_eq!(tcp.subscribe(1, &[("t", 0)]), [0]);
    tcp.publish_complete(&Publish::new("u/x", b"to unix").qos(1, 1));
    match unix.next() {
        Packet::Publish(p) => assert_eq!((p.topic.as_str(), p.qos), ("u/x", 1)),
        other => panic!("expected PUBLISH, got {other:?}"),
    }
    unix.send(&wire::puback(1));
    unix.send(&Publish::new("t", b"to tcp").encode());
    assert_eq!(tcp.expect_publish().payload_str(), "to tcp");
    // The log is read on a thread of its own: wait for the lines rather than look once.
    for line in [
        format!("New connection from {socket} on port 0."),
        format!("New client connected from {socket} as over-unix"),
    ] {
        assert!(broker.wait_for_log(&line, TIMEOUT), "{:?}", broker.logs());
    }
    with_mosquitto_clients(&broker, &socket, &mut tcp);
    broker.assert_alive();
    broker.stop(Duration::from_secs(10));
    assert!(!path.exists(), "the socket file outlived the broker");
}

/// mosquitto_sub and mosquitto_pub over the Unix socket (`--unix`, in mosquitto 2.0's
/// clients), when they are installed.
fn with_mosquitto_clients(broker: &Broker, socket: &str, tcp: &mut Client) {
    if Command::new("mosquitto_sub")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("mosquitto_sub not installed; skipping the mosquitto client part");
        return;
    }
    let sub = Command::new("mosquitto_sub")
        .args([
            "--unix",
            socket,
            "-t",
            "m/#",
            "-C",
            "1",
            "-W",
            "10",
            "-i",
            "mosquitto-sub",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mosquitto_sub");
    assert!(
        broker.wait_for_log("as mosquitto-sub", TIMEOUT),
        "{:?}",
        broker.logs()
    );
    // The subscription is in once a message published after it arrives; retry until then.
    let deadline = Instant::now() + TIMEOUT;
    let mut n = 0;
    loop {
        n += 1;
        tcp.publish_complete(&Publish::new("m/x", format!("hello {n}").as_bytes()).qos(1, 10 + n));
        std::thread::sleep(Duration::from_millis(100));
        if broker
            .logs()
            .iter()
            .any(|l| l.contains("Client mosquitto-sub disconnected"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mosquitto_sub got nothing: {:?}",
            broker.logs()
        );
    }
    let output = sub.wait_with_output().expect("mosquitto_sub output");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("hello"));
    let status = Command::new("mosquitto_pub")
        .args([
            "--unix",
            socket,
            "-t",
            "t",
            "-m",
            "from mosquitto_pub",
            "-q",
            "1",
        ])
        .status()
        .expect("mosquitto_pub");
    assert!(status.success());
    assert_eq!(tcp.expect_publish().payload_str(), "from mosquitto_pub");
}
