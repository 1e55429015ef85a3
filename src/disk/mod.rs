//! The persistence store on disk: the thin I/O layer around the pure format in
//! [`crate::store`]. It loads the file at start (cutting a torn tail, moving a damaged file
//! aside), appends each loop turn's changes in one write before the turn's acknowledgements
//! leave, syncs by the configured policy, and compacts the file into a fresh snapshot.
//!
//! Compaction writes the snapshot to `FILE.new`, syncs it, renames it over the store and syncs
//! the directory, so at every instant the store on disk is either the old file or the new one,
//! complete.
//!
//! A write, sync or compaction that fails never stops the broker: acknowledgements still go
//! out, the error is logged (saying that acknowledged changes are not on disk), and the store
//! writes a fresh snapshot once the disk lets it, trying again with a growing wait
//! (`backoff`) rather than in every loop turn.

mod backoff;
pub(crate) mod convert;
mod failure;
mod liveness;
mod load;
mod snapshot;
#[cfg(test)]
mod tests;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::info;

use crate::config::{Persistence, SyncPolicy};
use crate::router::persist::Change;
use crate::router::{Clocks, Router};
use crate::store::{self, Image};
use backoff::Backoff;
use convert::{Encoder, Numbering};
use liveness::Liveness;
use load::load;
use snapshot::{SnapshotFile, temp_path};

/// A snapshot is written in pieces of this size.
const SNAPSHOT_CHUNK: usize = 1024 * 1024;

/// Why the store cannot be used at all: its directory or file cannot be read or written.
#[derive(Debug)]
pub struct StoreError {
    pub path: PathBuf,
    pub error: io::Error,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "persistence file {}: {}",
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for StoreError {}

/// What the store has written since the broker started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    pub bytes_written: u64,
    /// Message bodies written (each once per file, however many sessions hold it).
    pub messages_written: u64,
    pub syncs: u64,
    pub compactions: u64,
    /// Writes, syncs and compactions that failed.
    pub failures: u64,
}

pub struct Store {
    path: PathBuf,
    /// The store file, open for appending; `None` until the first compaction makes it, and
    /// after a failed write or sync, until a compaction succeeds: the file on disk then lacks
    /// acknowledged changes, and only a fresh snapshot can make it whole.
    file: Option<File>,
    /// Bytes in the file.
    len: u64,
    /// Bytes of the last snapshot, for the growth bound.
    snapshot_len: u64,
    /// How much of the file is dead, for compaction.
    liveness: Liveness,
    policy: SyncPolicy,
    sync_period: Duration,
    /// Written but not yet synced, since when.
    unsynced_since: Option<Instant>,
    autosave_interval: u32,
    autosave_on_changes: bool,
    last_compaction: Instant,
    changes_since_compaction: u64,
    numbering: Numbering,
    encoder: Encoder,
    changes: Vec<Change>,
    buffer: Vec<u8>,
    stats: StoreStats,
    /// Paces compactions after one failed.
    backoff: Backoff,
    /// Since when acknowledged changes have not been on disk (a write or sync failed).
    unsaved_since: Option<Instant>,
    error_logged: Option<Instant>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("len", &self.len)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Reads the store at the configured path. A missing file is an empty store; a damaged one
    /// is moved aside and whatever could be read comes back. Fails only when the file or its
    /// directory cannot be read or written at all.
    pub fn open(config: &Persistence) -> Result<(Store, Image), StoreError> {
        let path = config.path();
        let fail = |error| StoreError {
            path: path.clone(),
            error,
        };
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(fail(e)),
        };
        check_writable(&path).map_err(fail)?;
        let image = load(&path, &bytes);
        let now = Instant::now();
        let store = Store {
            path,
            file: None,
            len: 0,
            snapshot_len: 0,
            liveness: Liveness::default(),
            policy: config.sync,
            sync_period: config.sync_period,
            unsynced_since: None,
            autosave_interval: config.autosave_interval,
            autosave_on_changes: config.autosave_on_changes,
            last_compaction: now,
            changes_since_compaction: 0,
            numbering: Numbering {
                last: 0,
                file_start: 1,
                messages_written: 0,
            },
            encoder: Encoder::default(),
            changes: Vec::new(),
            buffer: Vec::new(),
            stats: StoreStats::default(),
            backoff: Backoff::default(),
            unsaved_since: None,
            error_logged: None,
        };
        Ok((store, image))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stats(&self) -> StoreStats {
        let mut stats = self.stats;
        stats.messages_written = self.numbering.messages_written;
        stats
    }

    /// Writes this turn's changes in one write, and syncs them with the batch policy. Called
    /// before the turn's output is written, so no acknowledgement overtakes what it promises.
    pub fn commit(&mut self, router: &mut Router, now: Instant) {
        self.write_changes(router, now);
        if self.liveness.wants_compaction(self.len, self.snapshot_len) && self.backoff.allows(now) {
            self.compact(router, now);
        }
    }

    fn write_changes(&mut self, router: &mut Router, now: Instant) {
        self.changes.clear();
        router.take_changes(&mut self.changes);
        if self.changes.is_empty() {
            return;
        }
        self.changes_since_compaction += self.changes.len() as u64;
        let clocks = clocks(now);
        self.buffer.clear();
        for change in &self.changes {
            let before = self.buffer.len();
            self.encoder
                .encode(change, &mut self.numbering, &clocks, &mut self.buffer);
            self.liveness
                .record(change, (self.buffer.len() - before) as u64);
        }
        self.changes.clear();
        self.append(now);
        if self.policy == SyncPolicy::Batch {
            self.sync(now);
        }
    }

    fn append(&mut self, now: Instant) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        match file.write_all(&self.buffer) {
            Ok(()) => {
                self.len += self.buffer.len() as u64;
                self.stats.bytes_written += self.buffer.len() as u64;
                self.unsynced_since.get_or_insert(now);
            }
            Err(e) => {
                // A partial record would read as damage in the middle of the file: cut it off,
                // so the file stays a valid prefix of what was acknowledged. Later records
                // would refer to what this write lost, so nothing more is appended; the next
                // snapshot holds it all.
                let cut = file.set_len(self.len).and_then(|()| {
                    use std::io::Seek;
                    file.seek(io::SeekFrom::Start(self.len)).map(|_| ())
                });
                let what = match cut {
                    Ok(()) => format!("write failed: {e}"),
                    Err(cut) => format!("write failed: {e}, and cutting it off too: {cut}"),
                };
                self.lose_file(now, &what);
            }
        }
    }

    fn sync(&mut self, now: Instant) {
        if self.unsynced_since.take().is_none() {
            return;
        }
        if let Some(file) = self.file.as_ref() {
            match file.sync_data() {
                Ok(()) => self.stats.syncs += 1,
                // After a failed fsync the kernel may have dropped the dirty pages, and a
                // second fsync would report success for them: only a new file is certain.
                Err(e) => self.lose_file(now, &format!("fsync failed: {e}")),
            }
        }
    }

    /// The next instant [`Store::tick`] has work: a periodic sync, an autosave, or another
    /// try at a snapshot after a failure. Never an instant that `tick` leaves in the past,
    /// which would have the loop poll without waiting.
    pub fn next_deadline(&self) -> Option<Instant> {
        let sync = match self.policy {
            SyncPolicy::Periodic => self.unsynced_since.map(|at| at + self.sync_period),
            SyncPolicy::Batch => None,
        };
        let autosave = (self.autosave_interval > 0 && !self.autosave_on_changes)
            .then(|| self.last_compaction + Duration::from_secs(u64::from(self.autosave_interval)));
        let retry = self
            .file
            .is_none()
            .then(|| self.backoff.next_attempt())
            .flatten();
        // A compaction waits for the backoff, whatever asks for it.
        let compaction = [autosave, retry]
            .into_iter()
            .flatten()
            .min()
            .map(|at| self.backoff.next_attempt().map_or(at, |wait| at.max(wait)));
        [sync, compaction].into_iter().flatten().min()
    }

    /// Periodic sync, and compaction when `autosave_interval` says so, or when a failed write
    /// left no file to append to (paced by the backoff).
    pub fn tick(&mut self, router: &mut Router, now: Instant) {
        if self
            .unsynced_since
            .is_some_and(|at| now >= at + self.sync_period)
        {
            self.sync(now);
        }
        let wanted = self.autosave_due(now) || self.file.is_none();
        if wanted && self.backoff.allows(now) {
            self.compact(router, now);
        }
    }

    /// Whether `autosave_interval` asks for a compaction now. An interval that ends with
    /// nothing to save starts the next one, so its deadline moves on.
    fn autosave_due(&mut self, now: Instant) -> bool {
        let interval = u64::from(self.autosave_interval);
        if interval == 0 {
            return false;
        }
        if self.autosave_on_changes {
            return self.changes_since_compaction >= interval;
        }
        if now < self.last_compaction + Duration::from_secs(interval) {
            return false;
        }
        if self.changes_since_compaction == 0 {
            self.last_compaction = now;
            return false;
        }
        true
    }

    /// Replaces the store by a snapshot of the router's stored state (SIGUSR1, autosave, growth,
    /// start, clean shutdown, and after a failure). Pending changes are written to the old file
    /// first, so a failed compaction loses nothing. The snapshot is streamed to the new file in
    /// chunks, so a large store costs no second copy of itself in memory.
    pub fn compact(&mut self, router: &mut Router, now: Instant) {
        self.write_changes(router, now);
        let started = Instant::now();
        let (old_len, dead) = (self.len, self.liveness.dead());
        let clocks = clocks(now);
        self.numbering.file_start = self.numbering.last + 1;
        let mut holders = 0u64;
        let result = SnapshotFile::create(&self.path).and_then(|mut out| {
            self.buffer.clear();
            self.buffer.extend_from_slice(&store::header());
            router.snapshot(|change| {
                holders += 1;
                self.encoder
                    .encode(&change, &mut self.numbering, &clocks, &mut self.buffer);
                if self.buffer.len() >= SNAPSHOT_CHUNK {
                    out.write(&self.buffer);
                    self.buffer.clear();
                }
            });
            out.write(&self.buffer);
            self.buffer.clear();
            out.finish(&self.path)
        });
        match result {
            Ok((file, len)) => {
                self.file = Some(file);
                self.len = len;
                self.snapshot_len = len;
                self.liveness.snapshot(len, holders);
                self.stats.bytes_written += len;
                self.stats.compactions += 1;
                self.stats.syncs += 1;
                self.unsynced_since = None;
                log::debug!(
                    "Store {} compacted from {old_len} bytes (about {dead} dead) to {len} in {:?}",
                    self.path.display(),
                    started.elapsed()
                );
                self.recovered(now);
            }
            Err(e) => {
                // The messages the snapshot numbered are in no file the store appends to:
                // their bodies are written again when next referenced.
                self.numbering.file_start = self.numbering.last + 1;
                self.compaction_failed(now, &e);
            }
        }
        self.last_compaction = now;
        self.changes_since_compaction = 0;
    }

    /// At a clean exit: everything written, compacted and synced.
    pub fn close(&mut self, router: &mut Router, now: Instant) {
        self.compact(router, now);
        self.sync(now);
        info!("Saved the store to {}.", self.path.display());
    }
}

fn clocks(now: Instant) -> Clocks {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Clocks { now, unix_ms }
}

/// The clocks of this moment, for [`Router::restore`].
pub fn clocks_now() -> Clocks {
    clocks(Instant::now())
}

/// Fails early, with the reason, when the store could never be written.
fn check_writable(path: &Path) -> io::Result<()> {
    let probe = temp_path(path);
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}
