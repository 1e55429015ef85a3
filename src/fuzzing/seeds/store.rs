//! The `store` seeds: the sample store file, and each of its records.

use super::Seed;
use crate::fuzzing::{sample_file, sample_records};

/// The sample store whole (the target puts a header before it, so without its own header it
/// is read as records too), and each record alone.
pub(super) fn seeds() -> Vec<Seed> {
    let file = sample_file();
    let mut seeds = vec![Seed {
        target: "store",
        name: "sample-file".into(),
        bytes: file,
    }];
    for (i, record) in sample_records().iter().enumerate() {
        let mut bytes = Vec::new();
        crate::store::record::encode(record, &mut bytes);
        seeds.push(Seed {
            target: "store",
            name: format!("record-{i}"),
            bytes,
        });
    }
    seeds
}
