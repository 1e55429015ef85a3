//! Drives the subscription table with a long pseudo-random sequence of operations and compares
//! every answer with a naive model that matches each subscription one by one.

use std::collections::BTreeMap;

use super::tests::assert_consistent;
use super::*;

const FILTERS: [&str; 12] = [
    "a", "a/b", "a/+", "a/#", "#", "+/b", "+", "$s/a", "$s/#", "a/b/c", "+/+/c", "/b",
];
const TOPICS: [&str; 9] = [
    "a", "a/b", "a/c", "a/b/c", "b", "x/b", "$s/a", "/b", "x/y/c",
];

/// xorshift64: deterministic, so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

type Model = BTreeMap<(u32, String), (SubscriptionOptions, Option<u32>)>;

fn model_deliveries(model: &Model, topic: &str, publisher: Option<u32>) -> Vec<Delivery<u32>> {
    let mut merged: BTreeMap<u32, Delivery<u32>> = BTreeMap::new();
    for ((key, text), (options, id)) in model {
        let filter = TopicFilter::parse(text).unwrap();
        if !filter.matches(topic) || (options.no_local && publisher == Some(*key)) {
            continue;
        }
        let delivery = merged.entry(*key).or_insert(Delivery {
            key: *key,
            qos: QoS::AtMostOnce,
            retain_as_published: false,
            subscription_ids: Vec::new(),
        });
        delivery.qos = delivery.qos.max(options.qos);
        delivery.retain_as_published |= options.retain_as_published;
        delivery.subscription_ids.extend(id);
    }
    merged.into_values().collect()
}

#[test]
fn random_operations_agree_with_a_naive_model() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut table = SubscriptionTable::new();
    let mut model = Model::new();
    let mut out = Vec::new();
    for _ in 0..20_000 {
        let key = rng.below(6) as u32;
        let text = rng.pick(&FILTERS);
        match rng.below(10) {
            0..=3 => {
                let options = SubscriptionOptions {
                    qos: QoS::from_bits(rng.below(3) as u8).unwrap(),
                    no_local: rng.below(2) == 0,
                    retain_as_published: rng.below(2) == 0,
                    ..SubscriptionOptions::default()
                };
                // Identifiers run from 1: the decoder refuses 0 (MQTT 5 section 3.8.2.1.2).
                let id = [None, Some(1 + rng.below(100) as u32)][rng.below(2)];
                let new = model
                    .insert((key, text.to_owned()), (options, id))
                    .is_none();
                let filter = TopicFilter::parse(text).unwrap();
                assert_eq!(table.subscribe(key, filter, options, id), new);
            }
            4..=5 => {
                let existed = model.remove(&(key, text.to_owned())).is_some();
                assert_eq!(table.unsubscribe(key, text), existed);
            }
            6 => {
                model.retain(|(held_by, _), _| *held_by != key);
                table.remove_subscriber(key);
            }
            _ => {
                let topic = rng.pick(&TOPICS);
                let publisher = [None, Some(key)][rng.below(2)];
                table.deliveries(topic, publisher, &mut out);
                out.sort_by_key(|delivery| delivery.key);
                for delivery in &mut out {
                    delivery.subscription_ids.sort_unstable();
                }
                let mut expected = model_deliveries(&model, topic, publisher);
                for delivery in &mut expected {
                    delivery.subscription_ids.sort_unstable();
                }
                assert_eq!(out, expected, "{topic} from {publisher:?}");
            }
        }
        assert_eq!(table.len(), model.len());
        assert_consistent(&table);
    }
}
