//! The host program's hooks over real sockets: who may connect, publish, subscribe and
//! receive, what the host is told, and a hook that panics.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, Connect, ConnectV5, Filter, Publish, PublishV5, TIMEOUT};
use minibroker::embed::{Event, Verdict};
use minibroker::protocol::{QoS, ReasonCode};
use minibroker::{BrokerBuilder, BrokerHandle};

/// The broker on an ephemeral loopback port, without `$SYS` (whose publications the observer
/// would see too).
fn start(builder: BrokerBuilder) -> (BrokerHandle, std::net::SocketAddr) {
    let handle = builder
        .listen("127.0.0.1:0".parse().expect("addr"))
        .configure(|config| config.sys_interval = 0)
        .build()
        .expect("bind")
        .spawn();
    let addr = handle.local_addrs()[0];
    (handle, addr)
}

#[test]
fn the_authenticate_hook_decides_logins_from_the_hosts_own_table() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let (handle, addr) = start(BrokerBuilder::new().authenticate(move |request| {
        let client = request.client;
        record.lock().expect("lock").push((
            client.client_id.to_string(),
            client.address.map(|a| a.ip().to_string()),
            client.tls,
            client.listener,
        ));
        match (client.username, request.password) {
            (Some("kitchen"), Some(b"s3cret")) => Verdict::Allow,
            (Some("banned"), _) => Verdict::Deny(ReasonCode::BANNED),
            _ => Verdict::Deny(ReasonCode::BAD_USER_NAME_OR_PASSWORD),
        }
    }));
    let good = Connect::v311("sensor")
        .username("kitchen")
        .password(b"s3cret");
    let (_accepted, connack) = Client::connect_with(addr, &good);
    assert_eq!(connack, (false, 0));
    // 3.1.1 has return code 4 for a bad username or password [MQTT-3.2.2-5 table 3.1].
    let bad = Connect::v311("sensor2")
        .username("kitchen")
        .password(b"wrong");
    let (mut refused, connack) = Client::connect_with(addr, &bad);
    assert_eq!(connack, (false, 4));
    refused.expect_closed(TIMEOUT);
    // MQTT 5 gets the hook's own reason code [MQTT-3.2.2-7].
    let mut banned = ConnectV5::new("sensor3");
    banned.username = Some("banned".into());
    banned.password = Some(b"x".to_vec());
    let (_, connack) = Client::connect_v5_with(addr, &banned);
    assert_eq!(connack.reason, 0x8A);
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0],
        ("sensor".into(), Some("127.0.0.1".into()), false, 0)
    );
    handle.stop().expect("stop");
}

#[test]
fn the_publish_hook_refuses_a_topic_with_its_reason_and_others_see_nothing() {
    let (handle, addr) = start(
        BrokerBuilder::new().authorize_publish(|client, topic, _, _| {
            if topic.starts_with("alarm/") && client.client_id != "panel" {
                Verdict::Deny(ReasonCode::NOT_AUTHORIZED)
            } else {
                Verdict::Allow
            }
        }),
    );
    let mut watcher = Client::connect(addr, "watcher");
    watcher.subscribe(1, &[("#", 1)]);
    let mut intruder = Client::connect_v5(addr, "intruder");
    // [MQTT-3.4.2-1] the PUBACK carries the refusal: 0x87 Not authorized.
    let reason = intruder.publish_v5_complete(&PublishV5::new("alarm/off", b"1").qos(1, 1));
    assert_eq!(reason, 0x87);
    let mut old_client = Client::connect(addr, "old");
    // 3.1.1 has no refusal code: acknowledged and dropped, as for an ACL refusal.
    old_client.publish_complete(&Publish::new("alarm/off", b"2").qos(1, 1));
    let mut panel = Client::connect(addr, "panel");
    panel.publish_complete(&Publish::new("alarm/on", b"3").qos(1, 1));
    let message = watcher.expect_publish();
    assert_eq!(
        (message.topic.as_str(), message.payload.as_slice()),
        ("alarm/on", &b"3"[..])
    );
    watcher.ack(&message);
    watcher.expect_no_packet(Duration::from_millis(200));
    handle.stop().expect("stop");
}

#[test]
fn the_subscribe_hook_refuses_one_filter_of_a_subscribe() {
    let (handle, addr) = start(BrokerBuilder::new().authorize_subscribe(|_, filter| {
        if filter.starts_with("private/") {
            Verdict::Deny(ReasonCode::NOT_AUTHORIZED)
        } else {
            Verdict::Allow
        }
    }));
    let mut client = Client::connect(addr, "curious");
    // [MQTT-3.9.3-2] 0x80 is 3.1.1's failure code; the other filter is granted.
    assert_eq!(
        client.subscribe(1, &[("private/#", 1), ("public/#", 1)]),
        [0x80, 1]
    );
    let mut v5 = Client::connect_v5(addr, "curious5");
    let codes = v5.subscribe_v5(1, &[Filter::new("private/x", 0)], None);
    assert_eq!(codes, [0x87]);
    // The host's own subscriptions are not asked about.
    let own = handle
        .subscribe("private/#", QoS::AtMostOnce)
        .expect("subscribe");
    assert_eq!(own.wait_ready(TIMEOUT), Ok(QoS::AtMostOnce));
    handle.stop().expect("stop");
}

#[test]
fn the_delivery_hook_skips_a_client_for_a_topic() {
    let (handle, addr) = start(
        BrokerBuilder::new().authorize_delivery(|client_id, _, topic| {
            !(client_id == "guest" && topic.starts_with("camera/"))
        }),
    );
    let mut guest = Client::connect(addr, "guest");
    guest.subscribe(1, &[("#", 0)]);
    let mut owner = Client::connect(addr, "owner");
    owner.subscribe(1, &[("#", 0)]);
    let mut publisher = Client::connect(addr, "cam");
    publisher.publish_complete(&Publish::new("camera/door", b"img"));
    publisher.publish_complete(&Publish::new("weather/temp", b"3"));
    assert_eq!(owner.expect_publish().topic, "camera/door");
    assert_eq!(owner.expect_publish().topic, "weather/temp");
    assert_eq!(guest.expect_publish().topic, "weather/temp");
    guest.expect_no_packet(Duration::from_millis(200));
    handle.stop().expect("stop");
}

#[test]
fn the_observer_sees_connects_messages_and_disconnects() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&events);
    let (handle, addr) = start(BrokerBuilder::new().on_event(move |event| {
        let line = match event {
            Event::Connected(client) => format!("connected {}", client.client_id),
            Event::Disconnected { client_id } => format!("disconnected {client_id}"),
            Event::Message {
                client_id, topic, ..
            } => format!("message {topic} from {client_id:?}"),
        };
        record.lock().expect("lock").push(line);
    }));
    let mut client = Client::connect(addr, "observed");
    client.publish_complete(&Publish::new("o/1", b"x"));
    handle
        .publish_with_receipt(minibroker::embed::Publication::new("o/2", "y"))
        .expect("publish")
        .wait_timeout(TIMEOUT)
        .expect("routed");
    client.disconnect();
    handle.stop().expect("stop");
    let events = events.lock().expect("lock").clone();
    assert_eq!(
        events,
        [
            "connected observed",
            "message o/1 from Some(\"observed\")",
            "message o/2 from None",
            "disconnected observed",
        ]
    );
}

#[test]
fn a_panicking_hook_refuses_and_the_broker_carries_on() {
    let (handle, addr) = start(
        BrokerBuilder::new()
            .authenticate(|request| {
                if request.client.client_id == "boom" {
                    panic!("a bug in the host program");
                }
                Verdict::Allow
            })
            .on_event(|event| {
                if let Event::Message { topic: "panic", .. } = event {
                    panic!("another bug");
                }
            }),
    );
    let (mut refused, connack) = Client::connect_with(addr, &Connect::v311("boom"));
    assert_eq!(connack.1, 5, "a panic is a refusal");
    refused.expect_closed(TIMEOUT);
    let mut fine = Client::connect(addr, "fine");
    fine.subscribe(1, &[("#", 0)]);
    fine.publish_complete(&Publish::new("panic", b"1"));
    assert_eq!(fine.expect_publish().topic, "panic");
    fine.publish_complete(&Publish::new("after", b"2"));
    assert_eq!(fine.expect_publish().topic, "after");
    handle.stop().expect("stop");
}

#[test]
fn panicking_authorisation_hooks_refuse_and_the_broker_carries_on() {
    let (handle, addr) = start(
        BrokerBuilder::new()
            .authorize_publish(|_, topic, _, _| {
                assert!(topic != "boom/publish", "a bug in the publish hook");
                Verdict::Allow
            })
            .authorize_subscribe(|_, filter| {
                assert!(filter != "boom/subscribe", "a bug in the subscribe hook");
                Verdict::Allow
            })
            .authorize_delivery(|_, _, topic| {
                assert!(topic != "boom/deliver", "a bug in the delivery hook");
                true
            }),
    );
    let mut client = Client::connect_v5(addr, "survivor");
    assert_eq!(
        client.subscribe_v5(1, &[Filter::new("boom/subscribe", 0)], None),
        [0x80],
        "a panic refuses with 0x80 Unspecified error"
    );
    client.sub_v5("#", 1);
    let refused = client.publish_v5_complete(&PublishV5::new("boom/publish", b"1").qos(1, 1));
    assert_eq!(refused, 0x80);
    client.publish_v5_complete(&PublishV5::new("boom/deliver", b"2").qos(1, 2));
    client.publish_v5_complete(&PublishV5::new("fine", b"3").qos(1, 3));
    let message = client.expect_publish_v5();
    assert_eq!(
        message.topic, "fine",
        "the message whose delivery hook panicked is skipped"
    );
    handle.stop().expect("stop");
}
