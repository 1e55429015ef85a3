//! The host program's in-process client over real sockets: an embedded broker, the host
//! publishing and subscribing through its `BrokerHandle`, and raw MQTT clients on the other
//! side (paho-mqtt drives the `home_hub` example in tests/e2e).

mod common;

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{Client, Connect, Prop, Props, Publish, PublishV5, TIMEOUT};
use minibroker::embed::{HandleError, Publication, SubscribeOptions};
use minibroker::protocol::{Properties, QoS, RetainHandling};
use minibroker::{BrokerBuilder, BrokerHandle, LoopState};

fn broker() -> BrokerHandle {
    BrokerBuilder::new()
        .listen("127.0.0.1:0".parse().expect("addr"))
        .build()
        .expect("bind")
        .spawn()
}

fn addr(handle: &BrokerHandle) -> std::net::SocketAddr {
    handle.local_addrs()[0]
}

/// Waits until `check` holds of the broker's statistics.
fn wait_stats(
    handle: &BrokerHandle,
    what: &str,
    check: impl Fn(&minibroker::embed::Stats) -> bool,
) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let stats = handle.stats().expect("stats");
        if check(&stats) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {stats:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_qos1_publication_of_the_host_reaches_a_network_subscriber_and_its_receipt_resolves() {
    let handle = broker();
    let mut subscriber = Client::connect(addr(&handle), "dashboard");
    assert_eq!(subscriber.subscribe(1, &[("Erdgeschoss/#", 1)]), [1]);
    let reading = Publication::new("Erdgeschoss/Wohnzimmer/Temp", "21.5").qos(QoS::AtLeastOnce);
    let receipt = handle.publish_with_receipt(reading).expect("publish");
    assert_eq!(receipt.wait_timeout(TIMEOUT), Ok(()));
    let message = subscriber.expect_publish();
    assert_eq!(message.topic, "Erdgeschoss/Wohnzimmer/Temp");
    assert_eq!(message.payload, b"21.5");
    assert_eq!(message.qos, 1);
    subscriber.ack(&message);
    handle.stop().expect("stop");
}

#[test]
fn a_network_publisher_reaches_a_host_subscription_at_qos1_in_order() {
    let handle = broker();
    let commands = handle
        .subscribe_with("cmd/#", SubscribeOptions::new(QoS::AtLeastOnce).capacity(4))
        .expect("subscribe");
    assert_eq!(commands.wait_ready(TIMEOUT), Ok(QoS::AtLeastOnce));
    let mut publisher = Client::connect(addr(&handle), "app");
    for i in 1..=50u16 {
        let payload = format!("{i}");
        publisher.publish_complete(&Publish::new("cmd/light", payload.as_bytes()).qos(1, i));
    }
    for i in 1..=50 {
        let message = commands.recv_timeout(TIMEOUT).expect("message");
        assert_eq!(&*message.topic, "cmd/light");
        assert_eq!(message.payload.as_ref(), format!("{i}").as_bytes());
        assert_eq!(message.qos, QoS::AtLeastOnce);
    }
    // Every message taken was acknowledged: nothing stays stored for the host's session.
    wait_stats(&handle, "acknowledged", |s| s.messages_stored == 0);
    handle.stop().expect("stop");
}

#[test]
fn qos2_both_ways_delivers_exactly_once() {
    let handle = broker();
    let inbox = handle
        .subscribe("q2/in", QoS::ExactlyOnce)
        .expect("subscribe");
    inbox.wait_ready(TIMEOUT).expect("subscribed");
    let mut client = Client::connect(addr(&handle), "q2");
    assert_eq!(client.subscribe(1, &[("q2/out", 2)]), [2]);
    client.publish_complete(&Publish::new("q2/in", b"to host").qos(2, 7));
    let message = inbox.recv_timeout(TIMEOUT).expect("message");
    assert_eq!(
        (message.qos, &*message.payload),
        (QoS::ExactlyOnce, &b"to host"[..])
    );
    let out = Publication::new("q2/out", "from host").qos(QoS::ExactlyOnce);
    let receipt = handle.publish_with_receipt(out).expect("publish");
    assert_eq!(receipt.wait_timeout(TIMEOUT), Ok(()));
    let delivered = client.expect_publish();
    assert_eq!(
        (delivered.qos, delivered.payload.as_slice()),
        (2, &b"from host"[..])
    );
    client.ack(&delivered);
    assert!(
        inbox.recv_timeout(Duration::from_millis(200)).is_err(),
        "a second copy"
    );
    wait_stats(&handle, "QoS 2 flows complete", |s| s.messages_stored == 0);
    handle.stop().expect("stop");
}

#[test]
fn retained_messages_of_the_host_reach_later_subscribers_and_the_host_gets_retained_ones() {
    let handle = broker();
    let retained = Publication::new("status/hub", "online").retain(true);
    handle
        .publish_with_receipt(retained)
        .expect("publish")
        .wait_timeout(TIMEOUT)
        .expect("accepted");
    let mut late = Client::connect(addr(&handle), "late");
    late.subscribe(1, &[("status/#", 0)]);
    let message = late.expect_publish();
    assert!(
        message.retain,
        "[MQTT-3.3.1-8] retained flag on a new subscription's copy"
    );
    assert_eq!(message.payload, b"online");

    let mut device = Client::connect(addr(&handle), "device");
    device.publish_complete(&Publish::new("status/device", b"ready").retain());
    let mirror = handle
        .subscribe("status/device", QoS::AtMostOnce)
        .expect("subscribe");
    let message = mirror.recv_timeout(TIMEOUT).expect("retained message");
    assert!(message.retain);
    assert_eq!(&*message.payload, b"ready");
    wait_stats(&handle, "two retained", |s| s.retained_messages == 2);
    handle.stop().expect("stop");
}

#[test]
fn a_host_that_does_not_take_its_messages_slows_no_one_else() {
    let handle = broker();
    let neglected = handle
        .subscribe_with(
            "busy/#",
            SubscribeOptions::new(QoS::AtLeastOnce).capacity(1),
        )
        .expect("subscribe");
    neglected.wait_ready(TIMEOUT).expect("subscribed");
    let mut subscriber = Client::connect(addr(&handle), "fast-sub");
    subscriber.subscribe(1, &[("busy/#", 1)]);
    let mut publisher = Client::connect(addr(&handle), "fast-pub");
    for i in 1..=200u16 {
        publisher.publish_complete(&Publish::new("busy/x", &i.to_be_bytes()).qos(1, i));
        let message = subscriber.expect_publish();
        assert_eq!(message.payload, i.to_be_bytes());
        subscriber.ack(&message);
    }
    // The host's queue holds one; the broker keeps the rest back, in order, and hands them
    // over as the host takes them (200 is well under max_queued_messages).
    assert_eq!(neglected.len(), 1);
    for i in 1..=200u16 {
        let message = neglected.recv_timeout(TIMEOUT).expect("kept message");
        assert_eq!(&*message.payload, &i.to_be_bytes());
    }
    handle.stop().expect("stop");
}

#[test]
fn dropping_a_subscription_ends_it() {
    let handle = broker();
    let subscription = handle
        .subscribe("gone/#", QoS::AtLeastOnce)
        .expect("subscribe");
    subscription.wait_ready(TIMEOUT).expect("subscribed");
    wait_stats(&handle, "one subscription", |s| s.subscriptions == 1);
    subscription.unsubscribe();
    wait_stats(&handle, "none left", |s| s.subscriptions == 0);
    handle.stop().expect("stop");
}

#[test]
fn stop_with_clients_connected_ends_every_side_cleanly() {
    let handle = broker();
    let subscription = handle
        .subscribe("a/#", QoS::AtLeastOnce)
        .expect("subscribe");
    subscription.wait_ready(TIMEOUT).expect("subscribed");
    let mut client = Client::connect(addr(&handle), "connected");
    let other = handle.clone();
    handle.stop().expect("stop");
    client.expect_closed(TIMEOUT);
    assert_eq!(
        subscription.recv_timeout(TIMEOUT),
        Err(HandleError::Stopped)
    );
    assert_eq!(
        other.publish(Publication::new("a/b", "late")),
        Err(HandleError::Stopped)
    );
    assert_eq!(other.stats(), Err(HandleError::Stopped));
    assert!(matches!(
        other.subscribe("a/#", QoS::AtMostOnce),
        Err(HandleError::Stopped)
    ));
}

#[test]
fn the_handle_is_shared_by_threads_publishing_at_once() {
    let handle = broker();
    let mut subscriber = Client::connect(addr(&handle), "collector");
    subscriber.subscribe(1, &[("t/#", 1)]);
    let publishers: Vec<_> = (0..4)
        .map(|t| {
            let handle = handle.clone();
            thread::spawn(move || {
                for i in 0..250 {
                    let topic = format!("t/{t}");
                    let publication = Publication::new(topic, format!("{i}")).qos(QoS::AtLeastOnce);
                    handle.publish(publication).expect("publish");
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.join().expect("publisher thread");
    }
    let mut next = [0u32; 4];
    for _ in 0..1000 {
        let message = subscriber.expect_publish();
        subscriber.ack(&message);
        let t: usize = message.topic[2..].parse().expect("topic");
        assert_eq!(
            message.payload_str(),
            next[t].to_string(),
            "in order per thread"
        );
        next[t] += 1;
    }
    assert_eq!(next, [250; 4]);
    wait_stats(&handle, "counted", |s| s.messages_received == 1000);
    handle.stop().expect("stop");
}

#[test]
fn poll_once_runs_the_broker_inside_a_test_loop() {
    let mut broker = BrokerBuilder::new()
        .listen("127.0.0.1:0".parse().expect("addr"))
        .build()
        .expect("bind")
        .into_loop()
        .expect("start");
    assert!(broker.as_raw_fd() >= 0);
    let addr = broker.local_addrs()[0];
    let handle = broker.handle();
    let inbox = handle
        .subscribe("loop/#", QoS::AtLeastOnce)
        .expect("subscribe");
    // The network client runs on its own thread; this thread only turns the loop.
    let client = thread::spawn(move || {
        let mut client = Client::connect(addr, "loop-client");
        client.publish_complete(&Publish::new("loop/x", b"hello").qos(1, 1));
        client.disconnect();
    });
    let deadline = Instant::now() + TIMEOUT * 2;
    let mut received = None;
    while received.is_none() || !client.is_finished() {
        let turn = broker.poll_once(Some(Duration::from_millis(20)));
        assert_eq!(turn.expect("turn"), LoopState::Running);
        received = received.or_else(|| inbox.try_recv());
        assert!(Instant::now() < deadline, "no message through poll_once");
    }
    assert_eq!(&*received.expect("message").payload, b"hello");
    client.join().expect("client thread");
    // On the loop's own thread the waiting calls refuse instead of waiting for ever.
    assert_eq!(handle.stats(), Err(HandleError::OnLoopThread));
    assert_eq!(broker.stats().subscriptions, 1);
    handle.stop().expect("stop");
    assert_eq!(
        broker.poll_once(None).expect("last turn"),
        LoopState::Stopped
    );
    assert_eq!(broker.poll_once(None).expect("after"), LoopState::Stopped);
}

#[test]
fn a_full_request_queue_is_refused_on_the_loop_thread_rather_than_waited_for() {
    let broker = BrokerBuilder::new()
        .command_capacity(2)
        .build()
        .expect("bind")
        .into_loop()
        .expect("start");
    let handle = broker.handle();
    handle.publish(Publication::new("q/1", "1")).expect("first");
    handle
        .publish(Publication::new("q/2", "2"))
        .expect("second");
    // No turn has taken them: the third does not fit, and this thread runs the loop.
    assert_eq!(
        handle.publish(Publication::new("q/3", "3")),
        Err(HandleError::Full)
    );
    assert_eq!(
        handle.try_publish(Publication::new("q/3", "3")),
        Err(HandleError::Full)
    );
    drop(broker);
    assert_eq!(
        handle.publish(Publication::new("q/4", "4")),
        Err(HandleError::Stopped)
    );
}

#[test]
fn bad_topics_and_filters_are_refused_by_the_handle() {
    let handle = BrokerBuilder::new().build().expect("bind").spawn();
    for topic in ["", "a/+", "a/#", "nul\0"] {
        let refused = handle.publish(Publication::new(topic, "x"));
        assert!(
            matches!(refused, Err(HandleError::InvalidTopic(_))),
            "{topic:?}: {refused:?}"
        );
    }
    for filter in ["", "a/#/b", "a+", "#/x"] {
        let refused = handle.subscribe(filter, QoS::AtMostOnce);
        assert!(
            matches!(refused, Err(HandleError::InvalidFilter(_))),
            "{filter:?}"
        );
    }
    handle.stop().expect("stop");
}

#[test]
fn a_publication_over_the_packet_size_limit_is_refused() {
    let handle = BrokerBuilder::new()
        .configure(|config| config.max_packet_size = 1024)
        .build()
        .expect("bind")
        .spawn();
    let big = Publication::new("big", vec![0u8; 2048]);
    assert_eq!(handle.publish(big), Err(HandleError::TooLarge));
    handle.stop().expect("stop");
}

#[test]
fn a_refusal_by_message_size_limit_reaches_the_receipt() {
    let handle = BrokerBuilder::new()
        .configure(|config| config.message_size_limit = 10)
        .build()
        .expect("bind")
        .spawn();
    let big = Publication::new("big", vec![1u8; 100]).qos(QoS::AtLeastOnce);
    let receipt = handle.publish_with_receipt(big).expect("queued");
    assert!(
        matches!(receipt.wait_timeout(TIMEOUT), Err(HandleError::Refused(_))),
        "a refused message is not reported as accepted"
    );
    handle.stop().expect("stop");
}

#[test]
fn mqtt5_properties_of_the_host_reach_an_mqtt5_subscriber() {
    let handle = broker();
    let mut subscriber = Client::connect_v5(addr(&handle), "v5-sub");
    subscriber.sub_v5("props/#", 1);
    let mut properties = Properties::default();
    properties.content_type = Some("application/json".into());
    properties.user_properties = vec![("room".into(), "kitchen".into())];
    properties.message_expiry_interval = Some(3600);
    let publication = Publication::new("props/x", r#"{"t":21}"#)
        .qos(QoS::AtLeastOnce)
        .properties(properties);
    handle.publish(publication).expect("publish");
    let message = subscriber.expect_publish_v5();
    assert_eq!(message.payload_str(), r#"{"t":21}"#);
    assert!(
        message
            .props
            .0
            .contains(&Prop::ContentType("application/json".into()))
    );
    assert_eq!(
        message.props.user_properties(),
        [("room".to_string(), "kitchen".to_string())]
    );
    let expiry = message.props.message_expiry().expect("message expiry");
    assert!(
        (3595..=3600).contains(&expiry),
        "[MQTT-3.3.2-6] remaining expiry {expiry}"
    );
    handle.stop().expect("stop");
}

#[test]
fn an_mqtt5_publisher_reaches_a_host_subscription_with_its_properties() {
    let handle = broker();
    let inbox = handle
        .subscribe_with(
            "v5/#",
            SubscribeOptions::new(QoS::AtLeastOnce).retain_handling(RetainHandling::DoNotSend),
        )
        .expect("subscribe");
    inbox.wait_ready(TIMEOUT).expect("subscribed");
    let mut publisher = Client::connect_v5(addr(&handle), "v5-pub");
    let props = Props::new()
        .user("k", "v")
        .with(Prop::ResponseTopic("v5/reply".into()));
    publisher.publish_v5_complete(&PublishV5::new("v5/a", b"x").qos(1, 1).props(props));
    let message = inbox.recv_timeout(TIMEOUT).expect("message");
    assert_eq!(
        message.properties.user_properties,
        [("k".to_string(), "v".to_string())]
    );
    assert_eq!(
        message.properties.response_topic.as_deref(),
        Some("v5/reply")
    );
    handle.stop().expect("stop");
}

#[test]
fn network_clients_cannot_take_over_the_host_links() {
    let handle = broker();
    let inbox = handle.subscribe("x/#", QoS::AtMostOnce).expect("subscribe");
    inbox.wait_ready(TIMEOUT).expect("subscribed");
    // [MQTT-3.1.3-9] a client id the server does not accept: CONNACK 2 (3.1.1), 0x85 (MQTT 5).
    let (_, connack) = Client::connect_with(addr(&handle), &Connect::v311("$host/sub-1"));
    assert_eq!(connack, (false, 2));
    let (_, connack) =
        Client::connect_v5_with(addr(&handle), &common::ConnectV5::new("$host/publisher"));
    assert_eq!(connack.reason, 0x85);
    // The host's subscription is still there.
    let mut publisher = Client::connect(addr(&handle), "p");
    publisher.publish_complete(&Publish::new("x/1", b"still"));
    assert_eq!(
        &*inbox.recv_timeout(TIMEOUT).expect("message").payload,
        b"still"
    );
    handle.stop().expect("stop");
}

#[test]
fn reload_through_the_handle_applies_a_new_configuration() {
    let handle = broker();
    let mut before = Client::connect(addr(&handle), "before");
    // The listener as configured, now refusing anonymous clients (a listener setting, as in
    // mosquitto.conf); the listeners themselves stay as they were bound.
    let mut listener = minibroker::ListenerConfig::plain("127.0.0.1:0".parse().expect("addr"));
    listener.options.allow_anonymous = false;
    let config = minibroker::Config {
        listeners: vec![listener],
        ..minibroker::Config::default()
    };
    handle.reload(Some(config)).expect("reload");
    let (_, connack) = Client::connect_with(addr(&handle), &Connect::v311("after"));
    assert_eq!(
        connack,
        (false, 5),
        "anonymous clients are refused after the reload"
    );
    // Connected clients are checked again against the new settings, as on SIGHUP.
    before.expect_closed(TIMEOUT);
    handle.stop().expect("stop");
}

#[test]
fn statistics_count_clients_subscriptions_and_messages() {
    let handle = broker();
    let mut a = Client::connect(addr(&handle), "a");
    a.subscribe(1, &[("s/#", 0), ("t/#", 0)]);
    let mut b = Client::connect(addr(&handle), "b");
    b.publish_complete(&Publish::new("s/1", b"1").retain());
    b.publish_complete(&Publish::new("s/2", b"2"));
    let stats = handle.stats().expect("stats");
    assert_eq!(stats.clients_connected, 2);
    assert_eq!(stats.subscriptions, 2);
    assert_eq!(stats.retained_messages, 1);
    assert_eq!(stats.messages_received, 2);
    assert!(stats.uptime < Duration::from_secs(600));
    handle.stop().expect("stop");
}

#[test]
fn a_broker_without_listeners_serves_the_host_alone() {
    let handle = BrokerBuilder::new().build().expect("bind").spawn();
    assert!(handle.local_addrs().is_empty());
    let inbox = handle.subscribe("#", QoS::AtLeastOnce).expect("subscribe");
    inbox.wait_ready(TIMEOUT).expect("subscribed");
    let payload: Arc<[u8]> = Arc::from(&b"in-process"[..]);
    handle
        .publish(Publication::new("only/here", &payload).qos(QoS::AtLeastOnce))
        .expect("publish");
    assert_eq!(
        inbox.recv_timeout(TIMEOUT).expect("message").payload,
        payload
    );
    handle.stop().expect("stop");
}
