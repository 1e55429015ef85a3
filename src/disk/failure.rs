//! What the store does when the disk fails it: the file that lost a write is given up, the
//! error is logged with what it means (acknowledged changes are not on disk), compactions are
//! paced by the [`Backoff`](super::backoff::Backoff), and the first snapshot that succeeds
//! says the store is whole again.

use std::io;
use std::time::{Duration, Instant};

use log::{error, info};

use super::Store;

/// After an error line, how long before the next one.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What every error line that leaves the store incomplete says, so an operator reading any one
/// of them knows what is at stake.
const UNSAVED: &str = "Acknowledged messages and sessions are not being saved to disk; the \
                       broker keeps running and tries again";

impl Store {
    /// A write or sync failed: the file no longer holds everything acknowledged. It is not
    /// appended to any more; [`Store::tick`] writes a fresh snapshot, at once and then paced.
    pub(super) fn lose_file(&mut self, now: Instant, what: &str) {
        self.file = None;
        self.unsynced_since = None;
        self.unsaved_since.get_or_insert(now);
        self.stats.failures += 1;
        self.log_error(now, &format!("{what}. {UNSAVED}"));
    }

    /// A compaction failed: the next waits for the backoff. With no file to append to, nothing
    /// acknowledged since the failure is on disk, and the log says so.
    pub(super) fn compaction_failed(&mut self, now: Instant, e: &io::Error) {
        self.stats.failures += 1;
        let wait = self.backoff.failed(now).as_secs();
        let what = if self.file.is_some() {
            format!("compaction failed: {e}; the store keeps its current file")
        } else {
            format!("compaction failed: {e}. {UNSAVED}")
        };
        self.log_error(now, &format!("{what} (next try in {wait} s)"));
    }

    /// After a successful snapshot: says so if failures came before it.
    pub(super) fn recovered(&mut self, now: Instant) {
        let failed = self.backoff.succeeded();
        if let Some(since) = self.unsaved_since.take() {
            let down = now.saturating_duration_since(since).as_secs();
            info!(
                "Store {}: written again; everything acknowledged is on disk once more (it was \
                 not for {down} s)",
                self.path.display()
            );
        } else if failed {
            info!("Store {}: compacted again.", self.path.display());
        }
        self.error_logged = None;
    }

    fn log_error(&mut self, now: Instant, what: &str) {
        if self
            .error_logged
            .is_none_or(|at| now.saturating_duration_since(at) >= ERROR_LOG_INTERVAL)
        {
            error!("Store {}: {what}", self.path.display());
            self.error_logged = Some(now);
        }
    }
}
