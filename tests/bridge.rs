//! Bridges against a second minibroker started by the test: topics out, in and both with
//! prefixes at each QoS, retained messages re-sent on connect, the upstream unreachable at
//! start, killed and restarted while messages are published, a refused CONNECT, TLS with a CA
//! file, an MQTT 5 bridge, the state notifications, and the queue kept in the store across a
//! restart of the home broker (scenarios in `common/bridging.rs`).

mod common;

use common::bridging::{self, Kind};

#[test]
fn out_in_and_both_with_prefixes_at_each_qos() {
    bridging::out_in_and_both_with_prefixes_at_each_qos(Kind::Minibroker);
}

#[test]
fn unreachable_at_start_then_queued_and_retained_messages_arrive_on_connect() {
    bridging::unreachable_at_start_then_queued_and_retained_messages_arrive_on_connect(
        Kind::Minibroker,
    );
}

#[test]
fn the_upstream_killed_and_restarted_gets_every_qos1_message_in_order() {
    bridging::the_upstream_killed_and_restarted_gets_every_qos1_message_in_order(Kind::Minibroker);
}

#[test]
fn a_refused_connect_is_logged_with_its_code_and_retried() {
    bridging::a_refused_connect_is_logged_with_its_code_and_retried(Kind::Minibroker);
}

#[test]
fn an_mqtt5_bridge_connects_in_mqtt5_and_uses_no_local() {
    bridging::an_mqtt5_bridge_connects_in_mqtt5_and_uses_no_local(Kind::Minibroker);
}

#[test]
fn notifications_say_1_when_up_and_0_when_down_on_both_sides() {
    bridging::notifications_say_1_when_up_and_0_when_down_on_both_sides(Kind::Minibroker);
}

#[cfg(feature = "tls")]
#[test]
fn tls_to_the_upstream_with_a_ca_file() {
    bridging::tls_to_the_upstream_with_a_ca_file(Kind::Minibroker);
}

#[test]
fn queued_messages_survive_a_restart_of_the_home_broker() {
    bridging::queued_messages_survive_a_restart_of_the_home_broker(Kind::Minibroker);
}

#[cfg(feature = "tls")]
#[test]
fn a_missing_bridge_ca_file_stops_the_start_naming_it() {
    let dir = common::conf::ConfDir::new();
    let missing = dir.path("no-such-ca.pem");
    let conf = format!(
        "listener {} 127.0.0.1\nconnection b\naddress 127.0.0.1:1\ntopic t out\n\
         bridge_cafile {missing}\n",
        common::conf::free_port()
    );
    let file = dir.write("home.conf", &conf);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(["-c", &file])
        .output()
        .expect("run minibroker");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot use {missing}")),
        "{stderr}"
    );
}

#[test]
fn tls_options_without_a_ca_are_refused() {
    let dir = common::conf::ConfDir::new();
    let conf = format!(
        "listener {} 127.0.0.1\nconnection b\naddress 127.0.0.1:1\ntopic t out\n\
         bridge_insecure true\n",
        common::conf::free_port()
    );
    let file = dir.write("home.conf", &conf);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .args(["-c", &file])
        .output()
        .expect("run minibroker");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TLS options need bridge_cafile or bridge_capath"),
        "{stderr}"
    );
}

#[test]
fn on_a_secondary_address_the_bridge_goes_back_to_the_primary_when_it_answers() {
    use common::{Broker, Client, Publish};
    use std::time::Duration;
    let dir = common::conf::ConfDir::new();
    let (primary, secondary) = (common::conf::free_port(), common::conf::free_port());
    let up_conf = |port| format!("listener {port} 127.0.0.1\nallow_anonymous true\n");
    let second = dir.write("second.conf", &up_conf(secondary));
    let _second = Broker::start_exactly(&["-c", &second], &[]);
    let conf = format!(
        "listener {} 127.0.0.1\nallow_anonymous true\nconnection b\n\
         address 127.0.0.1:{primary} 127.0.0.1:{secondary}\nrestart_timeout 1\n\
         try_private false\ntopic t/# out 1\n",
        common::conf::free_port()
    );
    let file = dir.write("home.conf", &conf);
    let home = Broker::start_exactly(&["-c", &file, "-v"], &[]);
    let on = |port: u16| format!("Bridge b connected to 127.0.0.1:{port}");
    assert!(home.wait_for_log(&on(secondary), Duration::from_secs(10)));
    let first = dir.write("first.conf", &up_conf(primary));
    let up = Broker::start_exactly(&["-c", &first], &[]);
    // Probed every 5 seconds.
    assert!(
        home.wait_for_log(&on(primary), Duration::from_secs(10)),
        "{}",
        home.logs().join("\n")
    );
    assert!(
        home.logs()
            .iter()
            .any(|l| l.contains("the primary address answers again"))
    );
    let mut remote = Client::connect(up.addr(), "remote-sub");
    remote.subscribe(1, &[("t/#", 1)]);
    let mut local = Client::connect(home.addr(), "local-pub");
    std::thread::sleep(Duration::from_millis(200));
    local.publish_complete(&Publish::new("t/x", b"via primary").qos(1, 1));
    assert_eq!(remote.expect_publish().payload_str(), "via primary");
}

/// A hostile upstream: it accepts, reads the CONNECT, answers with garbage. The bridge drops
/// that connection and tries again later; the home broker's clients notice nothing.
#[test]
fn garbage_from_the_upstream_ends_that_connection_only() {
    use common::{Broker, Client, Publish};
    use std::io::{Read, Write};
    use std::time::Duration;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let up_port = listener.local_addr().expect("addr").port();
    let dir = common::conf::ConfDir::new();
    let conf = format!(
        "listener {} 127.0.0.1\nallow_anonymous true\nconnection b\n\
         address 127.0.0.1:{up_port}\nrestart_timeout 1\ntopic t/# both 1\n",
        common::conf::free_port()
    );
    let file = dir.write("home.conf", &conf);
    let home = Broker::start_exactly(&["-c", &file, "-v"], &[]);
    let (mut upstream, _) = listener.accept().expect("the bridge connects");
    upstream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut connect = [0u8; 64];
    assert!(upstream.read(&mut connect).expect("CONNECT") > 0);
    assert_eq!(connect[0], 0x10, "CONNECT first");
    // A CONNACK, then a packet of reserved type 0.
    upstream
        .write_all(&[0x20, 0x02, 0x00, 0x00, 0x00, 0x00])
        .expect("write");
    assert!(
        home.wait_for_log("Bridge b lost its connection", Duration::from_secs(5)),
        "{}",
        home.logs().join("\n")
    );
    assert!(
        home.logs()
            .iter()
            .any(|l| l.contains("bad packet from the remote end"))
    );
    // The bridge comes back for more, and local clients were never disturbed.
    let (_again, _) = listener.accept().expect("a second attempt");
    let mut local = Client::connect(home.addr(), "local");
    local.subscribe(1, &[("t/#", 1)]);
    local.publish_complete(&Publish::new("t/x", b"fine").qos(1, 2));
    assert_eq!(local.expect_publish().payload_str(), "fine");
}

/// `local_username`: the bridge logs in to its own broker as that user, whose ACL applies to
/// what it forwards; a wrong `local_password` keeps it from running.
#[test]
fn local_username_logs_the_bridge_in_and_its_acl_applies() {
    use common::{Broker, Client, Connect, Publish};
    use std::time::Duration;
    const HASH: &str = "$6$njERlZMi/7DzNB9E$iiavfuXvUm8iyDZArTy7smTxh07GXXOrOsqxfW6gkOYVXHGk+W+i/8d3xDxrMwEPygEBhoA8A/gjQC0N2M4Lkw==";
    let dir = common::conf::ConfDir::new();
    dir.write("passwd", &format!("gw:{HASH}\npub:{HASH}\n"));
    // The bridge may read t/ok/#, not t/secret.
    dir.write(
        "acl",
        "user gw\ntopic read t/ok/#\nuser pub\ntopic write t/#\n",
    );
    let up_port = common::conf::free_port();
    let up_conf = format!("listener {up_port} 127.0.0.1\nallow_anonymous true\n");
    let up_file = dir.write("up.conf", &up_conf);
    let up = Broker::start_exactly(&["-c", &up_file], &[]);
    let home_conf = |password: &str| {
        format!(
            "listener {} 127.0.0.1\npassword_file {}\nacl_file {}\n\
             connection b\naddress 127.0.0.1:{up_port}\nrestart_timeout 1\n\
             try_private false\ntopic t/# out 1\nlocal_username gw\nlocal_password {password}\n",
            common::conf::free_port(),
            dir.path("passwd"),
            dir.path("acl")
        )
    };
    let file = dir.write("home.conf", &home_conf("test"));
    let home = Broker::start_exactly(&["-c", &file, "-v"], &[]);
    assert!(home.wait_for_log("Bridge b connected", Duration::from_secs(10)));
    let mut remote = Client::connect(up.addr(), "remote-sub");
    remote.subscribe(1, &[("t/#", 1)]);
    let mut login = Connect::v311("pub");
    login.username = Some("pub".into());
    login.password = Some("test".into());
    let (mut local, (_, code)) = Client::connect_with(home.addr(), &login);
    assert_eq!(code, 0);
    std::thread::sleep(Duration::from_millis(200));
    local.publish_complete(&Publish::new("t/secret", b"no").qos(1, 1));
    local.publish_complete(&Publish::new("t/ok/a", b"yes").qos(1, 2));
    assert_eq!(remote.expect_publish().payload_str(), "yes");
    remote.expect_no_packet(Duration::from_millis(300));
    // The wrong password: the local broker refuses the bridge's session.
    let file = dir.write("home-bad.conf", &home_conf("wrong"));
    let bad = Broker::start_exactly(&["-c", &file, "-v"], &[]);
    assert!(
        bad.wait_for_log(
            "the local broker refused the bridge's session",
            Duration::from_secs(10)
        ),
        "{}",
        bad.logs().join("\n")
    );
}
