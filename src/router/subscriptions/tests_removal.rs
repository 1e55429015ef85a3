//! Tests that replacing and removing subscriptions, one filter at a time or a whole
//! subscriber, leaves both of the table's indexes consistent and nothing behind.

use super::tests::{assert_consistent, deliver, filter, keys, qos};
use super::*;
use crate::protocol::RetainHandling;

// [MQTT-3.8.4-3] A SUBSCRIBE with a filter the client already holds replaces that subscription.
#[test]
fn resubscribing_replaces_options() {
    let mut table = SubscriptionTable::new();
    assert!(table.subscribe(1, filter("a/+"), qos(QoS::AtMostOnce), Some(1)));
    assert!(table.subscribe(2, filter("a/+"), qos(QoS::AtMostOnce), None));
    let replaced = SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
        no_local: false,
    };
    assert!(!table.subscribe(1, filter("a/+"), replaced, Some(2)));
    assert_eq!(table.len(), 2);
    assert_eq!(table.filter_count(), 1);
    assert_consistent(&table);

    let held: Vec<_> = table.subscriptions_of(1).collect();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].0, "a/+");
    assert_eq!(held[0].1, replaced);
    assert_eq!(held[0].2, Some(2));
    let out = deliver(&table, "a/b", None);
    assert_eq!(out[0].qos, QoS::ExactlyOnce);
    assert_eq!(out[0].subscription_ids, vec![2]);

    // Removing the identifier is a replacement too.
    assert!(!table.subscribe(1, filter("a/+"), replaced, None));
    assert!(deliver(&table, "a/b", None)[0].subscription_ids.is_empty());
}

#[test]
fn unsubscribe_leaves_no_trace() {
    let mut table = SubscriptionTable::new();
    for key in 0..5 {
        table.subscribe(key, filter("x/y"), qos(QoS::AtMostOnce), None);
        table.subscribe(key, filter("x/+"), qos(QoS::AtMostOnce), None);
        table.subscribe(
            key,
            filter(&format!("own/{key}/#")),
            qos(QoS::AtMostOnce),
            None,
        );
    }
    assert_eq!(table.len(), 15);
    assert_eq!(table.filter_count(), 7);
    assert!(!table.unsubscribe(9, "x/y"));
    assert!(!table.unsubscribe(1, "x/z"));
    assert!(!table.unsubscribe(1, "sport+"));

    // Remove from the middle of subscriber lists so positions must be repointed.
    for key in [2, 0, 4, 1, 3] {
        assert!(table.unsubscribe(key, "x/+"));
        assert!(!table.unsubscribe(key, "x/+"));
        assert_consistent(&table);
        assert!(table.unsubscribe(key, "x/y"));
        assert!(table.unsubscribe(key, &format!("own/{key}/#")));
        assert_consistent(&table);
    }
    assert!(table.is_empty());
    assert_eq!(table.filter_count(), 0);
    assert!(table.held.is_empty());
    assert!(table.filters.wildcard_positions.is_empty());
    assert!(deliver(&table, "x/y", None).is_empty());
    assert_eq!(table.subscriptions_of(0).count(), 0);
}

#[test]
fn remove_subscriber_leaves_no_trace() {
    let mut table = SubscriptionTable::new();
    for key in 0..4 {
        for text in ["a", "a/+", "a/#", "+/b", "b"] {
            table.subscribe(key, filter(text), qos(QoS::AtLeastOnce), Some(key));
        }
    }
    table.subscribe(9, filter("solo/#"), qos(QoS::AtMostOnce), None);
    assert_eq!(table.filter_count(), 6);

    table.remove_subscriber(1);
    assert_consistent(&table);
    assert_eq!(table.len(), 16);
    assert_eq!(keys(&deliver(&table, "a/b", None)), vec![0, 2, 3]);
    assert_eq!(table.subscriptions_of(1).count(), 0);

    table.remove_subscriber(9);
    assert_consistent(&table);
    assert_eq!(table.filter_count(), 5);
    table.remove_subscriber(9);

    for key in [3, 0, 2] {
        table.remove_subscriber(key);
        assert_consistent(&table);
    }
    assert!(table.is_empty());
    assert_eq!(table.filter_count(), 0);
    assert!(table.held.is_empty());
}
