//! The background thread of a spawned broker, shared by every clone of its handle: the first
//! `stop` joins it, a concurrent one waits for that join, and the last clone dropped stops the
//! broker and joins it.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use log::warn;

use super::handle::Shared;

#[derive(Debug)]
pub(crate) struct Joiner {
    shared: Arc<Shared>,
    /// Held for the whole join, so a second `stop` returns only once the thread has ended.
    thread: Mutex<Option<JoinHandle<io::Result<()>>>>,
}

impl Joiner {
    pub(crate) fn new(shared: Arc<Shared>, thread: JoinHandle<io::Result<()>>) -> Joiner {
        Joiner {
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Waits for the broker's thread. On that thread itself (a hook stopping its own broker)
    /// it returns at once and leaves the join to a later call from elsewhere: the loop ends
    /// after this turn.
    pub(crate) fn join(&self) -> io::Result<()> {
        if self.shared.on_loop_thread() {
            return Ok(());
        }
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(handle) = thread.take() else {
            return Ok(());
        };
        match handle.join() {
            Ok(result) => result,
            Err(_) => Err(io::Error::other("the broker thread panicked")),
        }
    }
}

impl Drop for Joiner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake_now();
        if let Err(e) = self.join() {
            warn!("broker stopped with an error: {e}");
        }
    }
}
