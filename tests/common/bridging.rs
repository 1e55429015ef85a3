//! Bridge scenarios shared by `tests/bridge.rs` (a second minibroker upstream) and
//! `tests/bridge_mosquitto.rs` (Debian's mosquitto upstream): the home broker is always the
//! minibroker binary, with a bridge `b` to the upstream started by the test.

use std::time::Duration;

use super::conf::{ConfDir, free_port};
use super::{Broker, Client, Connect, Publish, TIMEOUT};

/// Debian's broker, used as an upstream when installed.
pub const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// Which broker the bridge connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Minibroker,
    Mosquitto,
}

/// False (with a line saying why) when the upstream kind is not installed.
pub fn available(kind: Kind) -> bool {
    if kind == Kind::Mosquitto && !std::path::Path::new(MOSQUITTO).exists() {
        eprintln!("skipped: {MOSQUITTO} is not installed (apt-get install mosquitto)");
        return false;
    }
    true
}

/// `$6$` hash of the password "test".
const HASH: &str = "$6$njERlZMi/7DzNB9E$iiavfuXvUm8iyDZArTy7smTxh07GXXOrOsqxfW6gkOYVXHGk+W+i/8d3xDxrMwEPygEBhoA8A/gjQC0N2M4Lkw==";

/// An upstream on `port` with `extra` configuration (read the same way by both brokers).
fn upstream(kind: Kind, dir: &ConfDir, port: u16, extra: &str) -> Broker {
    let conf = format!("listener {port} 127.0.0.1\nallow_anonymous true\n{extra}");
    upstream_with(kind, dir, port, &conf)
}

fn upstream_with(kind: Kind, dir: &ConfDir, port: u16, conf: &str) -> Broker {
    let file = dir.write(&format!("up-{port}.conf"), conf);
    match kind {
        Kind::Minibroker => Broker::start_exactly(&["-c", &file], &[]),
        Kind::Mosquitto => {
            let conf = format!("{conf}\nlog_dest stderr\nlog_type all\n");
            let file = dir.write(&format!("up-{port}.conf"), &conf);
            Broker::start_program(MOSQUITTO, &["-c", &file], port)
        }
    }
}

/// The home broker with a bridge `b` to 127.0.0.1:`up_port`.
fn home(dir: &ConfDir, up_port: u16, bridge: &str) -> Broker {
    // A port that was free a moment ago may be taken by then (another test's outgoing
    // connection, say): the start is tried again on another one.
    for attempt in 0.. {
        let conf = format!(
            "listener {} 127.0.0.1\nallow_anonymous true\n\
             connection b\naddress 127.0.0.1:{up_port}\nrestart_timeout 1\n{bridge}",
            free_port()
        );
        let file = dir.write("home.conf", &conf);
        let start = || Broker::start_exactly(&["-c", &file, "-v"], &[]);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(start)) {
            Ok(broker) => return broker,
            Err(panic) if attempt == 2 => std::panic::resume_unwind(panic),
            Err(_) => eprintln!("the home broker did not start; trying another port"),
        }
    }
    unreachable!("the loop returns or panics")
}

fn wait_connected(home: &Broker, count: usize) {
    assert!(
        home.wait_for_log_count("Bridge b connected", count, Duration::from_secs(10)),
        "bridge not connected:\n{}",
        home.logs().join("\n")
    );
}

fn subscriber(addr: std::net::SocketAddr, id: &str, filters: &[(&str, u8)]) -> Client {
    let mut client = Client::connect(addr, id);
    client.subscribe(1, filters);
    client
}

/// Receives one message, acknowledges it, and checks its topic, payload and QoS.
fn expect(client: &mut Client, topic: &str, payload: &str, qos: u8) -> Publish {
    let publish = client.expect_publish();
    client.ack(&publish);
    assert_eq!(
        (
            publish.topic.as_str(),
            publish.payload_str().as_str(),
            publish.qos
        ),
        (topic, payload, qos)
    );
    publish
}

const TOPICS: &str = "topic q0/# both 0 home/ site/\ntopic q1/# both 1 home/ site/\n\
                      topic q2/# both 2 home/ site/\ntopic o/# out 1 home/ site/\n\
                      topic i/# in 1 home/ site/\n";

pub fn out_in_and_both_with_prefixes_at_each_qos(kind: Kind) {
    let dir = ConfDir::new();
    let up_port = free_port();
    let up = upstream(kind, &dir, up_port, "");
    let home = home(&dir, up_port, TOPICS);
    wait_connected(&home, 1);
    let mut remote = subscriber(up.addr(), "remote-sub", &[("site/#", 2)]);
    let mut local = subscriber(home.addr(), "local-sub", &[("home/#", 2)]);
    let mut local_pub = Client::connect(home.addr(), "local-pub");
    let mut remote_pub = Client::connect(up.addr(), "remote-pub");
    std::thread::sleep(Duration::from_millis(200));
    for qos in 0..=2u8 {
        let pid = u16::from(qos) + 10;
        let out = Publish::new(&format!("home/q{qos}/x"), b"out");
        let out = if qos > 0 { out.qos(qos, pid) } else { out };
        local_pub.publish_complete(&out);
        // The local subscriber sees its own broker's message, then the remote end's copy.
        expect(&mut local, &format!("home/q{qos}/x"), "out", qos);
        expect(&mut remote, &format!("site/q{qos}/x"), "out", qos);
        let back = Publish::new(&format!("site/q{qos}/y"), b"in");
        let back = if qos > 0 { back.qos(qos, pid) } else { back };
        remote_pub.publish_complete(&back);
        expect(&mut remote, &format!("site/q{qos}/y"), "in", qos);
        expect(&mut local, &format!("home/q{qos}/y"), "in", qos);
    }
    // `out` only goes out, `in` only comes in.
    local_pub.publish_complete(&Publish::new("home/i/x", b"stays").qos(1, 30));
    expect(&mut local, "home/i/x", "stays", 1);
    remote_pub.publish_complete(&Publish::new("site/o/x", b"stays").qos(1, 31));
    expect(&mut remote, "site/o/x", "stays", 1);
    local_pub.publish_complete(&Publish::new("home/o/x", b"goes").qos(1, 32));
    expect(&mut local, "home/o/x", "goes", 1);
    expect(&mut remote, "site/o/x", "goes", 1);
    // No loops: nothing came back a second time on either side.
    local.expect_no_packet(Duration::from_millis(500));
    remote.expect_no_packet(Duration::from_millis(100));
}

pub fn unreachable_at_start_then_queued_and_retained_messages_arrive_on_connect(kind: Kind) {
    let dir = ConfDir::new();
    let up_port = free_port();
    let home = home(&dir, up_port, "topic o/# out 1 home/ site/\n");
    assert!(home.wait_for_log("Bridge b could not connect", TIMEOUT));
    assert!(home.wait_for_log("Bridge b: next attempt in 1 s", TIMEOUT));
    let mut local_pub = Client::connect(home.addr(), "local-pub");
    local_pub.publish_complete(&Publish::new("home/o/kept", b"r").qos(1, 1).retain());
    for i in 0..5u16 {
        let payload = format!("m{i}");
        local_pub.publish_complete(&Publish::new("home/o/q", payload.as_bytes()).qos(1, 2 + i));
    }
    let up = upstream(kind, &dir, up_port, "");
    let mut remote = subscriber(up.addr(), "remote-sub", &[("site/#", 1)]);
    wait_connected(&home, 1);
    // Everything queued in the bridge's session while the upstream was unreachable, in order.
    let mut got = Vec::new();
    for _ in 0..6 {
        let p = remote.expect_publish();
        remote.ack(&p);
        got.push((p.topic.clone(), p.payload_str(), p.retain));
    }
    let queued: Vec<String> = got
        .iter()
        .filter(|m| m.0 == "site/o/q")
        .map(|m| m.1.clone())
        .collect();
    assert_eq!(queued, ["m0", "m1", "m2", "m3", "m4"], "{got:?}");
    // A live subscriber gets it without the flag [MQTT-3.3.1-9]; the remote end keeps it
    // retained.
    assert!(
        got.iter().any(|m| m.0 == "site/o/kept" && m.1 == "r"),
        "{got:?}"
    );
    let mut late = subscriber(up.addr(), "late", &[("site/o/kept", 1)]);
    let p = late.expect_publish();
    assert!(p.retain && p.payload_str() == "r");
}

/// Takes messages `0, 1, 2, …` in order until `seen` holds `until` of them. A message seen
/// before may come again (at least once: it was in flight when the upstream stopped), but a
/// new one is always the next in order.
fn take_in_order(client: &mut Client, seen: &mut Vec<u16>, until: usize) {
    while seen.len() < until {
        let p = client.expect_publish_within(Duration::from_secs(10));
        client.ack(&p);
        assert_eq!(p.topic, "site/t/n");
        let n: u16 = p.payload_str().parse().expect("a number");
        if seen.contains(&n) {
            continue;
        }
        assert_eq!(usize::from(n), seen.len(), "{n} after {seen:?}");
        seen.push(n);
    }
}

pub fn the_upstream_killed_and_restarted_gets_every_qos1_message_in_order(kind: Kind) {
    const COUNT: u16 = 200;
    let dir = ConfDir::new();
    let store = dir.store_dir("store/");
    let persist = format!("persistence true\npersistence_location {store}\n");
    let up_port = free_port();
    let mut up = upstream(kind, &dir, up_port, &persist);
    let home = home(&dir, up_port, "topic t/# out 1 home/ site/\n");
    wait_connected(&home, 1);
    let remote_sub = Connect::v311("remote-sub").clean_session(false);
    let (mut remote, _) = Client::connect_with(up.addr(), &remote_sub);
    remote.subscribe(1, &[("site/#", 1)]);
    let home_addr = home.addr();
    let publisher = std::thread::spawn(move || {
        let mut local_pub = Client::connect(home_addr, "local-pub");
        for i in 0..COUNT {
            let payload = i.to_string();
            let publish = Publish::new("home/t/n", payload.as_bytes()).qos(1, i + 1);
            local_pub.publish_complete(&publish);
            std::thread::sleep(Duration::from_millis(3));
        }
    });
    let mut seen = Vec::new();
    take_in_order(&mut remote, &mut seen, 50);
    // The upstream stops while the messages keep coming, and restarts on its store.
    up.stop(Duration::from_secs(5));
    drop(remote);
    assert!(home.wait_for_log("Bridge b lost its connection", TIMEOUT));
    let up = upstream(kind, &dir, up_port, &persist);
    let (mut remote, (present, _)) = Client::connect_with(up.addr(), &remote_sub);
    assert!(present, "the subscriber's session came back from the store");
    wait_connected(&home, 2);
    take_in_order(&mut remote, &mut seen, usize::from(COUNT));
    publisher.join().expect("the publisher");
}

pub fn a_refused_connect_is_logged_with_its_code_and_retried(kind: Kind) {
    let dir = ConfDir::new();
    dir.write("passwd", &format!("gw:{HASH}\n"));
    let up_port = free_port();
    let up_conf = format!(
        "listener {up_port} 127.0.0.1\npassword_file {}\n",
        dir.path("passwd")
    );
    let _up = upstream_with(kind, &dir, up_port, &up_conf);
    let bridge = "topic t/# out 1\nremote_username gw\nremote_password wrong\n";
    let home = home(&dir, up_port, bridge);
    assert!(
        home.wait_for_log("Bridge b refused by 127.0.0.1", Duration::from_secs(10)),
        "{}",
        home.logs().join("\n")
    );
    assert!(home.wait_for_log("CONNACK code 5 (not authorized)", TIMEOUT));
    assert!(home.wait_for_log("Bridge b: next attempt in", TIMEOUT));
    assert!(
        home.wait_for_log_count("Connecting bridge b", 3, Duration::from_secs(10)),
        "retried"
    );
}

pub fn an_mqtt5_bridge_connects_in_mqtt5_and_uses_no_local(kind: Kind) {
    let dir = ConfDir::new();
    let up_port = free_port();
    let up = upstream(kind, &dir, up_port, "");
    let home = home(
        &dir,
        up_port,
        "bridge_protocol_version mqttv50\ntopic x/# both 1\n",
    );
    wait_connected(&home, 1);
    assert!(
        up.wait_for_log("(p5, c0, k60)", TIMEOUT),
        "an MQTT 5 CONNECT"
    );
    let mut remote = subscriber(up.addr(), "remote-sub", &[("x/#", 1)]);
    let mut local = subscriber(home.addr(), "local-sub", &[("x/#", 1)]);
    let mut local_pub = Client::connect(home.addr(), "local-pub");
    std::thread::sleep(Duration::from_millis(200));
    local_pub.publish_complete(&Publish::new("x/a", b"1").qos(1, 1));
    expect(&mut local, "x/a", "1", 1);
    expect(&mut remote, "x/a", "1", 1);
    let mut remote_pub = Client::connect(up.addr(), "remote-pub");
    remote_pub.publish_complete(&Publish::new("x/b", b"2").qos(1, 1));
    expect(&mut remote, "x/b", "2", 1);
    expect(&mut local, "x/b", "2", 1);
    // No Local on both sides: neither message came back.
    local.expect_no_packet(Duration::from_millis(500));
    remote.expect_no_packet(Duration::from_millis(100));
}

pub fn notifications_say_1_when_up_and_0_when_down_on_both_sides(kind: Kind) {
    let dir = ConfDir::new();
    let up_port = free_port();
    let mut up = upstream(kind, &dir, up_port, "");
    let mut home = home(&dir, up_port, "topic t/# out 1\n");
    wait_connected(&home, 1);
    let state = "$SYS/broker/connection/b/state";
    let mut watcher = subscriber(up.addr(), "watch-up", &[(state, 1)]);
    // Retained, unless it arrived just after this subscription did [MQTT-3.3.1-9].
    let p = watcher.expect_publish();
    watcher.ack(&p);
    assert_eq!(p.payload_str(), "1");
    let mut local = subscriber(home.addr(), "watch-home", &[(state, 1)]);
    let p = local.expect_publish();
    assert_eq!(p.payload_str(), "1");
    local.ack(&p);
    let mut late = subscriber(home.addr(), "late-home", &[(state, 1)]);
    let p = late.expect_publish();
    assert_eq!((p.payload_str().as_str(), p.retain), ("1", true));
    // The home broker dies: the remote end publishes the bridge's will, 0.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &home.pid().to_string()])
        .status();
    let p = watcher.expect_publish_within(Duration::from_secs(10));
    watcher.ack(&p);
    assert_eq!(p.payload_str(), "0");
    let mut late = subscriber(up.addr(), "late", &[(state, 1)]);
    let p = late.expect_publish();
    assert_eq!(
        (p.payload_str().as_str(), p.retain),
        ("0", true),
        "the will is retained"
    );
    home.stop(Duration::from_secs(1));
    // And the other way round: the upstream stops, the home broker says 0 locally.
    let home = self::home(&dir, up_port, "topic t/# out 1\n");
    wait_connected(&home, 1);
    let mut local = subscriber(home.addr(), "watch-home-2", &[(state, 1)]);
    let p = local.expect_publish();
    local.ack(&p);
    assert_eq!(p.payload_str(), "1");
    up.stop(Duration::from_secs(5));
    let p = local.expect_publish_within(Duration::from_secs(10));
    assert_eq!((p.payload_str().as_str(), p.qos), ("0", 1));
}

#[cfg(feature = "tls")]
pub fn tls_to_the_upstream_with_a_ca_file(kind: Kind) {
    let certs = super::tls::Certs::new();
    let dir = ConfDir::new();
    let up_port = free_port();
    let tls_port = free_port();
    let up_conf = format!(
        "listener {up_port} 127.0.0.1\nallow_anonymous true\n\
         listener {tls_port} 127.0.0.1\ncertfile {}\nkeyfile {}\n",
        certs.arg("server.crt"),
        certs.arg("server.key")
    );
    // mosquitto started as root reads its key after dropping to its own user.
    use std::os::unix::fs::PermissionsExt;
    let readable = std::fs::Permissions::from_mode(0o644);
    std::fs::set_permissions(certs.path("server.key"), readable).expect("chmod");
    let up = upstream_with(kind, &dir, up_port, &up_conf);
    let bridge = format!(
        "topic t/# out 1 home/ site/\nbridge_cafile {}\n",
        certs.arg("ca.crt")
    );
    let conf = format!(
        "listener {} 127.0.0.1\nallow_anonymous true\n\
         connection b\naddress localhost:{tls_port}\nrestart_timeout 1\n{bridge}",
        free_port()
    );
    let file = dir.write("home.conf", &conf);
    let home = Broker::start_exactly(&["-c", &file, "-v"], &[]);
    wait_connected(&home, 1);
    let mut remote = subscriber(up.addr(), "remote-sub", &[("site/#", 1)]);
    let mut local_pub = Client::connect(home.addr(), "local-pub");
    std::thread::sleep(Duration::from_millis(200));
    local_pub.publish_complete(&Publish::new("home/t/secure", b"s").qos(1, 1));
    expect(&mut remote, "site/t/secure", "s", 1);
    // A CA that did not sign the upstream's certificate: no connection.
    certs.make_ca("other", "another-CA");
    let conf = conf.replace(&certs.arg("ca.crt"), &certs.arg("other.crt"));
    let conf = conf.replacen(
        &format!("listener {}", home.addr().port()),
        &format!("listener {}", free_port()),
        1,
    );
    let file = dir.write("home2.conf", &conf);
    let wrong = Broker::start_exactly(&["-c", &file, "-v"], &[]);
    assert!(
        wrong.wait_for_log("Bridge b could not connect", Duration::from_secs(10)),
        "{}",
        wrong.logs().join("\n")
    );
    assert!(
        !wrong
            .logs()
            .iter()
            .any(|l| l.contains("Bridge b connected"))
    );
}

pub fn queued_messages_survive_a_restart_of_the_home_broker(kind: Kind) {
    let dir = ConfDir::new();
    let store = dir.store_dir("");
    let up_port = free_port();
    let conf = format!(
        "listener {} 127.0.0.1\nallow_anonymous true\npersistence true\n\
         persistence_location {store}\n\
         connection b\naddress 127.0.0.1:{up_port}\nrestart_timeout 1\n\
         topic o/# out 1 home/ site/\n",
        free_port()
    );
    let file = dir.write("home.conf", &conf);
    let mut first = Broker::start_exactly(&["-c", &file, "-v"], &[]);
    assert!(first.wait_for_log("Bridge b could not connect", TIMEOUT));
    let mut local_pub = Client::connect(first.addr(), "local-pub");
    for i in 0..5u16 {
        let payload = format!("m{i}");
        local_pub.publish_complete(&Publish::new("home/o/q", payload.as_bytes()).qos(1, 1 + i));
    }
    first.stop(Duration::from_secs(5));
    let up = upstream(kind, &dir, up_port, "");
    let mut remote = subscriber(up.addr(), "remote-sub", &[("site/#", 1)]);
    let conf = conf.replacen(
        &format!("listener {}", first.addr().port()),
        &format!("listener {}", free_port()),
        1,
    );
    let file = dir.write("home-2.conf", &conf);
    let second = Broker::start_exactly(&["-c", &file, "-v"], &[]);
    wait_connected(&second, 1);
    for i in 0..5 {
        expect(&mut remote, "site/o/q", &format!("m{i}"), 1);
    }
}
