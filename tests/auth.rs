//! Users and permissions over real sockets: a password file and an ACL file named in a
//! mosquitto.conf, with MQTT 3.1.1 and MQTT 5 clients; the slow-down of repeated failures; the
//! start refused for a missing file; and SIGHUP re-reading both files.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::conf::{ConfDir, free_port};
use common::wire::Will;
use common::{Broker, Client, Connect, ConnectV5, Publish, PublishV5, TIMEOUT};

/// Users `alice` and `bob`, both with password `test` (the reference's `$6$` vector).
const HASH: &str = "$6$njERlZMi/7DzNB9E$iiavfuXvUm8iyDZArTy7smTxh07GXXOrOsqxfW6gkOYVXHGk+W+i/8d3xDxrMwEPygEBhoA8A/gjQC0N2M4Lkw==";

const ACL: &str = "user alice\ntopic readwrite home/#\ntopic deny home/secret\n\
user bob\ntopic write home/#\ntopic write out/#\ntopic read out/#\n";

struct Setup {
    dir: ConfDir,
    broker: Broker,
}

fn start(extra: &str) -> Setup {
    let dir = ConfDir::new();
    dir.write("passwd", &format!("alice:{HASH}\nbob:{HASH}\n"));
    dir.write("acl", ACL);
    let port = free_port();
    let conf = format!(
        "listener {port} 127.0.0.1\npassword_file {}\nacl_file {}\n{extra}",
        dir.path("passwd"),
        dir.path("acl")
    );
    let file = dir.write("mosquitto.conf", &conf);
    let broker = Broker::start_exactly(&["-c", &file], &[]);
    Setup { dir, broker }
}

fn login(id: &str, user: &str, password: &str) -> Connect {
    let mut connect = Connect::v311(id);
    connect.username = Some(user.into());
    connect.password = Some(password.into());
    connect
}

fn user(setup: &Setup, id: &str, name: &str) -> Client {
    let (client, (_, code)) = Client::connect_with(setup.broker.addr(), &login(id, name, "test"));
    assert_eq!(code, 0, "{name} logs in");
    client
}

#[test]
fn passwords_are_checked_and_anonymous_clients_refused() {
    let s = start("");
    let addr = s.broker.addr();
    // allow_anonymous defaults to false on a configured listener (mosquitto 2.0).
    let (_, (_, code)) = Client::connect_with(addr, &Connect::v311("anon"));
    assert_eq!(code, 5, "CONNACK 5 Not authorized");
    assert!(
        s.broker
            .wait_for_log("Client anon disconnected, not authorised.", TIMEOUT)
    );
    let (_, (_, code)) = Client::connect_with(addr, &login("c", "alice", "wrong"));
    assert_eq!(code, 5);
    let logs = s.broker.logs().join("\n");
    assert!(!logs.contains("wrong"), "the password is never logged");
    user(&s, "ok", "alice");
}

#[test]
fn mqtt5_refusal_is_0x87() {
    let s = start("");
    let mut connect = ConnectV5::new("v5");
    connect.username = Some("alice".into());
    connect.password = Some(b"nope".to_vec());
    let (_, connack) = Client::connect_v5_with(s.broker.addr(), &connect);
    assert_eq!(connack.reason, 0x87);
}

#[test]
fn a_wildcard_subscriber_never_receives_a_forbidden_topic() {
    let s = start("");
    let mut sub = user(&s, "sub", "alice");
    assert_eq!(sub.subscribe(1, &[("home/#", 0)]), [0]);
    let mut publisher = user(&s, "pub", "bob");
    publisher.publish(&Publish::new("home/secret", b"s"));
    publisher.publish(&Publish::new("home/open", b"o"));
    assert_eq!(sub.expect_publish().topic, "home/open");
    sub.expect_no_packet(Duration::from_millis(300));
}

#[test]
fn forbidden_retained_messages_and_wills_are_not_delivered() {
    let s = start("");
    let mut bob = user(&s, "bob", "bob");
    bob.publish(&Publish::new("home/secret", b"s").retain());
    bob.publish(&Publish::new("home/open", b"o").retain());
    bob.sync();
    let mut alice = user(&s, "alice", "alice");
    assert_eq!(alice.subscribe(1, &[("home/+", 0)]), [0]);
    assert_eq!(alice.expect_publish().topic, "home/open");
    alice.expect_no_packet(Duration::from_millis(300));
    // alice may not write to out/#, so her will there is dropped; bob reads out/#.
    assert_eq!(bob.subscribe(2, &[("out/#", 0)]), [0]);
    let mut connect = login("w", "alice", "test");
    connect.will = Some(Will {
        topic: "out/will".into(),
        payload: b"gone".to_vec(),
        qos: 0,
        retain: false,
    });
    let (will, (_, code)) = Client::connect_with(s.broker.addr(), &connect);
    assert_eq!(code, 0);
    will.drop_connection();
    bob.expect_no_packet(Duration::from_millis(500));
}

#[test]
fn denied_publish_is_acknowledged_and_the_connection_stays_open() {
    let s = start("");
    let mut reader = user(&s, "reader", "bob");
    assert_eq!(reader.subscribe(1, &[("out/#", 1)]), [1]);
    let mut connect = ConnectV5::new("p5");
    connect.username = Some("alice".into());
    connect.password = Some(b"test".to_vec());
    let (mut p5, connack) = Client::connect_v5_with(s.broker.addr(), &connect);
    assert_eq!(connack.reason, 0);
    p5.publish_v5(&PublishV5::new("out/x", b"no").qos(1, 9));
    // MQTT 5 PUBACK reason 0x87 Not authorized.
    assert_eq!(p5.expect_pub_response(0x40, 9).0, 0x87);
    p5.publish_v5(&PublishV5::new("home/x", b"yes").qos(1, 10));
    assert_eq!(p5.expect_pub_response(0x40, 10).0, 0);
    reader.expect_no_packet(Duration::from_millis(300));
    // 3.1.1: a plain PUBACK, as mosquitto sends.
    let mut p3 = user(&s, "p3", "alice");
    p3.publish(&Publish::new("out/x", b"no").qos(1, 3));
    p3.expect_puback(3);
    reader.expect_no_packet(Duration::from_millis(300));
}

#[test]
fn subscribing_to_a_filter_the_acl_never_allows_is_refused() {
    let s = start("");
    let mut c3 = user(&s, "c3", "bob");
    // bob reads out/# only: home/# can never deliver; [MQTT-3.9.3-2] 0x80 is the failure code.
    assert_eq!(c3.subscribe(1, &[("home/#", 0), ("out/+", 0)]), [0x80, 0]);
    let mut connect = ConnectV5::new("c5");
    connect.username = Some("bob".into());
    connect.password = Some(b"test".to_vec());
    let (mut c5, _) = Client::connect_v5_with(s.broker.addr(), &connect);
    let codes = c5.subscribe_v5(1, &[common::Filter::new("home/#", 0)], None);
    assert_eq!(codes, [0x87]);
}

#[test]
fn repeated_failures_from_one_address_are_answered_more_slowly() {
    let s = start("");
    let timed = || {
        let started = Instant::now();
        let (_, (_, code)) = Client::connect_with(s.broker.addr(), &login("g", "alice", "bad"));
        assert_eq!(code, 5);
        started.elapsed()
    };
    let first = timed();
    timed(); // held 0.5 s
    let third = timed(); // held 1 s
    assert!(
        third >= first + Duration::from_millis(500),
        "first {first:?}, third {third:?}"
    );
}

#[test]
fn a_missing_password_file_stops_the_start_with_status_13() {
    let dir = ConfDir::new();
    let missing = dir.path("nowhere");
    let conf = format!(
        "listener {} 127.0.0.1\npassword_file {missing}\n",
        free_port()
    );
    let file = dir.write("mosquitto.conf", &conf);
    let output = Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(["-c", &file])
        .output()
        .expect("run minibroker");
    assert_eq!(output.status.code(), Some(13));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&missing), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(&missing)).collect();
    assert_eq!(
        errors,
        [format!(
            "minibroker: cannot open {missing}: No such file or directory"
        )]
    );
}

#[test]
fn sighup_rereads_the_files_and_disconnects_who_no_longer_validates() {
    let s = start("");
    let mut alice = user(&s, "alice", "alice");
    let mut bob = user(&s, "bob", "bob");
    s.dir.write("passwd", &format!("bob:{HASH}\n"));
    s.broker.hang_up();
    alice.expect_closed(TIMEOUT);
    assert!(
        s.broker
            .wait_for_log("Client alice disconnected, not authorised.", TIMEOUT)
    );
    bob.sync();
    let (_, (_, code)) = Client::connect_with(s.broker.addr(), &login("a2", "alice", "test"));
    assert_eq!(code, 5);
}
