//! The `BrokerHandle` and `BrokerLoop` over real sockets: refusals, full queues, statistics,
//! reload, stop, and the loop driven turn by turn.

mod common;

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::embedded::{addr, broker, subscribed};
use common::{Client, Connect, Publish, TIMEOUT};
use minibroker::embed::{HandleError, Publication};
use minibroker::protocol::QoS;
use minibroker::{BrokerBuilder, LoopState};

#[test]
fn stop_with_clients_connected_ends_every_side_cleanly() {
    let handle = broker();
    let subscription = subscribed(&handle, "a/#", QoS::AtLeastOnce);
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
    assert_eq!(
        (stats.publish_received, stats.publish_bytes_received),
        (2, 2)
    );
    assert_eq!(
        (stats.publish_sent, stats.publish_bytes_sent),
        (2, 2),
        "to a, once each"
    );
    // CONNACK twice, SUBACK, the PINGRESPs of publish_complete, and the two deliveries.
    assert!(stats.packets_sent >= 5, "{stats:?}");
    assert!(stats.packets_received >= 5, "{stats:?}");
    assert!(
        stats.bytes_received > 0 && stats.bytes_sent > 0,
        "{stats:?}"
    );
    assert_eq!(stats.connections, 2);
    assert!(stats.uptime < Duration::from_secs(600));
    handle.stop().expect("stop");
}

#[test]
fn a_broker_without_listeners_serves_the_host_alone() {
    let handle = BrokerBuilder::new().build().expect("bind").spawn();
    assert!(handle.local_addrs().is_empty());
    let inbox = subscribed(&handle, "#", QoS::AtLeastOnce);
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

#[test]
fn a_subscription_asked_for_as_the_broker_stops_does_not_wait_for_ever() {
    let handle = BrokerBuilder::new().build().expect("bind").spawn();
    let other = handle.clone();
    let late = thread::spawn(move || match other.subscribe("late/#", QoS::AtMostOnce) {
        Ok(subscription) => subscription.recv_timeout(Duration::from_secs(60)),
        Err(e) => Err(e),
    });
    handle.stop().expect("stop");
    let started = Instant::now();
    assert_eq!(late.join().expect("thread"), Err(HandleError::Stopped));
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn reload_without_a_configuration_reads_the_password_file_again() {
    // Users `alice` and `bob`, both with password `test` (mosquitto's `$6$` test vector).
    const HASH: &str = "$6$njERlZMi/7DzNB9E$iiavfuXvUm8iyDZArTy7smTxh07GXXOrOsqxfW6gkOYVXHGk+W+i/8d3xDxrMwEPygEBhoA8A/gjQC0N2M4Lkw==";
    let dir = common::conf::ConfDir::new();
    dir.write("passwd", &format!("alice:{HASH}\n"));
    let mut listener = minibroker::ListenerConfig::plain("127.0.0.1:0".parse().expect("addr"));
    listener.options.security.password_file = Some(dir.path("passwd").into());
    listener.options.allow_anonymous = false;
    let handle = BrokerBuilder::new()
        .configure(|config| config.listeners.push(listener))
        .build()
        .expect("bind")
        .spawn();
    let bob = || Connect::v311("bob").username("bob").password(b"test");
    assert_eq!(Client::connect_with(addr(&handle), &bob()).1, (false, 5));
    dir.write("passwd", &format!("alice:{HASH}\nbob:{HASH}\n"));
    handle.reload(None).expect("reload");
    assert_eq!(Client::connect_with(addr(&handle), &bob()).1, (false, 0));
    handle.stop().expect("stop");
}

#[test]
fn reload_refuses_a_configuration_that_does_not_validate() {
    let handle = BrokerBuilder::new().build().expect("bind").spawn();
    let bad = minibroker::Config {
        max_inflight_messages: 0,
        ..minibroker::Config::default()
    };
    assert!(matches!(
        handle.reload(Some(bad)),
        Err(HandleError::InvalidConfig(_))
    ));
    handle.stop().expect("stop");
}

#[test]
fn the_loop_descriptor_in_another_poll_says_when_to_turn() {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};

    let mut broker = BrokerBuilder::new()
        .listen("127.0.0.1:0".parse().expect("addr"))
        .configure(|config| config.sys_interval = 0)
        .build()
        .expect("bind")
        .into_loop()
        .expect("start");
    let addr = broker.local_addrs()[0];
    // The host's own event loop, waiting on the broker's descriptor among its own.
    let mut host_poll = Poll::new().expect("poll");
    let fd = broker.as_raw_fd();
    host_poll
        .registry()
        .register(&mut SourceFd(&fd), Token(7), Interest::READABLE)
        .expect("register");
    let client = thread::spawn(move || {
        let mut client = Client::connect(addr, "fd-client");
        client.publish_complete(&Publish::new("fd/x", b"1").qos(1, 1));
        client.disconnect();
    });
    let mut events = Events::with_capacity(8);
    let deadline = Instant::now() + TIMEOUT * 2;
    let mut woken = 0;
    while !client.is_finished() {
        assert!(Instant::now() < deadline, "the client never finished");
        let wait = broker
            .next_deadline()
            .map_or(Duration::from_millis(100), |at| {
                at.saturating_duration_since(Instant::now())
            });
        host_poll
            .poll(&mut events, Some(wait.min(Duration::from_millis(100))))
            .expect("host poll");
        woken += events.iter().filter(|e| e.token() == Token(7)).count();
        let turn = broker.poll_once(Some(Duration::ZERO)).expect("turn");
        assert_eq!(turn, LoopState::Running);
    }
    client.join().expect("client thread");
    assert!(woken > 0, "the descriptor never became readable");
    assert_eq!(broker.stats().messages_received, 1);
}
