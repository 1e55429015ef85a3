//! The store's timing against a real file in a scratch folder, with the instants chosen by the
//! test: a deadline it gives the event loop is never left in the past (the loop would poll
//! without waiting, a core at 100% on an idle broker), autosave compacts when it says, and a
//! snapshot the disk refuses is tried again with a growing wait, not in every loop turn.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;
use crate::config::{Config, Persistence, SyncPolicy};
use crate::router::Router;

/// A folder of its own under the system's temporary one, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("minibroker-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn persistence(dir: &Path, sync: SyncPolicy, autosave_interval: u32) -> Persistence {
    Persistence {
        enabled: true,
        location: Some(dir.to_path_buf()),
        autosave_interval,
        sync,
        sync_period: Duration::from_secs(1),
        ..Persistence::default()
    }
}

/// The store and router as the broker starts them: restored, then compacted.
fn opened(config: &Persistence, now: Instant) -> (Store, Router) {
    let (mut store, image) = Store::open(config).expect("store");
    let mut router = Router::new(&Config::default());
    router.enable_journal();
    router.restore(&image, clocks(now));
    store.compact(&mut router, now);
    (store, router)
}

/// One stored change: a retained message.
fn change(router: &mut Router, n: u64, now: Instant) {
    router.publish_retained_internal(&format!("state/{n}"), b"on", now);
}

/// What the event loop does each turn after the router: commit, then tick.
fn turn(store: &mut Store, router: &mut Router, now: Instant) {
    store.commit(router, now);
    store.tick(router, now);
}

/// The deadline the loop would wait for after a turn at `now` is not in the past.
fn assert_waits(store: &Store, now: Instant, when: &str) {
    if let Some(at) = store.next_deadline() {
        assert!(at > now, "{when}: deadline {:?} before now", now - at);
    }
}

#[test]
fn an_idle_store_never_asks_the_loop_to_poll_without_waiting() {
    let scratch = Scratch::new("idle");
    // The smallest autosave interval, and a periodic sync that has nothing to sync.
    let config = persistence(&scratch.0, SyncPolicy::Periodic, 1);
    let start = Instant::now();
    let (mut store, mut router) = opened(&config, start);
    for second in 1..=5 {
        let now = start + Duration::from_millis(1100 * second);
        turn(&mut store, &mut router, now);
        assert_waits(&store, now, &format!("idle turn {second}"));
    }
    assert_eq!(store.stats().compactions, 1, "nothing to save: no autosave");
    // A change: the next interval's autosave compacts it, and the deadline moves on again.
    let now = start + Duration::from_secs(6);
    change(&mut router, 1, now);
    turn(&mut store, &mut router, now);
    assert_waits(&store, now, "after a change");
    let later = store.next_deadline().expect("the sync and the autosave");
    turn(&mut store, &mut router, later);
    assert_waits(&store, later, "after its autosave");
    let last = start + Duration::from_secs(9);
    turn(&mut store, &mut router, last);
    assert_eq!(store.stats().compactions, 2);
    assert_waits(&store, last, "idle again");
}

#[test]
fn a_periodic_sync_happens_once_and_leaves_no_deadline_behind() {
    let scratch = Scratch::new("sync");
    let config = persistence(&scratch.0, SyncPolicy::Periodic, 0);
    let start = Instant::now();
    let (mut store, mut router) = opened(&config, start);
    assert_eq!(
        store.next_deadline(),
        None,
        "nothing written, nothing to sync"
    );
    change(&mut router, 1, start);
    turn(&mut store, &mut router, start);
    let syncs = store.stats().syncs;
    assert_eq!(
        store.next_deadline(),
        Some(start + Duration::from_secs(1)),
        "the change is synced a period later"
    );
    let now = start + Duration::from_secs(1);
    turn(&mut store, &mut router, now);
    assert_eq!(store.stats().syncs, syncs + 1);
    assert_eq!(store.next_deadline(), None);
    // With `batch` every turn syncs its own changes: no deadline at all.
    let scratch = Scratch::new("batch");
    let config = persistence(&scratch.0, SyncPolicy::Batch, 0);
    let (mut store, mut router) = opened(&config, start);
    change(&mut router, 1, start);
    turn(&mut store, &mut router, start);
    assert_eq!(store.next_deadline(), None);
}

#[test]
fn autosave_on_changes_compacts_after_that_many_changes() {
    let scratch = Scratch::new("changes");
    let mut config = persistence(&scratch.0, SyncPolicy::Batch, 3);
    config.autosave_on_changes = true;
    let start = Instant::now();
    let (mut store, mut router) = opened(&config, start);
    let compactions = store.stats().compactions;
    for n in 1..=2 {
        change(&mut router, n, start);
        turn(&mut store, &mut router, start);
        assert_eq!(store.stats().compactions, compactions, "after {n} changes");
    }
    change(&mut router, 3, start);
    turn(&mut store, &mut router, start);
    assert_eq!(store.stats().compactions, compactions + 1, "the third");
    // Counted afresh from there; no deadline, since only changes trigger it.
    change(&mut router, 4, start);
    turn(&mut store, &mut router, start);
    assert_eq!(store.stats().compactions, compactions + 1);
    assert_eq!(store.next_deadline(), None);
    let (_, image) = Store::open(&config).expect("store");
    assert_eq!(image.retained.len(), 4, "every change is in the file");
}

#[test]
fn a_failed_snapshot_is_retried_with_a_growing_wait_and_the_store_recovers() {
    let scratch = Scratch::new("failing");
    let config = persistence(&scratch.0, SyncPolicy::Batch, 0);
    let start = Instant::now();
    let (mut store, image) = Store::open(&config).expect("store");
    let mut router = Router::new(&Config::default());
    router.enable_journal();
    router.restore(&image, clocks(start));
    // The folder disappears (a disk unmounted): the first snapshot cannot be written.
    fs::remove_dir_all(&scratch.0).expect("remove");
    store.compact(&mut router, start);
    assert_eq!(store.stats().failures, 1);
    let retry = start + backoff::FIRST_WAIT;
    assert_eq!(store.next_deadline(), Some(retry));
    // Busy turns before then try nothing, and the changes they acknowledge are kept in the
    // router for the next snapshot.
    for (n, ms) in [(1, 10), (2, 500), (3, 999)] {
        let now = start + Duration::from_millis(ms);
        change(&mut router, n, now);
        turn(&mut store, &mut router, now);
        assert_eq!(store.stats().failures, 1, "turn at {ms} ms tried again");
        assert_waits(&store, now, "while waiting");
    }
    turn(&mut store, &mut router, retry);
    assert_eq!(store.stats().failures, 2, "tried again after a second");
    let second = retry + Duration::from_secs(2);
    assert_eq!(store.next_deadline(), Some(second), "then after two");
    turn(&mut store, &mut router, second - Duration::from_millis(1));
    assert_eq!(store.stats().failures, 2);
    // The disk is back: the next try writes everything acknowledged meanwhile.
    fs::create_dir_all(&scratch.0).expect("folder back");
    turn(&mut store, &mut router, second);
    assert_eq!(store.stats().compactions, 1);
    assert_eq!(store.next_deadline(), None);
    let (_, image) = Store::open(&config).expect("store");
    assert_eq!(image.retained.len(), 3);
}
