//! Tests for the subscription table: matching, merging of overlapping subscriptions, no local,
//! the `$` rule, shared filter text, and a large table; with the helpers and the consistency
//! check that `tests_removal.rs` and `model_tests.rs` share.

use std::sync::Arc;

use super::subscribers::Subscribers;
use super::*;

pub(super) fn filter(text: &str) -> TopicFilter {
    TopicFilter::parse(text).unwrap()
}

pub(super) fn qos(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        ..SubscriptionOptions::default()
    }
}

fn no_local(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        no_local: true,
        ..SubscriptionOptions::default()
    }
}

/// The deliveries for `topic`, sorted by key so tests can compare them.
pub(super) fn deliver(
    table: &SubscriptionTable<u32>,
    topic: &str,
    publisher: Option<u32>,
) -> Vec<Delivery<u32>> {
    let mut out = Vec::new();
    table.deliveries(topic, publisher, &mut out);
    out.sort_by_key(|delivery| delivery.key);
    out
}

pub(super) fn keys(deliveries: &[Delivery<u32>]) -> Vec<u32> {
    deliveries.iter().map(|delivery| delivery.key).collect()
}

fn plain(key: u32, qos: QoS) -> Delivery<u32> {
    Delivery {
        key,
        qos,
        retain_as_published: false,
        subscription_ids: Vec::new(),
    }
}

/// Checks that both indexes agree: every position a key holds points at that key's entry, every
/// subscriber is held by its key, the wildcard positions are exact, and `len` is the total.
pub(super) fn assert_consistent(table: &SubscriptionTable<u32>) {
    let mut total = 0;
    assert!(
        table.held.last().is_none_or(|held| !held.is_empty()),
        "the index kept an empty slot at its end"
    );
    for (key, held) in table.held.iter().enumerate() {
        for (text, position) in held.iter() {
            let subscribers = table.filters.subscribers(text).unwrap();
            assert_eq!(
                subscribers[position].key.index(),
                key,
                "{text} at {position}"
            );
        }
        total += held.len();
    }
    assert_eq!(table.len(), total);
    let mut subscribers = 0;
    let exact = table
        .filters
        .exact
        .iter()
        .map(|(text, list)| (&**text, list));
    let wildcard = (table.filters.wildcard.iter()).map(|e| (e.filter.as_str(), &e.subscribers));
    for (text, list) in exact.chain(wildcard) {
        assert!(!list.is_empty(), "{text} kept with no subscriber");
        subscribers += list.len();
        for subscriber in list.as_slice() {
            assert!(table.held[subscriber.key.index()].get(text).is_some());
        }
    }
    assert_eq!(subscribers, total);
    assert_eq!(
        table.filters.wildcard.len(),
        table.filters.wildcard_positions.len()
    );
    for (index, entry) in table.filters.wildcard.iter().enumerate() {
        assert_eq!(
            table.filters.wildcard_positions[entry.filter.as_str()],
            index
        );
    }
}

#[test]
fn exact_and_wildcard_matching() {
    let mut table = SubscriptionTable::new();
    assert!(table.subscribe(
        1,
        filter("sport/tennis/player1"),
        qos(QoS::AtMostOnce),
        None
    ));
    assert!(table.subscribe(2, filter("sport/tennis/+"), qos(QoS::AtLeastOnce), None));
    assert!(table.subscribe(3, filter("sport/#"), qos(QoS::ExactlyOnce), None));
    assert!(table.subscribe(4, filter("finance/#"), qos(QoS::AtMostOnce), None));
    assert_consistent(&table);

    assert_eq!(
        deliver(&table, "sport/tennis/player1", None),
        vec![
            plain(1, QoS::AtMostOnce),
            plain(2, QoS::AtLeastOnce),
            plain(3, QoS::ExactlyOnce)
        ]
    );
    assert_eq!(
        keys(&deliver(&table, "sport/tennis/player2", None)),
        vec![2, 3]
    );
    assert_eq!(keys(&deliver(&table, "sport", None)), vec![3]);
    assert_eq!(keys(&deliver(&table, "finance", None)), vec![4]);
    assert!(deliver(&table, "weather", None).is_empty());
    assert!(deliver(&table, "Sport/tennis/player1", None).is_empty());
}

#[test]
fn overlapping_subscriptions_deliver_once_at_the_highest_qos() {
    let mut table = SubscriptionTable::new();
    let retain = SubscriptionOptions {
        retain_as_published: true,
        ..qos(QoS::AtMostOnce)
    };
    table.subscribe(7, filter("a/b/c"), qos(QoS::AtMostOnce), Some(10));
    table.subscribe(7, filter("a/+/c"), qos(QoS::ExactlyOnce), None);
    table.subscribe(7, filter("a/#"), retain, Some(30));
    table.subscribe(7, filter("#"), qos(QoS::AtLeastOnce), Some(40));
    table.subscribe(8, filter("a/#"), qos(QoS::AtLeastOnce), None);

    let out = deliver(&table, "a/b/c", None);
    assert_eq!(keys(&out), vec![7, 8]);
    assert_eq!(out[0].qos, QoS::ExactlyOnce);
    assert!(out[0].retain_as_published);
    let mut ids = out[0].subscription_ids.clone();
    ids.sort_unstable();
    assert_eq!(ids, vec![10, 30, 40]);
    assert_eq!(out[1], plain(8, QoS::AtLeastOnce));

    // Only "#" and "a/#" match here; the merged QoS is theirs, not the exact filter's.
    let out = deliver(&table, "a/x", None);
    assert_eq!(out[0].key, 7);
    assert_eq!(out[0].qos, QoS::AtLeastOnce);
}

#[test]
fn scratch_vector_is_cleared_and_reused() {
    let mut table = SubscriptionTable::new();
    table.subscribe(1, filter("a"), qos(QoS::AtMostOnce), None);
    let mut out = vec![plain(99, QoS::ExactlyOnce); 8];
    table.deliveries("a", None, &mut out);
    assert_eq!(out, vec![plain(1, QoS::AtMostOnce)]);
    let capacity = out.capacity();
    table.deliveries("b", None, &mut out);
    assert!(out.is_empty());
    assert_eq!(out.capacity(), capacity);
}

// MQTT 5 [MQTT-3.8.3-3]: with no local set, a message is not forwarded to the connection that
// published it; the publisher's other subscriptions still count.
#[test]
fn no_local_skips_the_publisher_only() {
    let mut table = SubscriptionTable::new();
    table.subscribe(1, filter("chat/room"), no_local(QoS::ExactlyOnce), Some(5));
    table.subscribe(2, filter("chat/room"), no_local(QoS::AtLeastOnce), None);
    table.subscribe(3, filter("chat/+"), qos(QoS::AtMostOnce), None);

    assert_eq!(keys(&deliver(&table, "chat/room", Some(1))), vec![2, 3]);
    assert_eq!(keys(&deliver(&table, "chat/room", None)), vec![1, 2, 3]);
    assert_eq!(keys(&deliver(&table, "chat/room", Some(3))), vec![1, 2, 3]);

    // Key 1 also holds a subscription without no local: it receives through that one alone.
    table.subscribe(1, filter("chat/#"), qos(QoS::AtMostOnce), None);
    let out = deliver(&table, "chat/room", Some(1));
    assert_eq!(out[0], plain(1, QoS::AtMostOnce));
}

// [MQTT-4.7.2-1] Filters starting with a wildcard do not match topics starting with '$'.
#[test]
fn dollar_topics_reach_only_explicit_filters() {
    let mut table = SubscriptionTable::new();
    table.subscribe(1, filter("#"), qos(QoS::AtMostOnce), None);
    table.subscribe(2, filter("+/monitor/Clients"), qos(QoS::AtMostOnce), None);
    table.subscribe(3, filter("$SYS/#"), qos(QoS::AtMostOnce), None);
    table.subscribe(4, filter("$SYS/monitor/+"), qos(QoS::AtMostOnce), None);
    table.subscribe(
        5,
        filter("$SYS/monitor/Clients"),
        qos(QoS::AtMostOnce),
        None,
    );

    assert_eq!(
        keys(&deliver(&table, "$SYS/monitor/Clients", None)),
        vec![3, 4, 5]
    );
    assert_eq!(
        keys(&deliver(&table, "app/monitor/Clients", None)),
        vec![1, 2]
    );
}

#[test]
fn subscriptions_of_lists_what_a_key_holds() {
    let mut table = SubscriptionTable::<u32>::new();
    table.subscribe(1, filter("a"), qos(QoS::AtMostOnce), None);
    table.subscribe(1, filter("b/#"), qos(QoS::AtLeastOnce), Some(3));
    table.subscribe(2, filter("c"), qos(QoS::AtMostOnce), None);
    let mut held: Vec<_> = table
        .subscriptions_of(1)
        .map(|(filter, options, id)| (filter.to_owned(), options.qos, id))
        .collect();
    held.sort();
    assert_eq!(
        held,
        vec![
            ("a".to_owned(), QoS::AtMostOnce, None),
            ("b/#".to_owned(), QoS::AtLeastOnce, Some(3)),
        ]
    );
    assert_eq!(table.subscriptions_of(7).count(), 0);
}

#[test]
fn shared_filters_are_stored_once() {
    let mut table = SubscriptionTable::new();
    for key in 0..100 {
        table.subscribe(key, filter("news/+"), qos(QoS::AtMostOnce), None);
        table.subscribe(key, filter("news"), qos(QoS::AtMostOnce), None);
    }
    assert_eq!(table.len(), 200);
    assert_eq!(table.filter_count(), 2);
    // Every key's index shares the table's copy of the text.
    let stored = table.filters.exact.keys().next().unwrap();
    let held_text = table.held[42]
        .iter()
        .find(|(text, _)| &***text == "news")
        .unwrap()
        .0;
    assert!(Arc::ptr_eq(held_text, stored));
    let out = deliver(&table, "news/today", None);
    assert_eq!(keys(&out), (0..100).collect::<Vec<_>>());
}

// One key with 100,000 exact subscriptions plus 10 wildcard filters: a PUBLISH finds its one
// exact filter by lookup and tries only the 10 wildcard filters.
#[test]
fn large_table_delivers_only_the_matching_subscriptions() {
    let mut table = SubscriptionTable::new();
    for device in 0..100_000 {
        let text = format!("devices/{device}/state");
        assert!(table.subscribe(1, filter(&text), qos(QoS::AtMostOnce), None));
    }
    for wildcard in 0..10 {
        let text = format!("devices/+/alarm{wildcard}");
        table.subscribe(
            100 + wildcard,
            filter(&text),
            qos(QoS::AtLeastOnce),
            Some(wildcard),
        );
    }
    assert_eq!(table.len(), 100_010);
    assert_eq!(table.filter_count(), 100_010);
    assert_eq!(table.filters.wildcard.len(), 10);
    let mut visited = 0;
    table
        .filters
        .for_each_match("devices/77777/state", |_| visited += 1);
    assert_eq!(visited, 1);

    assert_eq!(
        deliver(&table, "devices/77777/state", None),
        vec![plain(1, QoS::AtMostOnce)]
    );
    let out = deliver(&table, "devices/5/alarm3", None);
    assert_eq!(keys(&out), vec![103]);
    assert_eq!(out[0].subscription_ids, vec![3]);
    assert!(deliver(&table, "devices/100000/state", None).is_empty());

    assert!(table.unsubscribe(1, "devices/500/state"));
    assert!(deliver(&table, "devices/500/state", None).is_empty());
    assert_eq!(deliver(&table, "devices/501/state", None).len(), 1);
    table.remove_subscriber(1);
    assert_eq!(table.len(), 10);
    assert_eq!(table.filter_count(), 10);
    assert_consistent(&table);
}

/// The table holds one subscriber per subscription and a per-key slot per subscribed client;
/// a filter with a single subscriber keeps it inline. Raise these only with a reason.
#[test]
fn subscription_entries_stay_small() {
    use std::mem::size_of;
    assert!(size_of::<Subscriber<usize>>() <= 16);
    assert!(size_of::<Subscribers<usize>>() <= 24);
    assert!(size_of::<HeldFilters>() <= 32);
}
