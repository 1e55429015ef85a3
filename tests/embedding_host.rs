//! The host program's in-process client over real sockets: an embedded broker, the host
//! publishing and subscribing through its `BrokerHandle`, and raw MQTT clients on the other
//! side (paho-mqtt drives the `home_hub` example in tests/e2e).

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::embedded::{addr, broker, subscribed, wait_stats};
use common::{Client, Connect, Prop, Props, Publish, PublishV5, TIMEOUT};
use minibroker::BrokerBuilder;
use minibroker::embed::{HandleError, Publication, SubscribeOptions};
use minibroker::protocol::{Properties, QoS, ReasonCode, RetainHandling};

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
    let inbox = subscribed(&handle, "q2/in", QoS::ExactlyOnce);
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
    let subscription = subscribed(&handle, "gone/#", QoS::AtLeastOnce);
    wait_stats(&handle, "one subscription", |s| s.subscriptions == 1);
    subscription.unsubscribe();
    wait_stats(&handle, "none left", |s| s.subscriptions == 0);
    handle.stop().expect("stop");
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
    let inbox = subscribed(&handle, "x/#", QoS::AtMostOnce);
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
fn a_burst_of_qos2_publications_of_the_host_is_delivered_whole() {
    // More than max_inflight_messages (20) QoS 2 publications in one turn: the host's link
    // releases each at once, so the router's inbound QoS 2 window never fills.
    let handle = broker();
    let mut subscriber = Client::connect(addr(&handle), "burst-sub");
    subscriber.subscribe(1, &[("burst/#", 2)]);
    let receipts: Vec<_> = (0..200)
        .map(|i| {
            let publication = Publication::new("burst/x", format!("{i}")).qos(QoS::ExactlyOnce);
            handle.publish_with_receipt(publication).expect("publish")
        })
        .collect();
    for receipt in receipts {
        assert_eq!(receipt.wait_timeout(TIMEOUT), Ok(()));
    }
    for i in 0..200 {
        let message = subscriber.expect_publish();
        assert_eq!(message.payload_str(), i.to_string());
        subscriber.ack(&message);
    }
    handle.stop().expect("stop");
}

#[test]
fn a_subscription_larger_than_a_turns_share_gets_every_retained_message() {
    // 5,000 retained messages, a subscription that may hold them all: more than one turn's
    // share of deliveries, on a broker with nothing else to wake it.
    let handle = BrokerBuilder::new().build().expect("bind").spawn();
    for i in 0..5000 {
        let publication = Publication::new(format!("r/{i}"), "x").retain(true);
        handle.publish(publication).expect("publish");
    }
    let options = SubscribeOptions::new(QoS::AtMostOnce).capacity(10_000);
    let all = handle.subscribe_with("r/#", options).expect("subscribe");
    all.wait_ready(TIMEOUT).expect("subscribed");
    let deadline = Instant::now() + TIMEOUT * 2;
    while all.len() < 5000 {
        assert!(Instant::now() < deadline, "{} of 5000 arrived", all.len());
        thread::sleep(Duration::from_millis(10));
    }
    handle.stop().expect("stop");
}

#[test]
fn what_the_router_would_refuse_is_refused_without_losing_the_link() {
    let handle = BrokerBuilder::new()
        .configure(|config| config.retain_available = false)
        .build()
        .expect("bind")
        .spawn();
    let inbox = subscribed(&handle, "p/#", QoS::AtLeastOnce);
    let retained = Publication::new("p/r", "x")
        .qos(QoS::AtLeastOnce)
        .retain(true);
    let receipt = handle.publish_with_receipt(retained).expect("queued");
    let refused = receipt.wait_timeout(TIMEOUT);
    assert_eq!(
        refused,
        Err(HandleError::Refused(ReasonCode::RETAIN_NOT_SUPPORTED))
    );
    // Per-connection properties are dropped rather than sent as a protocol error.
    let mut properties = Properties::default();
    properties.topic_alias = Some(60_000);
    properties.subscription_identifiers = vec![7];
    let fine = Publication::new("p/ok", "y")
        .qos(QoS::AtLeastOnce)
        .properties(properties);
    let receipt = handle.publish_with_receipt(fine).expect("queued");
    assert_eq!(receipt.wait_timeout(TIMEOUT), Ok(()));
    assert_eq!(
        &*inbox.recv_timeout(TIMEOUT).expect("message").topic,
        "p/ok"
    );
    handle.stop().expect("stop");
}

#[test]
fn a_receipt_with_persistence_on_resolves_once_the_message_is_in_the_store() {
    let dir = common::conf::ConfDir::new();
    let store = dir.store_dir("store");
    let handle = BrokerBuilder::new()
        .configure(|config| {
            config.persistence.enabled = true;
            config.persistence.location = Some(store.clone().into());
        })
        .build()
        .expect("bind")
        .spawn();
    let marker = "stored/by/the/host/0123456789";
    let publication = Publication::new(marker, "kept")
        .qos(QoS::AtLeastOnce)
        .retain(true);
    let receipt = handle.publish_with_receipt(publication).expect("queued");
    assert_eq!(receipt.wait_timeout(TIMEOUT), Ok(()));
    // Written before the receipt resolved (an fsync follows within the sync period).
    let file = std::path::Path::new(&store).join("minibroker.db");
    let bytes = std::fs::read(&file).expect("store file");
    let found = bytes.windows(marker.len()).any(|w| w == marker.as_bytes());
    assert!(found, "the retained message is not in {}", file.display());
    handle.stop().expect("stop");
}

#[test]
fn network_clients_cannot_become_a_host_link_through_their_username() {
    let mut listener = minibroker::ListenerConfig::plain("127.0.0.1:0".parse().expect("addr"));
    listener.options.use_username_as_clientid = true;
    let handle = BrokerBuilder::new()
        .configure(|config| config.listeners.push(listener))
        .build()
        .expect("bind")
        .spawn();
    let inbox = subscribed(&handle, "x/#", QoS::AtMostOnce);
    let connect = Connect::v311("anything").username("$host/sub-1");
    let (_, connack) = Client::connect_with(addr(&handle), &connect);
    assert_eq!(connack, (false, 2), "[MQTT-3.1.3-9] the id is refused");
    handle
        .publish(Publication::new("x/1", "still mine"))
        .expect("publish");
    assert_eq!(
        &*inbox.recv_timeout(TIMEOUT).expect("message").payload,
        b"still mine"
    );
    handle.stop().expect("stop");
}

#[test]
fn a_subscription_asked_for_before_the_broker_runs_is_in_place_for_the_first_client() {
    let broker = BrokerBuilder::new()
        .listen("127.0.0.1:0".parse().expect("addr"))
        .build()
        .expect("bind");
    let early = broker
        .handle()
        .subscribe("early/#", QoS::AtLeastOnce)
        .expect("subscribe");
    let handle = broker.spawn();
    // No wait_ready: the first client's first message must already find the subscription.
    let mut client = Client::connect(addr(&handle), "first");
    client.publish_complete(&Publish::new("early/x", b"1").qos(1, 1));
    assert_eq!(
        &*early.recv_timeout(TIMEOUT).expect("message").payload,
        b"1"
    );
    handle.stop().expect("stop");
}
